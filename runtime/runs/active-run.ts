import type { FlowResult } from '../../protocol/index.js';
import type { LoadedFlow } from '../flow/load-flow.js';
import { downstreamSteps } from '../flow/step-graph.js';
import { CallbackAbortController } from '../plugins/on-abort.js';
import type { PriorStep } from '../flow/item-execution.js';
import type { ItemRecord, RunRecord } from '../store/state-store.js';
import type { RunOutputs } from './run-outputs.js';
import type { RunTrace } from './run-trace.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import { StepCallCounter } from './step-call-counter.js';
import { AbandonedItem } from './abandoned-item.js';

/** Pending items are read from the store a page at a time: memory stays flat in the item count. */
const PAGE = 256;

/**
 * Items in flight for a run submitted without `maxConcurrency`: a million-item batch then
 * holds 64 items' state, not a million (flat memory), while 64 calls in flight keep a
 * component server busy (the batch benchmark's window). `maxConcurrency` overrides it.
 */
export const DEFAULT_MAX_CONCURRENCY = 64;

/** One execution of an item here. */
export interface ItemExecution {
  /** Its claim rolled back (see ActiveRun.abandon): it writes nothing more. */
  abandoned: boolean;
}

export interface ItemRunner {
  /** Executes one item to its result (journaling as it goes). */
  runItem(run: ActiveRun, item: ItemRecord, prior: ReadonlyMap<string, PriorStep> | undefined): Promise<FlowResult>;
  /** Records the item's result; resolves once committed. */
  finishItem(run: ActiveRun, itemIndex: number, result: FlowResult): Promise<void>;
  /** Called once, when no item is left to run or in flight. */
  finishRun(run: ActiveRun): void;
  /** Called when the run's item pump hits an infrastructure error (e.g. the store is full). */
  failRun(run: ActiveRun, error: Error): void;
  loadPending(runId: string, fromIndex: number, limit: number): Promise<ItemRecord[]>;
  priorFor(run: ActiveRun, item: ItemRecord): Promise<ReadonlyMap<string, PriorStep> | undefined>;
  /** A claimed item stopped executing here (its result queued for commit, or abandoned): its slot is free. */
  itemSettled?(run: ActiveRun): void;
  /** A claimed item is done with here: its result committed, or it was abandoned. */
  itemReleased?(run: ActiveRun, itemIndex: number): void;
}

/**
 * One run being executed by this process: keeps at most `maxConcurrency` items in
 * flight (DEFAULT_MAX_CONCURRENCY when the run has none), pulling pending items from the store page by page. Items interrupted by a
 * crash (`resumeItems`) go first, with the steps they had journaled.
 */
export class ActiveRun {
  /**
   * Every in-flight step and paused item waits on this one signal through onAbort, which
   * this controller calls itself: the signal has no listener limit to lift (~3 µs per run).
   */
  readonly abort = new CallbackAbortController();
  /** For a fork: the steps it runs again (the rest reuse the source run's results). */
  readonly forkRedo: ReadonlySet<string> | undefined;
  inFlight = 0;
  paused = 0;
  /** The routes its steps take: those of the config it was submitted with (set at launch). */
  router: PluginRouter | undefined;
  /** Items that ended failed, before this process (the run's counters at launch) and since: the run's outcome. */
  failedItems: number;
  /** Its trace id and, tracing on, its span (set at launch). */
  trace: RunTrace | undefined;
  /** Items finished whose result is not committed yet. */
  private settling = 0;
  cancelled = false;
  finished = false;
  /** This executor was declared dead while running it: nothing more is written for it. */
  stale = false;
  /** The run's streamed output, from its first chunk on (undefined while it streams nothing). */
  outputs: RunOutputs | undefined;
  /** Continued from an earlier process: chunks may already be persisted (their indexes continue). */
  resumed = false;
  /** This process has submitted sub-runs under it (ended elsewhere, it cancels those still open). */
  createdSubRuns = false;
  private cursor = 0;
  /** Per item, how many runs/submit each step attempt has made (implicit subflowKeys). */
  private readonly submits = new StepCallCounter();
  /** Per item, how many inputs/await each step attempt has made (each call gets its own answer). */
  readonly inputCalls = new StepCallCounter();
  /** Per item executing here, its execution: marked when the claim that brought it is abandoned. */
  private readonly executions = new Map<number, ItemExecution>();
  private buffer: ItemRecord[] = [];
  private exhausted = false;
  /** A page of pending items is being read. */
  private loading = false;
  private remaining: number;

  constructor(
    readonly record: RunRecord,
    readonly flow: LoadedFlow,
    private readonly runner: ItemRunner,
    private resumeItems: ItemRecord[] = [],
    /**
     * A shared store: this process executes only the items it claimed (`add`), the run's
     * concurrency is enforced by the claims, and the store ends the run with its last result.
     */
    readonly claimed = false,
  ) {
    this.forkRedo = record.forkOf ? downstreamSteps(flow, record.forkOf.fromStep) : undefined;
    const c = record.items;
    this.remaining = c.total - c.success - c.failed - c.cancelled;
    this.failedItems = c.failed;
  }

