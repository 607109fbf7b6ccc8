import type { StateStore } from '../store/state-store.js';

/**
 * Batches store writes into one transaction per event-loop turn ("group commit"), so
 * durability costs one commit for many items. `write` resolves only once its
 * transaction has committed: callers await it before acknowledging a result, so no
 * acknowledged state is lost if the process dies. `after` callbacks (live event
 * fan-out) run after the commit, in order.
 */
export class GroupCommit {
  private ops: Array<() => void> = [];
  private afters: Array<() => void> = [];
  /** Settles when the queued ops commit: one promise per commit, shared by all its writes. */
  private pending: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
  private scheduled = false;
  private failed: Error | undefined;

  constructor(private readonly state: StateStore, private readonly describeStore: string) {}

  /** Queues `op` for the next commit; the promise settles when that commit does. */
  write(op: () => void, after?: () => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.ops.push(op);
    if (after) this.afters.push(after);
    this.schedule();
    // One promise per commit rather than per write (two per item on the hot path).
    if (!this.pending) {
      let resolve!: () => void; let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      this.pending = { promise, resolve, reject };
    }
    return this.pending.promise;
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
    const ops = this.ops; const afters = this.afters; const pending = this.pending;
    this.ops = []; this.afters = []; this.pending = undefined;
    try {
      this.state.transaction(() => { for (const op of ops) op(); });
    } catch (error) {
      const e = error as Error;
      this.failed = new Error(`store ${this.describeStore}: write failed: ${e.message}`, { cause: e });
      pending?.reject(this.failed);
      return;
    }
    pending?.resolve();
    for (const a of afters) a();
  }

  /** The error that stopped all writes (full disk, read-only file), if any. */
  get error(): Error | undefined { return this.failed; }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
