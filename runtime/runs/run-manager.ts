import { hostname } from 'node:os';
import { v7 as uuidv7 } from 'uuid';
import type {
  AwaitInputParams, BlobId, BlobType, Flow, FlowError, FlowResult, GetRunParams, ItemResult, RunState, RunStatus, SubmitRunParams,
} from '../../protocol/index.js';
import { ErrorCodes, ProtocolError, flowError, isTerminalRunState as isTerminal } from '../../protocol/index.js';
import type { CallerContext, RuntimeContext, StepOutput } from '../plugins/runtime-context.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import type { ItemRecord, ItemState, ListRunsFilter, RunEvent, RunEventType, RunOwner, RunRecord, Store, TerminalRunState, OpenRunState } from '../store/state-store.js';
import type { AsyncStore } from '../store/async-state-store.js';
import { toAsyncStore } from '../store/async-state-adapter.js';
import { StoreBatch, type CommitReceipt, type StoreWrite } from '../store/store-batch.js';
import type { LoadedFlow } from '../flow/load-flow.js';
import type { PriorStep } from '../flow/item-execution.js';
import { executeItem } from '../flow/item-executor.js';
import { ActiveRun, type ItemRunner } from './active-run.js';
import { AbandonedItem } from './abandoned-item.js';
import { GroupCommit, type QueuedWrites } from './group-commit.js';
import { OWN_START } from '../store/run-ownership.js';
import { RunEventHub } from './run-events.js';
import { toItemResult, toRunStatus } from './run-status.js';
import { ParentRunEnded } from '../store/parent-run-ended.js';
import { deferred, withTimeout, type Deferred } from './deferred.js';
import { isoAt, isoNow } from './iso-now.js';
import { newRunRecord } from './new-run-record.js';
import { checkSubmitParams, normalizeOrder, timeoutMs } from './submit-params.js';
import { FlowCache } from './flow-cache.js';
import { forkReuse } from './fork-reuse.js';
import { unroutableSteps } from './unroutable-steps.js';
import { HumanInputs } from './human-inputs.js';
import { DEFAULT_OUTPUT_LIMITS, RunOutputs } from './run-outputs.js';
import type { OutputLimits } from './run-outputs.js';
import { endItemSpan, endRunTrace, startItemSpan, startRunTrace } from './run-trace.js';
import type { TraceParent } from '../telemetry/span-ids.js';
import { log } from '../telemetry/logger.js';
import { clusterOf, itemKey, type ClaimedItem, type StoreHint } from '../store/cluster-store.js';
import { ClusterMember, DEFAULT_CLUSTER_SETTINGS, type ClusterSettings, type DispatchResult } from './cluster-member.js';

export interface RunManagerOptions {
  /** Any store: an in-process one (memory, SQLite) is used through its asynchronous form. */
  store: Store | AsyncStore;
  router: PluginRouter;
  /** The config blob `router` was built from, and its working directory: recorded on every run submitted here. */
  configId?: BlobId;
  workingDirectory?: string;
  /** The router of another config blob (a run submitted elsewhere, resumed or forked here); rejects when it cannot start. */
  routerFor?: (configId: BlobId) => Promise<PluginRouter>;
  /** Nesting depth limit for runs/submit (default 16). */
  maxNestingDepth?: number;
  /** Transport retries per step execution (default 3). */
  transportRetries?: number;
  /** Limits on streamed step output (defaults: DEFAULT_OUTPUT_LIMITS). */
  outputLimits?: Partial<OutputLimits>;
  /** false (config `validateInput`): an input that breaks the flow's input schema is a warning, once per run. */
  validateInput?: boolean;
  /** A shared store (PostgreSQL): how this process takes part in executing every run (see joinCluster). */
  cluster?: Partial<ClusterSettings>;
}

export interface SubmitOptions {
  /** Runs submitted by a component: links the sub-run to its parent. */
  caller?: CallerContext;
  /** The span the run joins (an HTTP `traceparent`); a caller's own `trace` otherwise. */
  trace?: TraceParent;
}

/** What resumeAll did: the runs it continues, and those it held back (resumable later), with why. */
export interface ResumeReport { resumed: string[]; held: Array<{ runId: string; reason: string }> }

export interface ForkOptions { fromStep: string; overrides?: unknown; inputs?: unknown[]; flowLabel?: string; maxConcurrency?: number }

const now = isoNow;
const POLL_MS = 100;

/** Why a wait for a run's end went on: its terminal record if read on the way; `hinted`: another process said it ended. */
interface Woken { record?: RunRecord; hinted?: boolean }

/** Run creation writes a huge batch's inputs this many per store batch: memory stays flat. */
const CREATE_CHUNK = 1000;
/** Events read per page when a resumed run's streamed output is recovered. */
const EVENT_PAGE = 1000;
/** The statuses the stores' `listResults` counts as results. */
const FINISHED_ITEMS: ItemState[] = ['success', 'failed', 'cancelled'];
/** How often this process looks for its runs ended by another process (a cancel from the CLI). */
const FOREIGN_END_MS = 250;

/**
 * The only place that knows about batches and concurrency: creates runs, schedules
 * their items, journals every step and item through group commits, answers
 * runs/submit and runs/get (as the RuntimeContext of every plugin), cancels, forks
 * and resumes runs after a crash.
 */
export class RunManager implements RuntimeContext, ItemRunner {
  readonly events = new RunEventHub();
  readonly owner: RunOwner = { id: uuidv7(), pid: process.pid, host: hostname(), ...(OWN_START ? { started: OWN_START } : {}) };
  private readonly active = new Map<string, ActiveRun>();
  /** Per run waited for: its waiters (told the terminal record when it was read), and the poll while it is executed elsewhere. */
  private readonly completions = new Map<string, { done: Deferred<Woken>; poll?: NodeJS.Timeout }>();
  private readonly commit: GroupCommit;
  private readonly flows: FlowCache;
  private readonly inputs: HumanInputs;
  private readonly maxDepth: number;
  private readonly transportRetries: number;
  private readonly outputLimits: OutputLimits;
  private closed = false;
  private readonly foreignEnds: NodeJS.Timeout;
  /** Runs already warned that an item's input breaks the flow's input schema (validateInput: false). */
  private readonly warnedInput = new WeakSet<ActiveRun>();
  private watching = false;
  private readonly store: AsyncStore;
  /** Claimed items abandoned before their dispatch started them (see abandonClaims), until when it is remembered. */
  private readonly abandonedClaims = new Map<string, number>();
  /** Set once this process executes items of a shared store (joinCluster). */
  private member: ClusterMember | undefined;
  /** Per run: local readers to wake when another process says the run has news (event streams). */
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(private readonly options: RunManagerOptions) {
    this.store = toAsyncStore(options.store);
    this.commit = new GroupCommit(this.store.state, this.store.location, (runId, error) => this.writeFailed(runId, error), {
      runsEnded: (events) => { for (const e of events) this.endedByStore(e); },
      fenced: (error) => { void this.member?.fenced(error.executorId); },
      claimSize: () => this.member?.claimInCommit(),
      claimed: (items) => this.member?.claimedInCommit(items),
      abandoned: (items) => this.abandonClaims(items),
      idle: () => this.member?.commitsIdle(),
    });
    this.flows = new FlowCache(this.store.blobs, options.router);
    this.inputs = new HumanInputs(this);
    this.maxDepth = options.maxNestingDepth ?? 16;
    this.transportRetries = options.transportRetries ?? 3;
    this.outputLimits = { ...DEFAULT_OUTPUT_LIMITS, ...options.outputLimits };
    this.foreignEnds = setInterval(() => { void this.watchForeignEnds(); }, FOREIGN_END_MS);
    this.foreignEnds.unref();
  }

