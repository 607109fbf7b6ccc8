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
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private scheduled = false;
  private failed: Error | undefined;

  constructor(private readonly state: StateStore, private readonly describeStore: string) {}

  /** Queues `op` for the next commit; the promise settles when that commit does. */
  write(op: () => void, after?: () => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.ops.push(op);
    if (after) this.afters.push(after);
    this.schedule();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
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
    const ops = this.ops; const afters = this.afters; const waiters = this.waiters;
    this.ops = []; this.afters = []; this.waiters = [];
    try {
      this.state.transaction(() => { for (const op of ops) op(); });
    } catch (error) {
      const e = error as Error;
      this.failed = new Error(`store ${this.describeStore}: write failed: ${e.message}`, { cause: e });
      for (const w of waiters) w.reject(this.failed);
      return;
    }
    for (const w of waiters) w.resolve();
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
