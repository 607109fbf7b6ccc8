import { itemKey, type ClaimRequest, type ClaimedItem, type ClusterStore, type ExecutorInfo, type StoreHint } from '../store/cluster-store.js';
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

/** What dispatch did not start: items of runs this process cannot execute (given back), and of runs that ended meanwhile. */
/** `transient`: not the run's fault (the store failed while reading it): it is not excluded. */
export interface DispatchResult { refused: Array<{ runId: string; itemIndexes: number[]; reason: string; transient?: boolean }>; dropped: string[] }

/** What the run manager does for the member: run claimed items, stop everything when fenced, react to hints. */
export interface ClusterHost {
  /**
   * Starts claimed items (synchronously for runs it executes already, so their first
   * writes join the commit being built); resolves with those it did not start.
   */
  dispatch(items: ClaimedItem[]): Promise<DispatchResult>;
  /** A group commit is in flight or queued: it will claim in passing (see ClusterMember.claim). */
  committing(): boolean;
  /** A group commit is queued and not begun: it claims for the slots free when it begins. */
  commitComing(): boolean;
  /** Claims in a commit of its own, now (claimInCommit says how many; claimedInCommit gets them). */
  commitClaim(): Promise<void>;
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
  /** Items executing, not counting those blocked in a wait. */
  private busy = 0;
  /**
   * Items claimed and not started yet: a commit claims for the slots free when it was built,
   * and they start as soon as slots are (a slot is freed when its result is queued).
   */
  private queued: ClaimedItem[] = [];
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
  /** Per run, the items this process holds (claimed, not yet finished here): its share of the run's window. */
  private readonly held = new Map<string, number>();
  /** Every item claimed here and not yet committed or abandoned (`runId:itemIndex`): what reconcile keeps. */
  private readonly inHand = new Set<string>();

  /** A claimed item's result is committed (or it was abandoned): it is no longer in hand. */
  released(runId: string, itemIndex: number): void { this.inHand.delete(itemKey(runId, itemIndex)); }

  /** Items may be held in the store that this process does not have (see sweep). */
  private reconcileDue = false;
  /** A commit in flight claims for this process. */
  private inCommit = false;
  /** A claim was asked for while a commit was coming, which claims in passing; asked again when commits go idle. */
  private wanted = false;

  constructor(
    private readonly store: ClusterStore,
    private readonly host: ClusterHost,
    private readonly info: Omit<ExecutorInfo, 'capacity'>,
    readonly settings: ClusterSettings,
  ) {}

  get executorId(): string | undefined { return this.store.executorId; }