  /**
   * A run this process executes may be ended by another one (a cancel or purge from the
   * CLI, another server): the store has it terminal, and every write to it is already a
   * no-op. Stop executing it, abort its component calls and tell local listeners.
   */
  private async watchForeignEnds(): Promise<void> {
    if (this.active.size === 0 || this.watching) return;
    this.watching = true;
    try {
      for (const runId of [...this.active.keys()]) {
        const record = await this.state.getRun(runId);
        if (!this.active.has(runId) || (record && !isTerminal(record.status))) continue;
        await this.endedElsewhere(runId);
      }
    } catch {
      // the store is failing: GroupCommit reports that
    } finally {
      this.watching = false;
    }
  }

  /**
   * A run this process executes was ended by another process (seen by the periodic check,
   * or sooner, when a step's start turned out to be a no-op): stop it here, cancel the
   * sub-runs this process created under it that the other process could not see yet, and
   * tell local listeners its end.
   */
  private async endedElsewhere(runId: string, record?: RunRecord): Promise<void> {
    const run = this.active.get(runId);
    if (!run) return;
    this.stopLocally(runId);
    if (run.createdSubRuns) {
      for (const child of await this.state.listRuns({ parentRunId: runId })) {
        if (!isTerminal(child.status)) this.cancel(child.runId).catch(logWriteFailure(child.runId));
      }
    }
    if (this.events.hasListeners(runId)) {
      const ended = (await this.state.listEvents(runId)).findLast((e) => e.type === 'run_completed');
      if (ended) this.events.emit(ended);
    }
    this.resolveCompletion(runId, record);
  }

  private get state() { return this.store.state; }
  private get blobs() { return this.store.blobs; }

  // ---- the cluster: a shared store, whose items any live process executes ---------------

  /**
   * With a shared store (PostgreSQL), this process becomes one of its executors: it holds a
   * lease, claims pending items of any run (its own and other processes') and executes them;
   * runs end in the commit of their last result, wherever it was written. A no-op on a store
   * of one process (memory, SQLite).
   */
  async joinCluster(role: string): Promise<void> {
    const cluster = clusterOf(this.state);
    if (!cluster || this.member) return;
    const settings = { ...DEFAULT_CLUSTER_SETTINGS, ...this.options.cluster };
    this.member = new ClusterMember(cluster, this, { host: this.owner.host, pid: this.owner.pid, ...(this.owner.started ? { started: this.owner.started } : {}), role }, settings);
    await this.member.start();
  }

  /** True when runs of this store are executed by several processes (events and ends come from anywhere). */
  get clustered(): boolean { return this.member !== undefined; }

  /** The executor id of this process in the cluster (undefined when not in one). */
  get executorId(): string | undefined { return this.member?.executorId; }

  /** Starts items this process claimed, each in its run's local state (made on first claim). */
  async dispatch(items: ClaimedItem[]): Promise<DispatchResult> {
    const byRun = new Map<string, ClaimedItem[]>();
    for (const item of items) {
      let list = byRun.get(item.runId);
      if (!list) byRun.set(item.runId, (list = []));
      list.push(item);
    }
    const refused: DispatchResult['refused'] = [];
    const dropped: string[] = [];
    for (const [runId, list] of byRun) {
      let run = this.active.get(runId);
      if (!run || run.cancelled) {
        const joined = await this.participate(runId).catch((error: Error) => ({ reason: error.message, transient: true }));
        if ('reason' in joined) {
          refused.push({ runId, itemIndexes: list.map((i) => i.itemIndex), reason: joined.reason, ...('transient' in joined ? { transient: true } : {}) });
          continue;
        }
        if (!joined.run) { for (const item of list) dropped.push(item.runId); continue; }
        run = joined.run;
      }
      // Abandoned while their run was being read (their claim rolled back): not started.
      const live = this.abandonedClaims.size === 0 ? list : list.filter((item) => {
        if (!this.abandonedClaims.delete(itemKey(item.runId, item.itemIndex))) return true;
        dropped.push(item.runId);
        this.member?.released(item.runId, item.itemIndex);
        return false;
      });
      run.add(live);
    }
    return { refused, dropped };
  }

  /**
   * Claimed items whose claim did not commit after all (the commit that claimed them failed
   * after they were handed over): the store has them pending again, so they must not execute
   * here. Executing ones stop at their next journal write; those not dispatched yet are dropped.
   */
  private abandonClaims(items: ClaimedItem[]): void {
    const now = Date.now();
    for (const [key, until] of this.abandonedClaims) if (until < now) this.abandonedClaims.delete(key);
    for (const item of this.member?.abandon(items) ?? []) {
      // Not executing yet: its dispatch is still reading its run (at most a minute is remembered).
      if (!this.active.get(item.runId)?.abandon(item.itemIndex)) this.abandonedClaims.set(itemKey(item.runId, item.itemIndex), now + 60_000);
    }
  }

  /**
   * This process's part in a run it has claimed items of: its flow loaded with the run's
   * overrides, its routes from the config it was submitted with. A run whose config or
   * routes cannot start here is refused (its items go to other processes); one whose flow
   * is gone ends failed.
   */
  private async participate(runId: string): Promise<{ run?: ActiveRun } | { reason: string }> {
    // Read beside the run's record: the claiming transaction may be waiting for this dispatch.
    const outputs = this.recoverOutputs(runId);
    outputs.catch(() => undefined);
    const record = await this.state.getRun(runId);
    if (!record || isTerminal(record.status)) return {};
    let router: PluginRouter;
    try {
      router = await this.routerOf(record);
    } catch (error) {
      return { reason: `its config ${record.configId} cannot start here: ${(error as Error).message}` };
    }
    let loaded: { flow: Flow; loaded: LoadedFlow };
    try {
      loaded = await this.flows.load(record.flowId, record.overrides);
    } catch (error) {
      await this.terminate(runId, 'failed', flowError('ORCHESTRATOR_ERROR', `cannot run ${runId}: ${(error as Error).message}`));
      return {};
    }
    const missing = unroutableSteps(loaded.flow, router);
    if (missing.length > 0) return { reason: `no route reaches ${missing.join(', ')} with its config` };
    const existing = this.active.get(runId);
    if (existing && !existing.cancelled) return { run: existing };
    const run = this.launch(record, loaded.loaded, [], { resumed: true, router, claimed: true });
    run.outputs ??= await outputs;
    log('info', { runId, executor: this.executorId }, `run ${runId}: executing its items here too (executor ${this.executorId})`);
    return { run };
  }

  /** The store ended a run in a commit of this process (its last result): tell local listeners and waiters. */
  private endedByStore(event: RunEvent): void {
    const run = this.active.get(event.runId);
    if (run) { run.finished = true; this.active.delete(event.runId); }
    this.inputs.dropRun(event.runId);
    this.events.emit(event);
    this.resolveCompletion(event.runId);
  }

