import type { StateStore } from '../store/state-store.js';
import { StoreError } from '../store/store-error.js';
import { metricsSink } from '../telemetry/metrics-sink.js';
import { deferred } from './deferred.js';
import type { Deferred } from './deferred.js';

const DEFER_SYNC = { deferSync: true };

/** Told when a run's writes could not be committed (its waiters are rejected too). */
export type RunWriteFailure = (runId: string, error: Error) => void;

/**
 * Batches store writes into one transaction per event-loop turn ("group commit"), so
 * durability costs one commit for many items. `write` resolves only once its
 * transaction has committed (and, on a store that fsyncs, once an fsync shared with
 * other commits has covered it): callers await it before acknowledging a result, so no
 * acknowledged state is lost if the process dies. `after` callbacks (live event
 * fan-out) run after that, in order. `committed` resolves earlier, once the commit is
 * in the WAL but before its fsync: for what must survive a process kill before the
 * runtime goes on (a step attempt before its request is sent) but acknowledges nothing.
 *
 * Every write names the run it belongs to, so a failing commit hurts only its cause:
 * - one run's data (a value too deep to serialise, an item that is gone): the group is
 *   committed again run by run; the runs whose writes fail are reported to `onRunFailure`
 *   and their waiters rejected, the others commit as if nothing happened;
 * - the store itself (StoreError: full disk, I/O error, read-only file): every run of
 *   the group is failed and `error` says why until a later commit succeeds, so commits
 *   resume by themselves once the cause is gone.
 */
export class GroupCommit {
  private ops: Array<() => void> = [];
  /** The run of each op (parallel to `ops`). */
  private opRuns: string[] = [];
  private afters: Array<() => void> = [];
  private afterRuns: string[] = [];
  /** Per run: settles when the queued ops commit and are synced (one promise per run and commit, shared by its writes). */
  private pending = new Map<string, Deferred<void>>();
  /** Per run: settles when the queued ops commit, before the fsync (see `committed`). */
  private pendingCommit = new Map<string, Deferred<void>>();
  private scheduled = false;
  private storageFailure: Error | undefined;

  constructor(
    private readonly state: StateStore,
    private readonly describeStore: string,
    private readonly onRunFailure: RunWriteFailure = () => undefined,
  ) {}

  /** Queues `op` (a write of run `runId`) for the next commit; the promise settles when that commit does. */
  write(runId: string, op: () => void, after?: () => void): Promise<void> {
    this.post(runId, op, after);
    return waiter(this.pending, runId).promise;
  }

  /**
   * Queues `op`; the promise settles once its commit is in the WAL, which a process kill
   * keeps, without waiting for the fsync that a power cut needs (`after` still waits).
   */
  committed(runId: string, op: () => void, after?: () => void): Promise<void> {
    this.post(runId, op, after);
    return waiter(this.pendingCommit, runId).promise;
  }

  /** Queues `op` without waiting for it (it still commits in order with the rest). */
  post(runId: string, op: () => void, after?: () => void): void {
    this.ops.push(op);
    this.opRuns.push(runId);
    if (after) { this.afters.push(after); this.afterRuns.push(runId); }
    this.schedule();
  }

  /** Commits everything queued now (used before reads that must see it, and at close). */
  flush(): void {
    this.scheduled = false;
    if (this.ops.length === 0) return;
    const { ops, opRuns, afters, afterRuns, pending, pendingCommit } = this;
    this.ops = []; this.opRuns = []; this.afters = []; this.afterRuns = [];
    this.pending = new Map(); this.pendingCommit = new Map();
    let failed: Map<string, Error> | undefined;
    this.storageFailure = undefined;
    // Commit latency (transaction + the fsync covering it), only when metrics are served.
    const sink = metricsSink();
    const started = sink ? performance.now() : 0;
    try {
      // Committed now (a process kill loses none of it); on a store that fsyncs, it is
      // acknowledged only once the shared fsync that covers it is done. An op that throws
      // on its run's data fails that run; the rest of the group commits.
      this.state.transaction(() => {
        for (let i = 0; i < ops.length; i++) {
          try {
            ops[i]();
          } catch (error) {
            if (error instanceof StoreError) throw error;
            (failed ??= new Map()).set(opRuns[i], this.dataError(opRuns[i], error));
          }
        }
      }, DEFER_SYNC);
    } catch (error) {
      // The commit itself failed (and was rolled back): the store, or data only found at commit.
      failed = error instanceof StoreError
        ? new Map(opRuns.map((runId) => [runId, this.storageError(error)]))
        : this.commitEachRun(ops, opRuns);
    }
    let synced: Promise<void> | undefined;
    try {
      synced = this.state.synced();
    } catch (error) {
      synced = Promise.reject(error as Error);
    }
    if (failed) this.reject(failed, pending, pendingCommit);
    for (const [, d] of pendingCommit) d.resolve();
    const acknowledge = (): void => {
      sink?.storeCommit((performance.now() - started) / 1000);
      for (const [, d] of pending) d.resolve();
      for (let i = 0; i < afters.length; i++) if (!failed?.has(afterRuns[i])) afters[i]();
    };
    if (!synced) acknowledge();
    else {
      synced.then(acknowledge, (error: Error) => {
        const failure = this.storageError(error, 'sync');
        this.reject(new Map([...pending.keys()].map((runId) => [runId, failure])), pending);
      });
    }
  }

  /** Records a failure of the store itself (until a commit succeeds again) and returns it. */
  private storageError(error: Error, what = 'write'): Error {
    this.storageFailure = new Error(`store ${this.describeStore}: ${what} failed: ${error.message}`, { cause: error });
    return this.storageFailure;
  }

  private dataError(runId: string, error: unknown): Error {
    return new Error(`store ${this.describeStore}: could not record run ${runId}: ${describe(error)}`, { cause: error });
  }

  /**
   * After a group failed at commit on data (rolled back whole): each run's writes in a transaction of their own.
   * Returns the runs whose writes failed, with an error naming the run.
   */
  private commitEachRun(ops: Array<() => void>, opRuns: string[]): Map<string, Error> {
    const byRun = new Map<string, Array<() => void>>();
    for (let i = 0; i < ops.length; i++) {
      let list = byRun.get(opRuns[i]);
      if (!list) byRun.set(opRuns[i], (list = []));
      list.push(ops[i]);
    }
    const failed = new Map<string, Error>();
    for (const [runId, list] of byRun) {
      try {
        this.state.transaction(() => { for (const op of list) op(); }, DEFER_SYNC);
      } catch (error) {
        failed.set(runId, error instanceof StoreError ? this.storageError(error) : this.dataError(runId, error));
      }
    }
    return failed;
  }

  private reject(failed: Map<string, Error>, ...waiting: Array<Map<string, Deferred<void>>>): void {
    for (const map of waiting) {
      for (const [runId, d] of map) {
        const error = failed.get(runId);
        if (error) { d.reject(error); map.delete(runId); }
      }
    }
    for (const [runId, error] of failed) this.onRunFailure(runId, error);
  }

  /** The storage failure that made the last commit fail (full disk, read-only file), until a commit succeeds again. */
  get error(): Error | undefined { return this.storageFailure; }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}

function waiter(map: Map<string, Deferred<void>>, runId: string): Deferred<void> {
  let d = map.get(runId);
  if (!d) map.set(runId, (d = deferred()));
  return d;
}

function describe(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  // JSON.stringify of a value nested thousands deep: say what it means for the user.
  if (error instanceof RangeError && /call stack/i.test(message)) return `a value is nested too deeply to store (${message})`;
  return message;
}
