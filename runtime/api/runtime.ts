import { dirname, resolve } from 'node:path';
import type { BlobId, BlobType, Flow, RunState, RunStatus, SubmitRunParams } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError } from '../../protocol/index.js';
import type { Plugin } from '../plugins/plugin.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import { pluginSet } from './plugin-set.js';
import type { RunEvent, Store } from '../store/state-store.js';
import type { RunEvent as PublicRunEvent } from './run-event-types.js';
import type { AsyncStore } from '../store/async-state-store.js';
import { toAsyncStore } from '../store/async-state-adapter.js';
import { isPostgresUrl, openAsyncStore, type OpenAsyncStoreOptions } from '../store/open-async-store.js';
import { loadFlowFile } from '../flow/load-flow.js';
import { formatDiagnostics, hasError } from '../flow/diagnostic.js';
import { RunManager, type ForkOptions, type ResumeReport } from '../runs/run-manager.js';
import type { ClusterSettings } from '../runs/cluster-member.js';
import { clusterOf, type ExecutorRecord } from '../store/cluster-store.js';
import { RunConfigs, configBlobOf } from './run-configs.js';
import { RunInspector, type EventPage, type EventPageQuery, type ItemDetail, type ItemPage, type StepCounts } from '../runs/run-inspector.js';
import type { ItemState, RunRecord } from '../store/state-store.js';
import type { OutputLimits } from '../runs/run-outputs.js';
import { toRunStatus } from '../runs/run-status.js';
import type { WeftConfig } from './config-types.js';
import { defaultConfig, findConfig, loadConfig } from './load-config.js';
import { Run } from './run.js';
import { groupFlowVersions, type NamedFlow } from './flow-versions.js';
import { logRunEvents } from './log-run-events.js';
import { log } from '../telemetry/logger.js';
import { startTracing } from '../telemetry/start-tracing.js';
import { activeTracer, setActiveTracer } from '../telemetry/tracer.js';
import type { Tracer } from '../telemetry/tracer.js';

export interface RuntimeOptions {
  /** A config file path, a config object, or nothing: discovered from `cwd` (weft.config.yml / stepflow-config.yml), else builtins only. */
  config?: string | WeftConfig;
  /**
   * `sqlite` (default, `.weft/weft.db` under cwd), `memory`, a PostgreSQL URL
   * (`postgres://…`), `{type, path}` / `{type: 'postgres', url}`, or an open store (either
   * form). Unset: `WEFT_DATABASE_URL` when set, else the config's `stateStore`.
   */
  store?: 'sqlite' | 'memory' | string | { type: 'sqlite' | 'memory' | 'postgres'; path?: string; url?: string } | Store | AsyncStore;
  cwd?: string;
  /**
   * Continue the store's unfinished runs at open (default true): all of them, or
   * `{runId}` and its sub-runs only. Each continues with the config it was submitted with.
   */
  resume?: boolean | { runId: string };
  /**
   * Start the config's component servers (default true). `false` for commands that only
   * touch the store (`weft cancel`): no run can execute on such a runtime.
   */
  startPlugins?: boolean;
  /**
   * On a PostgreSQL store this process joins the cluster of processes executing its runs
   * (unless `startPlugins` is false); `role` names it there (`weft runs list`, the debug
   * page). Default `embedded`.
   */
  role?: string;
  /** Overrides of the config's `cluster` section (e.g. `weft worker --capacity`). */
  cluster?: WeftConfig['cluster'];
}

export interface SubmitOptions {
  maxConcurrency?: number;
  overrides?: unknown;
  variables?: Record<string, unknown>;
  flowLabel?: string;
  timeoutSecs?: number;
  /** `creator`: on a PostgreSQL store, the run's items execute only in this process (until it is declared dead). */
  affinity?: 'creator';
}

export interface RunCompletedEvent { runId: string; status: RunState; run: RunStatus }

export interface ComponentListing { path: string; plugin: string; component: string; description?: string; input_schema?: unknown; output_schema?: unknown }

/**
 * The embedding API: everything the CLI and the HTTP server do goes through here.
 *
 *   const rt = await Runtime.open();
 *   const flowId = await rt.putFlow('flows/etl.yaml');
 *   const run = await rt.submit(flowId, [{ x: 1 }, { x: 2 }], { maxConcurrency: 8 });
 *   const final = await run.wait();
 */