  /** This executor was declared dead: stop executing everything at once, writing nothing more. */
  fenced(): void {
    for (const run of [...this.active.values()]) {
      run.stale = true;
      this.stopLocally(run.runId);
    }
  }

  /** A group commit is in flight or queued (it claims in passing). */
  committing(): boolean { return this.commit.busy; }

  /** A group commit is queued and not begun (it claims for the slots then free). */
  commitComing(): boolean { return this.commit.coming; }

  /** A commit that claims and writes nothing else (an idle executor's claim). */
  commitClaim(): Promise<void> { return this.commit.claimNow(); }

  /** Another process says a run has news. */
  hint(hint: StoreHint): void {
    if (hint.kind === 'reconnect') {
      for (const runId of [...this.completions.keys()]) this.checkEnded(runId);
      for (const set of this.watchers.values()) for (const wake of [...set]) wake();
      for (const runId of [...this.active.keys()]) void this.inputs.checkStored(runId).catch(() => undefined);
      return;
    }
    if (hint.kind === 'work') return;
    const { runId } = hint;
    if (hint.kind === 'run') {
      // Its waiters read it at once (each read beside its results); one executing here is
      // checked after their reads have gone out.
      this.resolveCompletion(runId, undefined, true);
      setImmediate(() => this.checkEnded(runId));
    }
    if (hint.kind === 'input') void this.inputs.checkStored(runId).catch(() => undefined);
    for (const wake of [...this.watchers.get(runId) ?? []]) wake();
  }

  /** Whether a run waited for here, or executed here, has ended (by another process). */
  private checkEnded(runId: string): void {
    if (!this.completions.has(runId) && !this.active.has(runId)) return;
    void this.state.getRun(runId).then(async (run) => {
      if (run && !isTerminal(run.status)) return;
      if (this.active.has(runId)) await this.endedElsewhere(runId, run);
      this.resolveCompletion(runId, run);
    }, () => undefined);
  }

  /** Wakes `wake` whenever another process says the run has news; returns an unsubscribe function. */
  watchRun(runId: string, wake: () => void): () => void {
    let set = this.watchers.get(runId);
    if (!set) this.watchers.set(runId, (set = new Set()));
    set.add(wake);
    return () => { set.delete(wake); if (set.size === 0) this.watchers.delete(runId); };
  }

  /** True when every event of the run is written by this process (it executes it, alone): live events need no polling. */
  executesAlone(runId: string): boolean { return !this.member && this.active.has(runId); }

  itemSettled(run: ActiveRun): void { this.member?.done(run.runId); }
  itemReleased(run: ActiveRun, itemIndex: number): void { this.member?.released(run.runId, itemIndex); }

  /** A wait of a component (a sub-run, a human) frees its slot while it lasts, so nesting never starves the process. */
  private blocking<T>(caller: CallerContext | undefined, wait: () => Promise<T>): Promise<T> {
    return this.member && caller?.runId ? this.member.blocked(wait) : wait();
  }

  // ---- RuntimeContext: what component servers and builtins call -------------------------

  async putBlob(data: unknown, type: BlobType): Promise<BlobId> {
    return this.blobs.putBlob(data, type);
  }

  async getBlob(id: string): Promise<{ data: unknown; blobType: BlobType }> {
    const blob = await this.blobs.getBlob(id);
    if (!blob) throw new ProtocolError(ErrorCodes.BlobNotFound, `blob not found: ${String(id)}`, { blob_id: id });
    return { data: blob.data, blobType: blob.type };
  }

  submitRun(params: SubmitRunParams, caller?: CallerContext): Promise<RunStatus> {
    return this.submit(params, { caller });
  }

  getRun(params: GetRunParams, caller?: CallerContext): Promise<RunStatus> {
    return params?.wait ? this.blocking(caller, () => this.get(params)) : this.get(params);
  }

  awaitInput(params: AwaitInputParams, caller?: CallerContext): Promise<unknown> {
    return this.blocking(caller, () => this.inputs.await(params, caller));
  }

  /**
   * A chunk a step streams: numbered in its stream, checked against the limits (a broken
   * one throws, and the plugin fails the step) and appended as a step_output event through
   * the same group commit as every other event, so live and replaying readers see one
   * sequence. The promise is the commit's (shared by every write in it): the chunk is taken.
   */
  emitOutput(output: StepOutput, caller: CallerContext): Promise<void> | undefined {
    const run = caller.runId ? this.active.get(caller.runId) : undefined;
    if (!run || run.cancelled || caller.itemIndex === undefined || !caller.stepId) return undefined;
    // A resumed run's outputs were recovered at resume (resumeAll).
    const outputs = run.outputs ??= new RunOutputs(run.runId, this.outputLimits);
    const data = outputs.take(caller.itemIndex, caller.stepId, caller.attempt ?? 1, output);
    return this.commit.committed(this.withEvent(run.runId, [], 'step_output', {
      itemIndex: caller.itemIndex, stepId: caller.stepId, attempt: caller.attempt ?? 1, data: data as unknown as Record<string, unknown>,
    }, now()));
  }

  // ---- Runs ---------------------------------------------------------------------------

