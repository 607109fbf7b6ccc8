import type { StateStore } from '../store/state-store.js';
import { deferred } from './deferred.js';
import type { Deferred } from './deferred.js';

const DEFER_SYNC = { deferSync: true };

/**
 * Batches store writes into one transaction per event-loop turn ("group commit"), so
 * durability costs one commit for many items. `write` resolves only once its
 * transaction has committed (and, on a store that fsyncs, once an fsync shared with
 * other commits has covered it): callers await it before acknowledging a result, so no
 * acknowledged state is lost if the process dies. `after` callbacks (live event
 * fan-out) run after that, in order. `committed` resolves earlier, once the commit is
 * in the WAL but before its fsync: for what must survive a process kill before the
 * runtime goes on (a step attempt before its request is sent) but acknowledges nothing.
 */
export class GroupCommit {
  private ops: Array<() => void> = [];
  private afters: Array<() => void> = [];
  /** Settles when the queued ops commit and are synced: one promise per commit, shared by all its writes. */
  private pending: Deferred<void> | undefined;
  /** Settles when the queued ops commit, before the fsync (see `committed`). */
  private pendingCommit: Deferred<void> | undefined;
  private scheduled = false;
  private failed: Error | undefined;

  constructor(private readonly state: StateStore, private readonly describeStore: string) {}

  /** Queues `op` for the next commit; the promise settles when that commit does. */
  write(op: () => void, after?: () => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.post(op, after);
    // One promise per commit rather than per write (two per item on the hot path).
    return (this.pending ??= deferred()).promise;
  }

  /**
   * Queues `op`; the promise settles once its commit is in the WAL, which a process kill
   * keeps, without waiting for the fsync that a power cut needs (`after` still waits).
   */
  committed(op: () => void, after?: () => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.post(op, after);
    return (this.pendingCommit ??= deferred()).promise;
  }

  /** Queues `op` without waiting for it (it still commits in order with the rest). */
  post(op: () => void, after?: () => void): void {
    if (this.failed) return;
    this.ops.push(op);
    if (after) this.afters.push(after);
    this.schedule();
  }

  /** Commits everything queued now (used before reads that must see it, and at close). */
  flush(): void {
    this.scheduled = false;
    if (this.ops.length === 0) return;
    const ops = this.ops; const afters = this.afters; const pending = this.pending; const pendingCommit = this.pendingCommit;
    this.ops = []; this.afters = []; this.pending = undefined; this.pendingCommit = undefined;
    let synced: Promise<void> | undefined;
    try {
      // Committed now (a process kill loses none of it); on a store that fsyncs, it is
      // acknowledged only once the shared fsync that covers it is done.
      this.state.transaction(() => { for (const op of ops) op(); }, DEFER_SYNC);
      synced = this.state.synced();
    } catch (error) {
      this.fail(error as Error, pending, pendingCommit);
      return;
    }
    pendingCommit?.resolve();
    const acknowledge = (): void => {
      pending?.resolve();
      for (const a of afters) a();
    };
    if (!synced) acknowledge();
    else synced.then(acknowledge, (error: Error) => this.fail(error, pending));
  }

  private fail(e: Error, ...waiting: Array<Deferred<void> | undefined>): void {
    this.failed ??= new Error(`store ${this.describeStore}: write failed: ${e.message}`, { cause: e });
    for (const w of waiting) w?.reject(this.failed);
  }

  /** The error that stopped all writes (full disk, read-only file), if any. */
  get error(): Error | undefined { return this.failed; }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