export class Runtime {
  private closed = false;
  private inspector: RunInspector | undefined;

  // store, router and runs are weft's own (the CLI and the server reach them); `@internal`
  // keeps them out of the published declarations and the API reference (stripInternal).
  private constructor(
    readonly config: WeftConfig,
    /** @internal */
    readonly store: AsyncStore,
    /** @internal */
    readonly router: PluginRouter,
    private readonly plugins: Plugin[],
    /** @internal */
    readonly runs: RunManager,
    /** Runs continued from an earlier process at open. */
    readonly resumed: string[],
    /** Unfinished runs not continued at open because their config or routes cannot run here (they stay resumable). */
    readonly heldBack: ResumeReport['held'],
    private readonly configs: RunConfigs,
    /** The tracer this runtime started (OTEL_* / config observability), shut down at close. */
    private readonly tracer: Tracer | undefined,
    private readonly unlog: (() => void) | undefined,
    /** Flow id → the directory of the file it was loaded from (`/load_file` starts there). */
    private readonly flowDirectories: Map<string, string>,
  ) {}

  static async open(opts: RuntimeOptions = {}): Promise<Runtime> {
    const cwd = resolve(opts.cwd ?? process.cwd());
    const config = typeof opts.config === 'string' ? loadConfig(resolve(cwd, opts.config))
      : opts.config ?? (findConfig(cwd) ? loadConfig(findConfig(cwd)!) : defaultConfig(cwd));
    const store = isStore(opts.store) ? toAsyncStore(opts.store) : await openAsyncStore({
      ...storeOptions(opts.store, config, cwd),
      // A server that is not up yet is waited for (with backoff); say so, naming it.
      connect: { onRetry: (delayMs, error) => log('warn', {}, `PostgreSQL does not answer yet (${error.message}); retrying in ${delayMs} ms`) },
    });
    // Before anything runs, so every span of the first run is exported.
    const tracer = await startTracing(process.env, config.observability, (message) => log('warn', {}, message));
    const flowDirectories = new Map<string, string>();
    const { plugins, router } = pluginSet(config, (flowId) => flowDirectories.get(flowId));
    // Every run submitted here records this config, so it resumes and forks with it from anywhere.
    const configId = await store.blobs.putBlob(configBlobOf(config), 'data');
    const configs = new RunConfigs(store.blobs, () => runs);
    const runs: RunManager = new RunManager({
      store, router, configId, workingDirectory: config.workingDirectory, routerFor: (id) => configs.routerFor(id),
      ...(config.limits?.maxNestingDepth !== undefined ? { maxNestingDepth: config.limits.maxNestingDepth } : {}),
      ...(config.limits?.transportRetries !== undefined ? { transportRetries: config.limits.transportRetries } : {}),
      outputLimits: outputLimitsOf(config.limits),
      ...(config.validateInput === false ? { validateInput: false } : {}),
      cluster: clusterSettingsOf({ ...config.cluster, ...opts.cluster }),
    });
    const list = opts.startPlugins === false ? [] : [...plugins.values()];
    const unlog = logRunEvents(runs.events);
    try {
      await Promise.all(list.map((p) => p.init(runs)));
      if (opts.startPlugins !== false) await runs.joinCluster(opts.role ?? 'embedded');
    } catch (error) {
      await Promise.allSettled(list.map((p) => p.close()));
      await store.close();
      unlog?.();
      await shutdownTracer(tracer);
      throw error;
    }
    const report = opts.resume === false || opts.startPlugins === false ? { resumed: [], held: [] }
      : await runs.resumeAll(typeof opts.resume === 'object' ? opts.resume.runId : undefined);
    for (const { runId, reason } of report.held) log('warn', { runId }, `weft: run ${runId} not resumed: ${reason}; it stays resumable`);
    return new Runtime(config, store, router, list, runs, report.resumed, report.held, configs, tracer, unlog, flowDirectories);
  }

  // ---- flows and blobs ----------------------------------------------------------------