  /** runs/submit: creates a run and starts it; with `wait` resolves to its final status (results by index). */
  async submit(params: SubmitRunParams, options: SubmitOptions = {}): Promise<RunStatus> {
    const p = checkSubmitParams(params);
    const caller = options.caller;
    if (caller?.served === 'none' || caller?.served === 'ambiguous') {
      // A sub-run must know its parent, or the nesting limit would not hold for a server that omits observability.
      throw new ProtocolError(ErrorCodes.InvalidParams, caller.served === 'none'
        ? 'runs/submit: this component server has no components/execute in flight, so the call belongs to no step; submit sub-runs while executing'
        : 'runs/submit: several executions are in flight on this component server and the call names none of them; send observability (run_id, item_index, step_id) as received in components/execute');
    }
    await this.commit.flush(); // a cancel in progress has its terminal status committed first
    // The calling run's record: its depth, root and config never change, and whether it has
    // ended the store checks again in the creating transaction (createRun).
    const parent = caller?.runId ? this.active.get(caller.runId)?.record ?? await this.state.getRun(caller.runId) : undefined;
    if (parent && (isTerminal(parent.status) || this.active.get(parent.runId)?.cancelled)) {
      throw new ProtocolError(ErrorCodes.InvalidParams,
        `runs/submit: the calling run ${parent.runId} is ${isTerminal(parent.status) ? parent.status : 'being cancelled'}: no sub-run may start under it`, { runId: parent.runId });
    }
    // Without a subflowKey, the n-th submit of this step gets an implicit one, so a step
    // re-run after a crash re-attaches its sub-runs instead of starting duplicates.
    const implicitKey = !p.subflowKey;
    if (parent && !p.subflowKey && caller?.itemIndex !== undefined && caller.stepId) {
      const n = this.active.get(parent.runId)?.nextSubmit(caller.itemIndex, caller.stepId, caller.attempt ?? 0);
      if (n !== undefined) p.subflowKey = `implicit:${caller.itemIndex}:${caller.stepId}:${n}`;
    }
    // A step's first attempt has no earlier execution whose sub-runs an implicit key could name
    // (an attempt is journaled before its request is sent): nothing to look up.
    const firstAttempt = implicitKey && caller?.attempt === 1;
    if (parent && p.subflowKey && !firstAttempt) {
      const existing = await this.state.findSubRun(parent.runId, p.subflowKey);
      // Re-attach (crash recovery, repeated calls) unless that sub-run failed or was
      // cancelled: then the caller is retrying, and re-attaching would only repeat the failure.
      if (existing && existing.status !== 'failed' && existing.status !== 'cancelled') {
        return p.wait ? this.blocking(caller, () => this.waitAndGet(existing.runId, timeoutMs(p.timeoutSecs), 'byIndex')) : toRunStatus(existing);
      }
    }
    const depth = parent ? parent.depth + 1 : 0;
    if (depth > this.maxDepth) {
      throw new ProtocolError(ErrorCodes.NestingTooDeep,
        `runs/submit: nesting depth limit (${this.maxDepth}) exceeded: run ${parent!.runId} is already ${parent!.depth} levels deep. ` +
        'A flow that submits itself recurses without end; raise limits.maxNestingDepth if the depth is intended.');
    }
    const { flow, loaded } = await this.flows.load(p.flowId, p.overrides);
    const parentRun = parent ? this.active.get(parent.runId) : undefined;
    const record = newRunRecord({
      flowId: p.flowId,
      ...(flow.name !== undefined ? { flowName: flow.name } : {}),
      ...(p.flowLabel ? { flowLabel: p.flowLabel } : {}),
      depth,
      ...(parent ? { rootRunId: parent.rootRunId, parentRunId: parent.runId } : {}),
      ...(parent && caller?.itemIndex !== undefined ? { parentItemIndex: caller.itemIndex } : {}),
      ...(parent && caller?.stepId ? { parentStepId: caller.stepId } : {}),
      ...(parent && p.subflowKey ? { subflowKey: p.subflowKey } : {}),
      ...(p.maxConcurrency ? { maxConcurrency: p.maxConcurrency } : {}),
      ...(p.overrides ? { overrides: p.overrides } : {}),
      ...(p.variables ? { variables: p.variables } : {}),
      // Only a cluster pins (a store of one process runs everything where it was submitted).
      ...(p.affinity ?? (this.member && pinnedBy(flow, parentRun?.router ?? this.options.router)) ? { affinity: 'creator' as const } : {}),
      ...this.configOf(parent),
    });
    if (parentRun) parentRun.createdSubRuns = true;
    const created = await this.createRun(record, p.inputs, parent ? { parentRunId: parent.runId, itemIndex: caller?.itemIndex, stepId: caller?.stepId } : undefined);
    if (!created.ended) this.start(record, loaded, options.trace ?? caller?.trace, parentRun?.trace?.traceId, parentRun?.router);
    void this.member?.claimedInCommit(created.claimed);
    if (p.wait) return this.blocking(caller, () => this.waitAndGet(record.runId, timeoutMs(p.timeoutSecs), 'byIndex'));
    // Answered once the run is started and that is committed: `running`, as the seed's diagram shows.
    await this.durable();
    return toRunStatus((await this.state.getRun(record.runId))!);
  }

  /** runs/get */
  async get(params: GetRunParams): Promise<RunStatus> {
    if (!params || typeof params.runId !== 'string') throw new ProtocolError(ErrorCodes.InvalidParams, 'runs/get: runId (string) is required');
    const order = normalizeOrder(params.resultOrder);
    const timeout = timeoutMs(params.timeoutSecs);
    if (!(await this.state.getRun(params.runId))) throw unknownRun(params.runId);
    if (params.wait) return this.waitAndGet(params.runId, timeout, params.includeResults ? order : undefined);
    await this.durable();
    return toRunStatus(...await this.readWithResults(params.runId, params.includeResults ? order : undefined));
  }

  /** A run's record (`known`, if read already) and its results in `order`, read together. */
  private async readWithResults(runId: string, order?: 'byIndex' | 'byCompletion', known?: RunRecord): Promise<[RunRecord, ItemRecord[] | undefined]> {
    const [run, results] = await Promise.all([known ?? this.state.getRun(runId), order ? this.state.listResults(runId, order) : undefined]);
    return [run!, results];
  }

  /**
   * Up to `limit` finished items of a run by index, from `fromIndex` on: the same items as
   * `listResults(runId, 'byIndex')`, but paged from an index rather than an offset, so reading
   * a million results page by page costs one pass, not a skip over every earlier page.
   */
  async resultPage(runId: string, fromIndex: number, limit: number): Promise<ItemResult[]> {
    await this.durable();
    return (await this.state.listItems(runId, { fromIndex, limit, statuses: FINISHED_ITEMS })).map(toItemResult);
  }

  /**
   * Resolves when the run may have ended (undefined after `ms`; no `ms`: no limit): with its
   * terminal record when that was read on the way. A hint of its end wakes it unread.
   */
  async waitForRun(runId: string, ms?: number): Promise<Woken | undefined> {
    await this.commit.flush();
    // A run executing here is told its end by whatever ends it (here, or a hint or check of another process's end).
    if (!this.active.has(runId)) {
      const run = await this.state.getRun(runId);
      if (!run) throw unknownRun(runId);
      if (isTerminal(run.status)) return { record: run };
    }
    return withTimeout(this.completion(runId), ms);
  }

  /** The run's status once it has ended, or when `ms` have passed; with its results in `order`, if given. */
  private async waitAndGet(runId: string, ms: number | undefined, order?: 'byIndex' | 'byCompletion'): Promise<RunStatus> {
    const until = ms === undefined ? undefined : Date.now() + ms;
    for (;;) {
      const woken = await this.waitForRun(runId, until === undefined ? undefined : Math.max(0, until - Date.now()));
      await this.durable();
      // A terminal run changes no more: its record and its results are read together.
      const [run, results] = await this.readWithResults(runId, order, woken?.record);
      // Woken by a hint, not ended (a hint read before this process could see the end): waits again.
      if (!woken?.hinted || isTerminal(run.status)) return toRunStatus(run, results);
    }
  }

  /** A run's completion: in-process runs resolve directly; runs of another process are polled. */
  private completion(runId: string): Promise<Woken> {
    const known = this.completions.get(runId);
    if (known) return known.done.promise;
    const waiting: { done: Deferred<Woken>; poll?: NodeJS.Timeout } = { done: deferred() };
    this.completions.set(runId, waiting);
    if (this.member || !this.active.has(runId)) {
      // Executed elsewhere, or (a cluster) its last item may finish elsewhere: hints wake it early.
      let reading = false;
      waiting.poll = setInterval(() => {
        if (reading) return;
        reading = true;
        this.state.getRun(runId).then((run) => {
          if (!run || isTerminal(run.status)) this.resolveCompletion(runId, run);
        }, () => undefined).finally(() => { reading = false; });
      }, POLL_MS);
      waiting.poll.unref();
    }
    return waiting.done.promise;
  }