  get runId(): string { return this.record.runId; }
  get limit(): number { return this.claimed ? Infinity : this.record.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY; }
  /** Items not started yet (the queue depth of metrics); claimed items start at once. */
  get pendingItems(): number { return this.claimed ? 0 : Math.max(0, this.remaining - this.inFlight - this.settling); }
  /** Items that could start now if a slot were free. */
  get hasWaitingItems(): boolean { return this.resumeItems.length > 0 || (!this.claimed && (this.buffer.length > 0 || !this.exhausted)); }

  /** Claimed items: they start now. */
  add(items: readonly ItemRecord[]): void {
    this.resumeItems.push(...items);
    this.pump();
  }

  /** The item's current execution here (set when it starts). */
  execution(itemIndex: number): ItemExecution | undefined { return this.executions.get(itemIndex); }

  /**
   * The claim that brought the item rolled back: its execution stops at its next journal
   * write, writing nothing (the item is the queue's again). False if it is not executing here.
   */
  abandon(itemIndex: number): boolean {
    const execution = this.executions.get(itemIndex);
    if (execution) execution.abandoned = true;
    return execution !== undefined;
  }

  /** The 0-based count of this runs/submit among those of one step attempt of one item. */
  nextSubmit(itemIndex: number, stepId: string, attempt: number): number {
    return this.submits.next(itemIndex, stepId, attempt);
  }

  /** Starts items until the concurrency limit is reached or nothing is pending. */
  pump(): void {
    if (this.cancelled || this.finished) return;
    if (this.claimed) {
      while (this.resumeItems.length > 0) this.start(this.resumeItems.shift()!);
      return;
    }
    if (this.remaining === 0) { this.finish(); return; }
    while (this.inFlight < this.limit) {
      const item = this.next();
      if (!item) break;
      this.start(item);
    }
  }

  /** The next item to start; undefined when none is at hand (a page being read pumps again once it is). */
  private next(): ItemRecord | undefined {
    if (this.resumeItems.length > 0) return this.resumeItems.shift();
    if (this.buffer.length === 0 && !this.exhausted) this.load();
    return this.buffer.shift();
  }

  private load(): void {
    if (this.loading) return;
    this.loading = true;
    this.runner.loadPending(this.runId, this.cursor, PAGE).then((page) => {
      this.loading = false;
      if (page.length < PAGE) this.exhausted = true;
      if (page.length > 0) this.cursor = page[page.length - 1].itemIndex + 1;
      this.buffer.push(...page);
      this.pump();
    }, (error: Error) => {
      this.loading = false;
      this.runner.failRun(this, error);
    });
  }

  private start(item: ItemRecord): void {
    this.inFlight++;
    const execution: ItemExecution = { abandoned: false };
    this.executions.set(item.itemIndex, execution);
    const ended = () => { if (this.executions.get(item.itemIndex) === execution) this.executions.delete(item.itemIndex); };
    const abandoned = (error?: unknown) => execution.abandoned || error instanceof AbandonedItem;
    const release = () => { if (this.claimed) this.runner.itemReleased?.(this, item.itemIndex); };
    // A fresh item starts at once (its first write joins this turn's commit); one with a journal reads it first.
    const needsPrior = (this.claimed ? (item.attempt ?? 1) > 1 : item.status !== 'pending') || this.record.forkOf;
    const result = needsPrior
      ? this.runner.priorFor(this, item).then((prior) => this.runner.runItem(this, item, prior))
      : this.runner.runItem(this, item, undefined);
    result.then((result) => {
      ended();
      this.submits.forget(item.itemIndex);
      this.inputCalls.forget(item.itemIndex);
      const committed = this.cancelled || abandoned() ? undefined : this.runner.finishItem(this, item.itemIndex, result);
      // The item no longer executes once its result is queued: its slot goes to the next item
      // now, so that item's first journal write joins this result's group commit (one commit
      // per turn, not one turn per item). The run still ends only after the commit (remaining).
      this.inFlight--;
      this.settled();
      if (!committed) { this.remaining--; release(); this.pump(); return; }
      this.settling++;
      this.pump();
      committed.then(() => {
        this.settling--;
        this.remaining--;
        release();
        this.pump();
      }, (error: Error) => {
        this.settling--;
        release();
        if (abandoned(error)) this.pump(); else this.runner.failRun(this, error);
      });
    }, (error: Error) => {
      ended();
      this.inFlight--;
      this.settled();
      release();
      if (abandoned(error)) this.pump(); else this.runner.failRun(this, error);
    });
  }

  private settled(): void {
    if (this.claimed) this.runner.itemSettled?.(this);
  }

  private finish(): void {
    if (this.finished || this.inFlight > 0) return;
    this.finished = true;
    this.runner.finishRun(this);
  }
}
