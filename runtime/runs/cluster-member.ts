import type { ClaimedItem, ClusterStore, ExecutorInfo, StoreHint } from '../store/cluster-store.js';
import { log } from '../telemetry/logger.js';

export interface ClusterSettings {
  /** Items this process executes at once (items blocked in a wait for a sub-run or a human do not count); 0: none. */
  capacity: number;
  /** An executor whose lease is older than this is declared dead and its items run elsewhere. */
  leaseTtlMs: number;
  /** How often the lease is renewed when no commit renewed it. */
  heartbeatMs: number;
  /** How often the store is asked for work when no hint came (a backstop: hints are lost across a reconnect). */
  pollMs: number;
}

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = { capacity: 64, leaseTtlMs: 10_000, heartbeatMs: 1_000, pollMs: 250 };

/** What the run manager does for the member: run claimed items, stop everything when fenced, react to hints. */
export interface ClusterHost {
  /** Starts claimed items; resolves with the runs it cannot execute here (their items are given back). */
  dispatch(items: ClaimedItem[]): Promise<Array<{ runId: string; itemIndexes: number[]; reason: string }>>;
  /** This executor was declared dead: every item it executes is abandoned, nothing more is written for them. */
  fenced(): void;
  hint(hint: StoreHint): void;
}

/**
 * This process as one executor of a shared store: renews its lease, sweeps dead
 * executors, and claims pending items whenever it has room (on a hint that there is
 * work, after items finish, and on a slow poll), never more than `capacity` at once.
 */
export class ClusterMember {
  /** Items claimed and executing, not counting those blocked in a wait. */
  private busy = 0;
  private claiming = false;
  private again = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** Runs this process cannot execute (config, routes): not claimed again until the time given. */
  private readonly excluded = new Map<string, number>();
  /** A heartbeat failed (the server unreachable): the next sweep only re-arms, as every lease may look stale then. */
  private unsure = false;
  private offHints: (() => void) | undefined;
  private rejoining = false;

  constructor(
    private readonly store: ClusterStore,
    private readonly host: ClusterHost,
    private readonly info: Omit<ExecutorInfo, 'capacity'>,
    readonly settings: ClusterSettings,
  ) {}

  get executorId(): string | undefined { return this.store.executorId; }

  async start(): Promise<void> {
    const id = await this.store.join({ ...this.info, capacity: this.settings.capacity });
    log('info', { executor: id, role: this.info.role, capacity: this.settings.capacity, leaseTtlMs: this.settings.leaseTtlMs },
      `weft: joined the cluster as executor ${id} (${this.info.role}, capacity ${this.settings.capacity})`);
    this.offHints = this.store.onHint((hint) => {
      if (hint.kind === 'work' || hint.kind === 'reconnect') this.claimSoon();
      this.host.hint(hint);
    });
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => { void fn().catch(() => undefined); }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.settings.heartbeatMs, () => this.heartbeat());
    // Every TTL/2 (at most 2 s: a process of this host that died is seen at once), jittered so
    // that processes started together do not sweep together.
    every(Math.max(50, Math.round(Math.min(this.settings.leaseTtlMs / 2, 2_000) * (0.8 + Math.random() * 0.4))), () => this.sweep());
    every(this.settings.pollMs, async () => this.claimSoon());
  }

  /** Declares dead executors dead now (their items back in the queue); resume does this before it claims. */
  async sweep(): Promise<void> {
    if (this.stopped) return;
    if (this.unsure) { this.unsure = false; return; }
    const dead = await this.store.sweep(this.settings.leaseTtlMs);
    if (dead.length > 0) {
      log('warn', { dead }, `weft: executor${dead.length > 1 ? 's' : ''} ${dead.join(', ')} declared dead: their items run again`);
      this.claimSoon();
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    let state: 'alive' | 'fenced';
    try {
      state = await this.store.heartbeat();
    } catch {
      this.unsure = true;
      return;
    }
    if (state === 'fenced') await this.fenced();
  }

  /**
   * This executor was declared dead (a pause longer than its lease: SIGSTOP, a long GC, a
   * partition): what it executes belongs to others now. Stop it all, join again under a new id.
   */
  async fenced(executorId = this.store.executorId): Promise<void> {
    // Told once per executor id: commits in flight with the old id are refused too, after the rejoin.
    if (this.stopped || !executorId || executorId !== this.store.executorId || this.rejoining) return;
    this.rejoining = true;
    try {
      this.host.fenced();
      this.busy = 0;
      log('warn', { executor: executorId }, `weft: executor ${executorId} was declared dead while it was paused: its items run elsewhere; joining again`);
      await this.store.join({ ...this.info, capacity: this.settings.capacity });
    } finally {
      this.rejoining = false;
    }
    this.claimSoon();
  }

  /** Asks for work soon (coalesced: one claim in flight, one more queued at most). */
  claimSoon(): void {
    if (this.stopped) return;
    if (this.claiming) { this.again = true; return; }
    this.claiming = true;
    setImmediate(() => { void this.claim(); });
  }

  private async claim(): Promise<void> {
    try {
      // Capacity 0: a process that submits and waits but executes nothing.
      if (this.settings.capacity === 0) return;
      const free = this.settings.capacity - this.busy;
      // Claim when a good part of the capacity is free (one round trip for many items), or when idle.
      if (free <= 0 || (this.busy > 0 && free < Math.max(1, this.settings.capacity >> 3))) return;
      const now = Date.now();
      for (const [runId, until] of this.excluded) if (until < now) this.excluded.delete(runId);
      const items = await this.store.claim(free, new Set(this.excluded.keys()));
      if (items.length === 0) return;
      this.busy += items.length;
      for (const { runId, itemIndexes, reason } of await this.host.dispatch(items)) {
        this.busy -= itemIndexes.length;
        this.excluded.set(runId, Date.now() + 60_000);
        log('warn', { runId }, `weft: run ${runId} cannot execute here (${reason}): its items are left to other processes`);
        await this.store.release(runId, itemIndexes);
      }
      // A full claim may have left more behind.
      if (items.length === free) this.again = true;
    } catch {
      // the store is unreachable: the poll tries again
    } finally {
      this.claiming = false;
      if (this.again) { this.again = false; this.claimSoon(); }
    }
  }

  /** A claimed item finished (its result committed) or was abandoned. */
  done(): void {
    this.busy = Math.max(0, this.busy - 1);
    this.claimSoon();
  }

  /** Runs `wait` (a sub-run's end, a human's answer) without holding a slot: nesting never starves a process. */
  async blocked<T>(wait: () => Promise<T>): Promise<T> {
    this.busy--;
    this.claimSoon();
    try {
      return await wait();
    } finally {
      this.busy++;
    }
  }

  /** Stops claiming; the items it holds go back to the queue at once (a clean leave). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.offHints?.();
    await this.store.leave().catch(() => undefined);
  }
}