  /**
   * The run has ended (or, `hinted`, another process says so): its waiters go on, with its
   * terminal record when it was read. Ended here without its end recorded (the store failing),
   * they answer what the store has.
   */
  private resolveCompletion(runId: string, record?: RunRecord, hinted = false): void {
    const waiting = this.completions.get(runId);
    if (!waiting) return;
    this.completions.delete(runId);
    clearInterval(waiting.poll);
    waiting.done.resolve(record && isTerminal(record.status) ? { record } : hinted ? { hinted } : {});
  }

  async listRuns(filter?: ListRunsFilter): Promise<RunStatus[]> {
    await this.commit.flush();
    return (await this.state.listRuns(filter)).map((r) => toRunStatus(r));
  }

  /**
   * Cancels a run and its sub-runs, whichever process executes them: the terminal status
   * is written to the store at once (pending items never start, later writes to the run
   * are no-ops), and the executing process, seeing it (watchForeignEnds), aborts its
   * in-flight component calls. `purge` then deletes the run's journal; a run that had
   * already finished keeps its status.
   */
  async cancel(runId: string, opts: { purge?: boolean } = {}): Promise<RunStatus> {
    await this.commit.flush();
    const run = await this.state.getRun(runId);
    if (!run) throw unknownRun(runId);
    if (!isTerminal(run.status)) {
      this.stopLocally(runId);
      await this.terminate(runId, 'cancelled');
      // After the parent's terminal commit: a sub-run created meanwhile is listed here, later ones are refused.
      for (const child of await this.state.listRuns({ parentRunId: runId })) {
        if (!isTerminal(child.status)) await this.cancel(child.runId);
      }
      this.resolveCompletion(runId);
    }
    if (opts.purge) await this.commit.write({ runId, writes: [{ op: 'purgeRun', runId }] });
    return toRunStatus((await this.state.getRun(runId))!);
  }

  /** This process stops executing a run (its in-flight calls are aborted); the store is not touched. */
  private stopLocally(runId: string): void {
    const active = this.active.get(runId);
    if (active) {
      active.cancelled = true;
      active.abort.abort();
      this.active.delete(runId);
    }
    this.inputs.dropRun(runId);
  }

  /**
   * Ends a run through the store's `terminate`: status, its open items cancelled and its
   * `run_completed` event in one commit; a no-op when the run has already ended. Every
   * path that ends a run comes here.
   */
  private terminate(runId: string, status: TerminalRunState, error?: FlowError): Promise<void> {
    let event: RunEvent | undefined;
    return this.commit.write({
      runId,
      writes: [{ op: 'terminate', runId, status, at: now(), ...(error ? { error } : {}) }],
      applied: (_, ended) => { event = ended[0]; },
      after: () => { if (event) this.events.emit(event); },
    });
  }

  /**
   * A new run of the same flow whose steps upstream of `fromStep` reuse the source
   * run's journaled results; `fromStep` and everything downstream run again.
   */
  async fork(sourceRunId: string, opts: ForkOptions): Promise<RunStatus> {
    await this.commit.flush();
    const source = await this.state.getRun(sourceRunId);
    if (!source) throw unknownRun(sourceRunId);
    const overrides = opts.overrides ?? source.overrides;
    const { flow, loaded } = await this.flows.load(source.flowId, overrides);
    let router: PluginRouter;
    try {
      router = await this.routerOf(source);
    } catch (error) {
      throw new ProtocolError(ErrorCodes.ServerError, `fork: run ${sourceRunId}'s config ${source.configId} cannot start here: ${(error as Error).message}`);
    }
    if (!(flow.steps ?? []).some((s) => s.id === opts.fromStep)) {
      throw new ProtocolError(ErrorCodes.InvalidParams, `fork: flow ${source.flowId} has no step "${opts.fromStep}"`);
    }
    const inputs = opts.inputs ?? (await this.state.listItems(sourceRunId)).map((i) => i.input);
    const maxConcurrency = opts.maxConcurrency ?? source.maxConcurrency;
    const record = newRunRecord({
      flowId: source.flowId,
      ...(source.flowName !== undefined ? { flowName: source.flowName } : {}),
      ...(opts.flowLabel ? { flowLabel: opts.flowLabel } : {}),
      depth: 0,
      ...(maxConcurrency ? { maxConcurrency } : {}),
      ...(overrides ? { overrides } : {}),
      ...(source.variables ? { variables: source.variables } : {}),
      forkOf: { runId: sourceRunId, fromStep: opts.fromStep },
      // What the source was submitted with, wherever the fork is made.
      ...this.configOf(source),
    });
    const created = await this.createRun(record, inputs);
    if (!created.ended) this.start(record, loaded, undefined, undefined, router);
    void this.member?.claimedInCommit(created.claimed);
    return toRunStatus(record);
  }

  /**
   * Continues the store's unfinished runs that no live process owns: all of them, or
   * `only` and its sub-runs. Each runs with the config it was submitted with. A run whose
   * config cannot start here, or whose steps have no route, is held back untouched
   * (resumable later) with the reason, rather than failing its items.
   */
  async resumeAll(only?: string): Promise<ResumeReport> {
    if (this.member) return this.resumeInCluster(only);
    const report: ResumeReport = { resumed: [], held: [] };
    for (const run of await this.unfinishedRuns(only)) {
      if (this.active.has(run.runId)) continue;
      let router: PluginRouter;
      try {
        router = await this.routerOf(run);
      } catch (error) {
        report.held.push({ runId: run.runId, reason: `its config ${run.configId} cannot start here: ${(error as Error).message}` });
        continue;
      }
      let loaded: { flow: Flow; loaded: LoadedFlow } | undefined;
      let loadError: Error | undefined;
      try {
        // A run is created in several batches when it has many inputs, run_created last:
        // without it, the process died while creating it, and no one was told its id.
        if ((await this.state.listEvents(run.runId, 0, 1)).length === 0) throw new Error(`its creation was interrupted after ${run.items.total} inputs`);
        loaded = await this.flows.load(run.flowId, run.overrides);
      } catch (error) {
        loadError = error as Error;
      }
      const missing = loaded ? unroutableSteps(loaded.flow, router) : [];
      if (missing.length > 0) {
        report.held.push({ runId: run.runId, reason: `no route reaches ${missing.join(', ')} with its config` });
        continue;
      }
      if (!(await this.state.claimRun(run.runId, this.owner))) continue;
      if (!loaded) {
        // The flow's blob is gone (or no longer valid): the run cannot continue; say why.
        void this.terminate(run.runId, 'failed',
          flowError('ORCHESTRATOR_ERROR', `cannot resume run ${run.runId}: ${loadError!.message}`)).catch(logWriteFailure(run.runId));
        continue;
      }
      const interrupted = await this.state.listItems(run.runId, { statuses: ['running', 'paused'] });
      const outputs = await this.recoverOutputs(run.runId);
      const active = this.launch(run, loaded.loaded, interrupted, { resumed: true, router });
      active.resumed = true;
      active.outputs ??= outputs;
      report.resumed.push(run.runId);
    }
    return report;
  }