  /**
   * Stores a flow (object, or a YAML/JSON file path) as a `flow` blob; invalid flows throw
   * with every error. A flow from a file (or given `directory`) reads files relative to
   * that directory in `/builtin/load_file`, for this runtime.
   */
  async putFlow(flow: Flow | string, opts: { directory?: string } = {}): Promise<BlobId> {
    if (typeof flow === 'string') {
      const result = await loadFlowFile(resolve(flow), { router: this.router, ...(this.config.limits?.maxJsonDepth ? { maxDepth: this.config.limits.maxJsonDepth } : {}) });
      if (!result.flow || hasError(result.diagnostics)) {
        throw new Error(formatDiagnostics(result.diagnostics.filter((d) => d.level !== 'warning'), flow));
      }
      return this.rememberDirectory(await this.store.blobs.putBlob(result.flow.flow, 'flow'), opts.directory ?? dirname(resolve(flow)));
    }
    return this.rememberDirectory(await this.store.blobs.putBlob(flow, 'flow'), opts.directory);
  }

  private rememberDirectory(flowId: BlobId, directory: string | undefined): BlobId {
    if (directory) this.flowDirectories.set(flowId, resolve(directory));
    return flowId;
  }

  async getFlow(flowId: string): Promise<Flow> {
    const blob = await this.store.blobs.getBlob(flowId);
    if (!blob || blob.type !== 'flow') throw new ProtocolError(ErrorCodes.NotFound, `Not found: flow with ID '${flowId}'`);
    return blob.data as Flow;
  }

  listFlows() { return this.store.blobs.listFlows(); }

  /** The id of the newest stored version of the flow with this name; throws when there is none. Older versions stay addressable by id. */
  async flowIdByName(name: string): Promise<BlobId> {
    const newest = (await this.store.blobs.listFlows()).find((f) => f.name === name);
    if (!newest) throw new Error(`no flow named "${name}"`);
    return newest.flowId;
  }

  /** Stored flows grouped by name, each with its versions (id, date, step count), newest first. */
  async flowVersions(): Promise<NamedFlow[]> {
    const flows = await this.store.blobs.listFlows();
    const bodies = new Map(await Promise.all(flows.map(async (f) => [f.flowId, (await this.store.blobs.getBlob(f.flowId))?.data as Flow | undefined] as const)));
    return groupFlowVersions(flows, (id) => bodies.get(id));
  }

  putBlob(data: unknown, type: BlobType = 'data'): Promise<BlobId> { return this.runs.putBlob(data, type); }
  getBlob(id: string) { return this.runs.getBlob(id); }

  // ---- runs ---------------------------------------------------------------------------

  /**
   * Starts a run and returns at once. `inputs` may be an array or any iterable — a
   * generator over a huge file is written to the store in chunks, never held whole.
   */
  async submit(flowId: string, inputs: Iterable<unknown>, options: SubmitOptions = {}): Promise<Run> {
    const status = await this.runs.submit({ flowId, inputs: inputs as unknown[], wait: false, ...(options as Omit<SubmitRunParams, 'flowId' | 'inputs'>) });
    return new Run(status.runId, this.runs);
  }

  /** Submits and waits: the final status with results. */
  async run(flowId: string, inputs: Iterable<unknown>, options: SubmitOptions = {}): Promise<RunStatus> {
    return (await this.submit(flowId, inputs, options)).wait();
  }

  /** A handle on a run started anywhere on this store. */
  async getRun(runId: string): Promise<Run> {
    await this.runs.flush();
    if (!(await this.store.state.getRun(runId))) throw new ProtocolError(ErrorCodes.NotFound, `run not found: ${runId}`);
    return new Run(runId, this.runs);
  }

  listRuns(filter: { status?: RunState; flowId?: string; flowName?: string; limit?: number; offset?: number; parentRunId?: string | null } = {}): Promise<RunStatus[]> {
    return this.runs.listRuns(filter);
  }

  cancel(runId: string, opts: { purge?: boolean } = {}): Promise<RunStatus> { return this.runs.cancel(runId, opts); }

  // ---- inspecting a run (the debug page) -------------------------------------------------

  /** A page of a run's items in index order, each with its result and its steps' states; `nextFrom` continues. */
  async listItems(runId: string, opts: { from?: number; limit?: number; statuses?: ItemState[] } = {}): Promise<ItemPage> {
    return this.inspect().items(await this.runRecord(runId), opts);
  }