  async start(): Promise<void> {
    const id = await this.store.join({ ...this.info, capacity: this.settings.capacity }, this.settings.leaseTtlMs);
    log('info', { executor: id, role: this.info.role, capacity: this.settings.capacity, leaseTtlMs: this.settings.leaseTtlMs },
      `weft: joined the cluster as executor ${id} (${this.info.role}, capacity ${this.settings.capacity})`);
    this.offHints = this.store.onHint((hint) => {
      // After the server was out of reach, any answer lost meanwhile may have left items held here unknown.
      if (hint.kind === 'reconnect') this.reconcileDue = true;
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
    // A commit's outcome was lost across a server restart and counted as aborted (if it had
    // committed, items it claimed are held here by no one), or items could not be given back:
    // what the store says this executor holds and it does not have goes back to the queue. Due
    // until a reconcile succeeds (the server may still be down at the next tick).
    if (this.store.takeSuspect()) this.reconcileDue = true;
    // Not while a claim is in flight: what it took is not in hand yet.
    if (this.reconcileDue && !this.claiming && !this.inCommit) {
      const n = await this.store.reconcile(this.inHand);
      this.reconcileDue = false;
      if (n > 0) log('warn', { executor: this.executorId, items: n }, `weft: ${n} item(s) this executor held without knowing (a lost answer, a failed give-back) went back to the queue`);
    }
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
      this.queued = [];
      this.held.clear();
      this.inHand.clear();
      log('warn', { executor: executorId }, `weft: executor ${executorId} was declared dead while it was paused: its items run elsewhere; joining again`);
      await this.store.join({ ...this.info, capacity: this.settings.capacity }, this.settings.leaseTtlMs);
    } finally {
      this.rejoining = false;
    }
    this.claimSoon();
  }

  /** Asks for work soon (coalesced: one claim in flight, one more queued at most). */
  claimSoon(): void {
    // A commit not begun yet claims for what is free when it begins (a result's slot, a hint's work).
    if (this.stopped || this.host.commitComing()) return;
    if (this.claiming) { this.again = true; return; }
    this.claiming = true;
    setImmediate(() => { void this.claim(); });
  }

  /** How many items to claim now; 0 below the low-water mark. */
  private room(): number {
    // Capacity 0: a process that submits and waits but executes nothing.
    const capacity = this.settings.capacity;
    if (capacity === 0 || this.stopped) return 0;
    // No more than it can execute: a claimed item counts against its run's maxConcurrency
    // everywhere, so one held here unexecuted would idle a slot another process could use.
    const free = capacity - this.busy - this.queued.length;
    // Claim when a good part of the capacity is free (one statement for many items), or when idle.
    if (free <= 0 || (this.busy + this.queued.length > 0 && free < Math.max(1, capacity >> 3))) return 0;
    return free;
  }

  private exclusions(): ReadonlySet<string> {
    const now = Date.now();
    for (const [runId, until] of this.excluded) if (until < now) this.excluded.delete(runId);
    return new Set(this.excluded.keys());
  }

  /**
   * The claim a commit of this process makes in passing (its finished items' slots are free
   * once it commits). None while another commit's claim is in flight (the creation of a run
   * claims too): together they could exceed the capacity.
   */
  claimInCommit(): ClaimRequest | undefined {
    const max = this.room();
    if (max === 0) return undefined;
    // Asked again once commits are idle: this commit may be what a request was left to.
    if (this.inCommit) { this.wanted = true; return undefined; }
    this.inCommit = true;
    this.wanted = false;
    return { max, exclude: this.exclusions(), held: this.held };
  }

  /**
   * What a commit claimed (nothing when it failed); settles once the items are dispatched
   * (called inside the claiming transaction, their first writes join it).
   */
  claimedInCommit(items: ClaimedItem[]): Promise<void> {
    this.inCommit = false;
    return items.length > 0 ? this.take(items).catch(() => undefined) : Promise.resolve();
  }

  /**
   * Items handed over by a commit whose claim was then rolled back: those not dispatched yet
   * are dropped here; answers the others (executing, or being dispatched), which the run
   * manager stops.
   */
  abandon(items: ClaimedItem[]): ClaimedItem[] {
    const keys = new Set(items.map((i) => itemKey(i.runId, i.itemIndex)));
    const kept: ClaimedItem[] = [];
    const dropped = new Set<string>();
    for (const item of this.queued) {
      const key = itemKey(item.runId, item.itemIndex);
      if (!keys.has(key)) { kept.push(item); continue; }
      dropped.add(key);
      this.release1(item.runId);
      this.inHand.delete(key);
    }
    this.queued = kept;
    return items.filter((i) => !dropped.has(itemKey(i.runId, i.itemIndex)));
  }

  private async take(items: ClaimedItem[]): Promise<void> {
    for (const item of items) {
      this.held.set(item.runId, (this.held.get(item.runId) ?? 0) + 1);
      this.inHand.add(itemKey(item.runId, item.itemIndex));
    }
    this.queued.push(...items);
    await this.startQueued();
  }

  private release1(runId: string, n = 1): void {
    const left = (this.held.get(runId) ?? 0) - n;
    if (left > 0) this.held.set(runId, left); else this.held.delete(runId);
  }

  /** Starts queued items while slots are free. */
  private async startQueued(): Promise<void> {
    const free = this.settings.capacity - this.busy;
    if (free <= 0 || this.queued.length === 0) return;
    const batch = this.queued.splice(0, free);
    this.busy += batch.length;
    const { refused, dropped } = await this.host.dispatch(batch);
    this.busy -= dropped.length;
    for (const runId of dropped) this.release1(runId);
    for (const { runId, itemIndexes, reason, transient } of refused) {
      this.busy -= itemIndexes.length;
      this.release1(runId, itemIndexes.length);
      for (const i of itemIndexes) this.inHand.delete(itemKey(runId, i));
      if (!transient) {
        this.excluded.set(runId, Date.now() + 60_000);
        log('warn', { runId }, `weft: run ${runId} cannot execute here (${reason}): its items are left to other processes`);
      }
      // Not given back now (the store is failing): the next reconcile does it. Not awaited: a
      // dispatch may run inside the transaction that claimed them, which holds their rows.
      void this.store.release(runId, itemIndexes).catch(() => { this.reconcileDue = true; });
    }
    if (dropped.length > 0 || refused.length > 0) await this.startQueued();
  }

  /** No commit is in flight or queued any more: a claim asked for meanwhile is made now. */
  commitsIdle(): void {
    if (this.wanted) { this.wanted = false; this.claimSoon(); }
  }

  private async claim(): Promise<void> {
    try {
      // A commit not begun yet claims for what is free when it begins: nothing to ask for.
      if (this.host.commitComing()) return;
      // A commit in flight claims in passing: a claim of its own beside it would wait for that
      // commit's run locks and then see the run as it was (its window still full). Its claim
      // may precede what this request is for (a hint's new work): asked again once it is done.
      if (this.inCommit || this.host.committing()) { this.wanted = true; return; }
      if (this.room() === 0) return;
      // Every claim is made by a commit (one at a time, so they never exceed the capacity
      // together): this one claims and nothing else, its items started in its transaction.
      await this.host.commitClaim();
    } catch {
      // the store is unreachable: the poll tries again
    } finally {
      this.claiming = false;
      if (this.again) { this.again = false; this.claimSoon(); }
    }
  }

  /** A claimed item stopped executing (its result is queued for commit, or it was abandoned): its slot is free. */
  done(runId: string): void {
    this.busy = Math.max(0, this.busy - 1);
    this.release1(runId);
    void this.startQueued().catch(() => undefined);
    // While items execute, the commits of their results claim the next ones; idle, ask now.
    if (this.busy === 0 && this.queued.length === 0) this.claimSoon();
  }

  /** Runs `wait` (a sub-run's end, a human's answer) without holding a slot: nesting never starves a process. */
  async blocked<T>(wait: () => Promise<T>): Promise<T> {
    this.busy--;
    void this.startQueued().catch(() => undefined);
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