  /**
   * In a cluster nothing is resumed by hand: the items of a dead process go back to the
   * queue when it is declared dead (swept here first: one of this host whose process is
   * gone is dead at once), and any process claims them. This reports which unfinished runs
   * will continue here and which cannot (their config or routes), as resumeAll does.
   */
  private async resumeInCluster(only?: string): Promise<ResumeReport> {
    await this.member!.sweep().catch(() => undefined);
    const report: ResumeReport = { resumed: [], held: [] };
    for (const run of await this.unfinishedRuns(only)) {
      try {
        const router = await this.routerOf(run);
        const missing = unroutableSteps((await this.flows.load(run.flowId, run.overrides)).flow, router);
        if (missing.length > 0) { report.held.push({ runId: run.runId, reason: `no route reaches ${missing.join(', ')} with its config` }); continue; }
      } catch (error) {
        report.held.push({ runId: run.runId, reason: (error as Error).message });
        continue;
      }
      report.resumed.push(run.runId);
    }
    this.member!.claimSoon();
    return report;
  }

  /** The store's unfinished runs, oldest first: all, or `only` and its sub-runs (a parent is seen before them). */
  private async unfinishedRuns(only?: string): Promise<RunRecord[]> {
    const runs = await this.state.listUnfinishedRuns();
    if (only === undefined) return runs;
    const chosen = new Set<string>();
    return runs.filter((run) => {
      if (run.runId !== only && !(run.parentRunId !== undefined && chosen.has(run.parentRunId))) return false;
      chosen.add(run.runId);
      return true;
    });
  }

  /** The router a run executes with: this process's, unless the run was submitted with another config. */
  private routerOf(run: RunRecord): Promise<PluginRouter> | PluginRouter {
    const { configId, routerFor } = this.options;
    if (!run.configId || run.configId === configId || !routerFor) return this.options.router;
    return routerFor(run.configId);
  }

  /** The streamed output an earlier process persisted for a run (its indexes continue), read a page at a time. */
  private async recoverOutputs(runId: string): Promise<RunOutputs | undefined> {
    let outputs: RunOutputs | undefined;
    for (let since = 0; ;) {
      const page = await this.state.listEvents(runId, since, EVENT_PAGE);
      if (page.some((e) => e.type === 'step_output')) (outputs ??= new RunOutputs(runId, this.outputLimits)).recover(page);
      if (page.length < EVENT_PAGE) return outputs;
      since = page[page.length - 1].seq;
    }
  }

  /** Supplies a human's value to a paused step (validated against the step's schema). */
  sendInput(runId: string, itemIndex: number, stepId: string, value: unknown): Promise<void> {
    return this.inputs.send(runId, itemIndex, stepId, value);
  }

  /** Events of a run from the store (after `sinceSeq`), for this process's own use. */
  async listEvents(runId: string, sinceSeq = 0, limit?: number): Promise<RunEvent[]> {
    await this.commit.flush();
    return this.state.listEvents(runId, sinceSeq, limit);
  }

  /**
   * Settles when everything written so far is durable. A commit is readable before its
   * shared fsync is done (GroupCommit); whatever answers a caller outside this process
   * (runs/get, event streams) waits for this first, so it never shows state a power cut
   * could still take back.
   */
  durable(): Promise<void> {
    return this.commit.durable();
  }

  isActive(runId: string): boolean { return this.active.has(runId); }

  /** The runs this process executes now (metrics: runs in progress, pending items). */
  activeRuns(): IterableIterator<ActiveRun> { return this.active.values(); }

  /** Stops scheduling, abandons in-flight items (they resume on the next open) and commits what is queued. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.foreignEnds);
    for (const run of this.active.values()) { run.cancelled = true; run.abort.abort(); }
    this.active.clear();
    // Queued writes commit, and their shared fsync finishes, before the store can be closed.
    await this.durable().catch(() => undefined);
    // A cluster member leaves cleanly: the items it held run elsewhere at once, not after its lease.
    if (this.member) await this.member.stop();
    else await this.state.releaseRuns(this.owner.id).catch(() => undefined); // the store may already be unusable
  }

  // ---- Scheduling (ItemRunner) --------------------------------------------------------

  /**
   * Creates the run and its items, durable before anyone is told its id (not grouped with
   * other writes). `inputs` may be any iterable (a generator over a huge file): they are
   * written CREATE_CHUNK at a time, one batch each, never all held. `run_created` comes
   * in the last batch, so a run whose creation a crash cut short is told apart at resume;
   * the run is claimed after its first batch, so no other process resumes it meanwhile.
   * Fills in `record.items` as the store counts them.
   */
  private async createRun(record: RunRecord, inputs: Iterable<unknown>, parent?: { parentRunId: string; itemIndex?: number; stepId?: string }): Promise<{ ended: boolean; claimed: ClaimedItem[] }> {
    await this.commit.flush();
    try {
      return await this.writeRun(record, inputs, parent);
    } catch (error) {
      // The store refuses a sub-run under a run that has ended (checked in the creating
      // transaction). A cancel another process commits after it lists the sub-run when it
      // cancels the children, or this process sees its run ended and cancels the sub-runs it
      // created (endedElsewhere).
      if (!(error instanceof ParentRunEnded)) throw error;
      throw new ProtocolError(ErrorCodes.InvalidParams,
        `runs/submit: the calling run ${error.parentRunId} is ${error.status}: no sub-run may start under it`, { runId: error.parentRunId });
    }
  }

  /** The batches that write a new run (createRun turns the store's refusal of an ended parent into the caller's error). */
  private async writeRun(record: RunRecord, inputs: Iterable<unknown>, parent?: { parentRunId: string; itemIndex?: number; stepId?: string }): Promise<{ ended: boolean; claimed: ClaimedItem[] }> {
    const { runId } = record;
    const at = record.createdAt;
    let writes: StoreWrite[] = [{ op: 'createRun', run: record }];
    let total = 0;
    let chunk: unknown[] = [];
    let claimed = false;
    let chunked = false;
    const addChunk = (): void => {
      writes.push({ op: 'addItems', runId, startIndex: total, inputs: chunk });
      total += chunk.length;
      chunk = [];
    };
    try {
      for (const input of inputs) {
        if (chunk.length === CREATE_CHUNK) {
          // A full chunk with more to come (the last goes with run_created): a batch of its own.
          addChunk();
          await this.commitNow(writes, false);
          writes = [];
          chunked = true;
          // In a cluster no process owns a run (its items are claimed one by one).
          if (!claimed) claimed = this.member ? true : await this.state.claimRun(runId, this.owner);
        }
        chunk.push(input);
      }
    } catch (error) {
      // Inputs that fail (a generator that throws, a value the store refuses) fail the
      // submit; a run already partly written ends failed, not half-made.
      if (claimed) await this.terminate(runId, 'failed', flowError('ORCHESTRATOR_ERROR', `its creation failed: ${(error as Error).message}`)).catch(() => undefined);
      throw error;
    }
    if (chunk.length > 0) addChunk();
    const created: RunEvent = { seq: 0, runId, type: 'run_created', at, data: { flowId: record.flowId, total } };
    writes.push({ op: 'appendEvent', event: created });
    const subRun: RunEvent | undefined = parent ? {
      seq: 0, runId: parent.parentRunId, type: 'sub_run_created', at,
      ...(parent.itemIndex !== undefined ? { itemIndex: parent.itemIndex } : {}),
      ...(parent.stepId ? { stepId: parent.stepId } : {}),
      data: { subRunId: runId },
    } : undefined;
    if (subRun) writes.push({ op: 'appendEvent', event: subRun });
    // Created in one batch, a run with items is created running (launch then writes no status
    // commit of its own): its run_status event comes right after run_created, as it would.
    const running: RunEvent | undefined = !chunked && total > 0 ? { seq: 0, runId, type: 'run_status', at, data: { status: 'running' } } : undefined;
    if (running) {
      record.status = 'running';
      writes.push({ op: 'appendEvent', event: running });
    }
    // A cluster: the batch that completes the run also claims its first items (for this
    // process's free slots), started once the run's local state exists (the caller's start()).
    const receipt = await this.commitNow(writes, true, this.member?.claimInCommit());
    const seqs = receipt.seqs;
    if (!claimed && !this.member) await this.state.claimRun(runId, this.owner);
    created.seq = seqs[0];
    record.items = { total, pending: total, running: 0, paused: 0, success: 0, failed: 0, cancelled: 0 };
    this.events.emit(created);
    // Live listeners of the parent are told too, not only a replay (seq 0: the parent had ended).
    if (subRun && (subRun.seq = seqs[1]) !== 0) this.events.emit(subRun);
    if (running) { running.seq = seqs[subRun ? 2 : 1]; this.events.emit(running); }
    // A cluster's run ends in the commit of its last result: here when its items were all done
    // before its creation was (another process ran them), or it has none.
    for (const ended of receipt.completed ?? []) this.endedByStore(ended);
    return { ended: (receipt.completed ?? []).some((e) => e.runId === runId), claimed: receipt.claimed ?? [] };
  }