  /** One item with every step of its flow: state, attempt, duration, input, output, error. */
  async getItem(runId: string, itemIndex: number): Promise<ItemDetail> {
    const run = await this.runRecord(runId);
    const item = await this.store.state.getItem(runId, itemIndex);
    if (!item) throw new ProtocolError(ErrorCodes.NotFound, `run ${runId} has no item ${itemIndex} (it has ${run.items.total})`);
    return this.inspect().item(run, item);
  }

  /** For each step of the run's flow, how many items are in each state there. */
  async stepCounts(runId: string): Promise<StepCounts[]> {
    return this.inspect().stepCounts(await this.runRecord(runId));
  }

  /** A page of the run's event log, newest or oldest first, filtered by type, item and step. */
  async eventLog(runId: string, query: EventPageQuery = {}): Promise<EventPage> {
    await this.runRecord(runId);
    return this.inspect().events(runId, query);
  }

  private async runRecord(runId: string): Promise<RunRecord> {
    await this.runs.durable();
    const run = await this.store.state.getRun(runId);
    if (!run) throw new ProtocolError(ErrorCodes.NotFound, `run not found: ${runId}`);
    return run;
  }

  private inspect(): RunInspector {
    return (this.inspector ??= new RunInspector(this.store.state, (flowId, overrides) => this.runs.loadedFlowOf(flowId, overrides)));
  }

  /** A new run whose steps before `fromStep` reuse the source run's results. */
  async fork(runId: string, opts: ForkOptions): Promise<Run> {
    const status = await this.runs.fork(runId, opts);
    return new Run(status.runId, this.runs);
  }

  /** Supplies a human's input to a paused step. */
  sendInput(runId: string, itemIndex: number, stepId: string, value: unknown): Promise<void> {
    return this.runs.sendInput(runId, itemIndex, stepId, value);
  }

  /**
   * `progress`: every run event (run status, item started/finished, step started/
   * finished/failed with stepId, itemIndex, attempt, duration). `runCompleted`: once per
   * finished run. Returns an unsubscribe function.
   */
  on(event: 'progress', listener: (e: PublicRunEvent) => void): () => void;
  on(event: 'runCompleted', listener: (e: RunCompletedEvent) => void): () => void;
  on(event: 'progress' | 'runCompleted', listener: (e: never) => void): () => void {
    if (event === 'progress') return this.runs.events.onAll(listener as unknown as (e: RunEvent) => void);
    return this.runs.events.onAll((e) => {
      if (e.type !== 'run_completed') return;
      void this.store.state.getRun(e.runId).then((record) => {
        if (record) (listener as (e: RunCompletedEvent) => void)({ runId: e.runId, status: record.status, run: toRunStatus(record) });
      }, () => undefined);
    });
  }

  /** This process's executor id in the cluster of a PostgreSQL store; undefined on a store of one process (SQLite, memory). */
  get executorId(): string | undefined { return this.runs.executorId; }

  /** The processes sharing this store (newest first, at most 200), with the items each holds; empty on a store of one process. */
  async executors(): Promise<ExecutorRecord[]> {
    return clusterOf(this.store.state)?.listExecutors() ?? [];
  }

  /** Which executors hold a run's items now (a cluster), most items first. */
  async runHolders(runId: string): Promise<Array<{ executorId: string; host: string; pid: number; items: number }>> {
    return clusterOf(this.store.state)?.holders(runId) ?? [];
  }

  /** `unhealthy` (with the reason) while the store refuses writes; healthy again once a commit succeeds. */
  health(): { status: 'healthy' } | { status: 'unhealthy'; error: string } {
    const error = this.runs.storeError;
    return error ? { status: 'unhealthy', error: error.message } : { status: 'healthy' };
  }

  /** Every component of every plugin, with the route path that reaches it. */
  async components(): Promise<ComponentListing[]> {
    const out: ComponentListing[] = [];
    for (const plugin of this.plugins) {
      for (const info of await plugin.listComponents()) {
        out.push({ path: this.routePathFor(plugin.name, info.component), plugin: plugin.name, ...info });
      }
    }
    return out;
  }