  /**
   * One batch committed on its own (run creation); returns its event seqs. With `durable`,
   * once it survives a power cut: a store's shared fsync covers its earlier commits too.
   */
  private async commitNow(writes: StoreWrite[], durable: boolean, claim?: StoreBatch['claim']): Promise<CommitReceipt> {
    const batch = new StoreBatch();
    batch.writes.push(...writes);
    if (claim) batch.claim = claim;
    try {
      const receipt = await this.state.commit(batch);
      if (durable) await receipt.synced;
      return receipt;
    } catch (error) {
      if (claim) void this.member?.claimedInCommit([]);
      throw error;
    }
  }

  /** A new run's config: its parent's (or fork source's), else this process's. */
  private configOf(from?: RunRecord): Pick<RunRecord, 'configId' | 'workingDirectory'> {
    const configId = from ? from.configId : this.options.configId;
    const workingDirectory = from ? from.workingDirectory : this.options.workingDirectory;
    return { ...(configId ? { configId } : {}), ...(workingDirectory ? { workingDirectory } : {}) };
  }

  private start(record: RunRecord, loaded: LoadedFlow, parentSpan?: TraceParent, parentTraceId?: string, router?: PluginRouter): void {
    this.launch(record, loaded, [], { parentSpan, parentTraceId, router });
  }

  private launch(record: RunRecord, loaded: LoadedFlow, interrupted: ItemRecord[],
    trace: { parentSpan?: TraceParent; parentTraceId?: string; resumed?: boolean; router?: PluginRouter; claimed?: boolean } = {}): ActiveRun {
    // In a cluster every run is executed through claims, the creator's included.
    const claimed = trace.claimed ?? this.member !== undefined;
    // Launched for items a commit claimed: that commit claimed for every slot free then.
    const fromClaim = trace.claimed === true;
    const run = new ActiveRun(record, loaded, this, interrupted, claimed);
    run.router = trace.router ?? this.options.router;
    this.active.set(record.runId, run);
    const parentTraceId = trace.parentTraceId ?? (record.parentRunId ? this.active.get(record.parentRunId)?.trace?.traceId : undefined);
    run.trace = startRunTrace(record, trace.parentSpan, parentTraceId, trace.resumed === true);
    if (run.trace.span) {
      // Every way a run ends writes run_completed (failRun ends the span itself).
      const off = this.events.onRun(record.runId, (event) => {
        if (event.type !== 'run_completed') return;
        off();
        endRunTrace(run.trace, (event.data as { status: RunState }).status);
      });
    }
    if (record.status === 'pending' && record.items.total > 0) {
      // Not awaited; a store failure here also fails the items' own writes (failRun), and a
      // write that lands after close() must not become an unhandled rejection.
      this.setStatus(run, 'running').catch(() => undefined);
    }
    run.pump();
    if (claimed && !fromClaim) this.member?.claimSoon();
    return run;
  }

  loadPending(runId: string, fromIndex: number, limit: number): Promise<ItemRecord[]> {
    return this.state.listItems(runId, { fromIndex, limit, statuses: ['pending'] });
  }

  async priorFor(run: ActiveRun, item: ItemRecord): Promise<ReadonlyMap<string, PriorStep> | undefined> {
    const itemIndex = item.itemIndex;
    const prior = new Map<string, PriorStep>();
    if (run.record.forkOf) await forkReuse(this.state, run.record.forkOf, run.forkRedo, item, prior);
    for (const s of await this.state.listSteps(run.runId, itemIndex)) {
      const finished = (s.state === 'success' || s.state === 'failed') && s.result;
      prior.set(s.stepId, finished ? { result: s.result, lastAttempt: s.attempt } : { lastAttempt: s.attempt });
    }
    return prior.size > 0 ? prior : undefined;
  }

  private warnInputMismatch(run: ActiveRun, runId: string, itemIndex: number, message: string): void {
    if (this.warnedInput.has(run)) return;
    this.warnedInput.add(run);
    log('warn', { runId, itemIndex }, `run ${runId}: item ${itemIndex}: ${message}; running it anyway (validateInput: false; further items of this run are not reported)`);
  }

  async runItem(run: ActiveRun, item: ItemRecord, prior: ReadonlyMap<string, PriorStep> | undefined): Promise<FlowResult> {
    const { runId } = run;
    const i = item.itemIndex;
    // A claimed item is running in the store already (the claim said so).
    const writes: StoreWrite[] = run.claimed ? [] : [{ op: 'setItemStatus', runId, itemIndex: i, status: 'running' }];
    // Its claim may yet roll back (it is started inside the claiming transaction): see ActiveRun.abandon.
    const execution = run.execution(i);
    this.commit.post(this.withEvent(runId, writes, 'item_started', { itemIndex: i }, now()));
    // When each step's current attempt started: a step's durationMs is its own time, not the item's.
    const stepStarts = new Map<string, number>();
    const span = startItemSpan(run.trace, runId, i);
    const result = executeItem({
      flow: run.flow,
      flowId: run.record.flowId,
      runId,
      itemIndex: i,
      input: item.input,
      ...(run.record.variables ? { variables: run.record.variables } : {}),
      router: run.router ?? this.options.router,
      signal: run.abort.signal,
      transportRetries: this.transportRetries,
      traceId: run.trace?.traceId,
      ...(span ? { traceParent: span.context } : {}),
      ...(prior ? { prior } : {}),
      ...(this.options.validateInput === false ? { onInputMismatch: (message: string) => this.warnInputMismatch(run, runId, i, message) } : {}),
      journal: {
        stepStarted: (stepId, attempt) => {
          // Declared dead meanwhile (a cluster): the step must not start, its item is someone else's.
          if (run.stale) return Promise.reject(new Error(`run ${runId}: this executor was declared dead; item ${i} runs elsewhere`));
          if (execution?.abandoned) return Promise.reject(new AbandonedItem());
          this.inputs.stepMoved(runId, i, stepId);
          const ms = Date.now();
          stepStarts.set(stepId, ms);
          const t = isoAt(ms);
          const started = this.withEvent(runId, [{ op: 'startStep', runId, itemIndex: i, stepId, attempt, at: t }],
            'step_started', { itemIndex: i, stepId, attempt }, t);
          return this.commit.committed(started).then(async () => {
            // seq 0: the store has the run ended, by another process if it is still active here (a
            // cancel): the step's request must not be sent, and the run stops now, not at the next check.
            if (started.event.seq === 0) await this.endedElsewhere(runId);
          });
        },
        stepFinished: (stepId, attempt, result) => {
          // Abandoned by close() (or cancelled): a step that failed because it was aborted must
          // run again when the run resumes, so its failure is not journaled.
          if ((run.cancelled && result.outcome === 'failed') || run.stale || execution?.abandoned) return;
          this.inputs.stepMoved(runId, i, stepId);
          run.outputs?.stepDone(i, stepId);
          const ms = Date.now();
          const t = isoAt(ms);
          const type = result.outcome === 'success' ? 'step_completed' : 'step_failed';
          const durationMs = ms - (stepStarts.get(stepId) ?? ms);
          const data = result.outcome === 'success' ? { durationMs } : { error: result.error, durationMs };
          // Queued, not awaited: writes commit in order, so whatever acts on this result waits
          // for a later write (a downstream step's stepStarted, the item's finishItem) and so
          // for this one too; awaiting it here cost one event-loop turn per step.
          this.commit.post(this.withEvent(runId, [{ op: 'finishStep', runId, itemIndex: i, stepId, attempt, result, at: t }],
            type, { itemIndex: i, stepId, attempt, data }, t));
        },
      },
    });
    if (!span) return result;
    return result.then((r) => { endItemSpan(span, r); return r; }, (error: Error) => {
      endItemSpan(span, { outcome: 'failed', error: flowError('ORCHESTRATOR_ERROR', error.message) });
      throw error;
    });
  }

  finishItem(run: ActiveRun, itemIndex: number, result: FlowResult): Promise<void> {
    const t = now();
    const { runId } = run;
    const data = result.outcome === 'success' ? { outcome: 'success' } : { outcome: 'failed', error: result.error };
    if (result.outcome === 'failed') run.failedItems++;
    return this.commit.write(this.withEvent(runId, [{ op: 'finishItem', runId, itemIndex, result, completedAt: t }],
      'item_completed', { itemIndex, data }, t));
  }

  finishRun(run: ActiveRun): void {
    const { runId } = run;
    this.active.delete(runId);
    // This process holds the run: its failed items are those counted at launch and since.
    this.terminate(runId, run.failedItems > 0 ? 'failed' : 'success')
      .then(() => this.resolveCompletion(runId), (error: Error) => this.failRun(run, error));
  }

  /** The run cannot go on (its writes fail, its pump hit an infrastructure error): it ends failed, saying why. */
  failRun(run: ActiveRun, error: Error): void {
    if (run.cancelled) return;
    this.stopLocally(run.runId);
    const message = error.message;
    endRunTrace(run.trace, 'failed', flowError('ORCHESTRATOR_ERROR', message));
    this.terminate(run.runId, 'failed', flowError('ORCHESTRATOR_ERROR', message)).catch((e: Error) => {
      // The store itself is failing (e.g. a full disk): what was committed stays readable.
      console.error(`weft: run ${run.runId} stopped: ${message}; could not record it: ${e.message}`);
    }).finally(() => this.resolveCompletion(run.runId));
  }

  /** GroupCommit could not record a write of `runId`: that run fails, no other. */
  private writeFailed(runId: string, error: Error): void {
    const run = this.active.get(runId);
    if (run) this.failRun(run, error);
  }

  // ---- status and events --------------------------------------------------------------

  /** Run status changes (running ⇄ paused) as the human-input module reports them. */
  setStatus(run: ActiveRun | string, status: OpenRunState): Promise<void> {
    const runId = typeof run === 'string' ? run : run.runId;
    // Status and its run_status event in one commit, queued now: a run's first item_started comes after it.
    return this.commit.write(this.withEvent(runId, [{ op: 'setRunStatus', runId, status }], 'run_status', { data: { status } }, now()));
  }

  activeRun(runId: string): ActiveRun | undefined { return this.active.get(runId); }

  /** Appends an event and waits for its commit; listeners see it after. */
  emit(runId: string, type: RunEventType, fields: Partial<RunEvent> = {}, at = now()): Promise<void> {
    return this.commit.write(this.withEvent(runId, [], type, fields, at));
  }

  /**
   * `writes` of one run and, in the same batch after them, the event that reports them;
   * listeners are told the event once it is durable.
   */
  private withEvent(runId: string, writes: StoreWrite[], type: RunEventType, fields: Partial<RunEvent>, at: string): QueuedWrites & { event: RunEvent } {
    const event = { runId, type, at, ...fields } as RunEvent;
    writes.push({ op: 'appendEvent', event });
    return {
      runId, writes, event,
      ...(fields.itemIndex !== undefined ? { itemIndex: fields.itemIndex } : {}),
      applied: (seqs) => { event.seq = seqs[0]; },
      // seq 0: the run had already ended, so the event was not written and is not told either.
      after: () => { if (event.seq !== 0) this.events.emit(event); },
    };
  }

  /** Commits queued writes now (tests, and readers that must see everything); settles once applied. */
  flush(): Promise<void> { return this.commit.flush(); }

  get storeError(): Error | undefined { return this.commit.error; }

  /** The flow behind a run (for fork, HTTP and the debug page). */
  async flowOf(flowId: string): Promise<Flow> {
    return (await this.flows.load(flowId, undefined)).flow;
  }

  /** The flow as a run executes it (its overrides applied), parsed once. */
  async loadedFlowOf(flowId: string, overrides: unknown): Promise<LoadedFlow> {
    return (await this.flows.load(flowId, overrides)).loaded;
  }

  /** The store's run state, for reads (event streams, the CLI). */
  get storeState() { return this.state; }
  /** For modules of runs/ that journal their own state changes (human input). */
  journal(runId: string, writes: StoreWrite[]): Promise<void> { return this.commit.write({ runId, writes }); }
}

/** Whether a step of `flow` routes to a plugin whose runs stay on their creator (`affinity: creator` in its config). */
function pinnedBy(flow: Flow, router: PluginRouter): boolean {
  return (flow.steps ?? []).some((s) => {
    const route = router.resolve(s.component, undefined);
    return 'plugin' in route && route.plugin.affinity === 'creator';
  });
}

function logWriteFailure(runId: string): (error: Error) => void {
  return (error) => console.error(`weft: run ${runId}: could not record its end: ${error.message}`);
}

function unknownRun(runId: string): ProtocolError {
  return new ProtocolError(ErrorCodes.NotFound, `run not found: ${runId}`, { runId });
}