  private routePathFor(pluginName: string, component: string): string {
    for (const [pattern, rules] of Object.entries(this.config.routes)) {
      if (!rules.some((r) => r.plugin === pluginName)) continue;
      const m = /\{\*?component\}/.exec(pattern);
      if (m) return pattern.replace(m[0], component.replace(/^\//, ''));
    }
    return component;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runs.close();
    await Promise.allSettled(this.plugins.map((p) => p.close()));
    await this.configs.close();
    await this.store.close();
    this.unlog?.();
    // `weft run` exits right after: what its runs traced is exported first (bounded wait).
    if (this.tracer) await shutdownTracer(this.tracer);
    else await activeTracer()?.flush();
  }
}

async function shutdownTracer(tracer: Tracer | undefined): Promise<void> {
  if (!tracer) return;
  if (activeTracer() === tracer) setActiveTracer(undefined);
  await tracer.shutdown();
}

function isStore(s: RuntimeOptions['store']): s is Store | AsyncStore {
  return typeof s === 'object' && s !== null && 'blobs' in s && 'state' in s;
}

/** Which store: the caller's choice, else WEFT_DATABASE_URL, else the config's stateStore, else SQLite. */
function storeOptions(s: RuntimeOptions['store'], config: WeftConfig, cwd: string): OpenAsyncStoreOptions {
  const cfg = config.stateStore;
  // Durability comes from the config whichever store the caller picked (default: full).
  const durability = cfg?.durability ? { durability: cfg.durability } : {};
  if (s === 'memory' || s === 'sqlite') return { type: s, cwd, ...durability };
  if (typeof s === 'string') {
    if (!isPostgresUrl(s)) throw new Error(`store ${JSON.stringify(s)}: expected sqlite, memory or a PostgreSQL URL (postgres://user:password@host:5432/database)`);
    return { type: 'postgres', url: s };
  }
  if (s && typeof s === 'object') return { ...durability, ...(s as OpenAsyncStoreOptions), cwd };
  const env = process.env.WEFT_DATABASE_URL;
  if (env) {
    if (isPostgresUrl(env)) return { type: 'postgres', url: env };
    if (/^sqlite:/i.test(env)) return { type: 'sqlite', databaseUrl: env, cwd, ...durability };
    throw new Error(`WEFT_DATABASE_URL ${JSON.stringify(env.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@'))}: expected postgres://user:password@host:5432/database or sqlite:path`);
  }
  if (cfg) {
    if (cfg.type === 'postgres') return { type: 'postgres', url: cfg.url! };
    const type = cfg.type === 'inMemory' ? 'memory' : cfg.type;
    return {
      type, cwd, ...durability,
      ...(cfg.path ? { path: resolve(config.workingDirectory, cfg.path) } : {}),
      ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : {}),
    };
  }
  return { type: 'sqlite', cwd };
}

/** The config's cluster section in the run manager's units (milliseconds); unset ones keep their defaults. */
function clusterSettingsOf(c: WeftConfig['cluster']): Partial<ClusterSettings> {
  const out: Partial<ClusterSettings> = {};
  if (c?.capacity !== undefined) out.capacity = c.capacity;
  if (c?.leaseTtlSecs !== undefined) out.leaseTtlMs = Math.round(c.leaseTtlSecs * 1000);
  if (c?.heartbeatSecs !== undefined) out.heartbeatMs = Math.max(10, Math.round(c.heartbeatSecs * 1000));
  if (c?.pollSecs !== undefined) out.pollMs = Math.max(5, Math.round(c.pollSecs * 1000));
  return out;
}

/** The streamed-output limits a config sets (the rest keep their defaults). */
function outputLimitsOf(limits: WeftConfig['limits']): Partial<OutputLimits> {
  const out: Partial<OutputLimits> = {};
  if (limits?.maxChunkBytes !== undefined) out.maxChunkBytes = limits.maxChunkBytes;
  if (limits?.maxChunksPerStep !== undefined) out.maxChunksPerStep = limits.maxChunksPerStep;
  if (limits?.maxStreamBytesPerRun !== undefined) out.maxStreamBytesPerRun = limits.maxStreamBytesPerRun;
  return out;
}
