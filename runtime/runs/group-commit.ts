import type { AsyncStateStore } from '../store/async-state-store.js';
import type { RunEvent } from '../store/state-store.js';
import { StoreBatch, type CommitReceipt, type StoreWrite } from '../store/store-batch.js';
import { StoreError } from '../store/store-error.js';
import { FencedError, itemKey, type ClaimRequest, type ClaimedItem } from '../store/cluster-store.js';
import { metricsSink } from '../telemetry/metrics-sink.js';
import { AbandonedItem } from './abandoned-item.js';
import { deferred } from './deferred.js';
import type { Deferred } from './deferred.js';

/** Told when a run's writes could not be committed (its waiters are rejected too). */
export type RunWriteFailure = (runId: string, error: Error) => void;

/** A shared store's news, told after the commit that brought it is acknowledged. */
export interface CommitHooks {
  /** Runs the store ended because their last item's result was in the commit (`run_completed` each). */
  runsEnded?(events: RunEvent[]): void;
  /** This executor was declared dead: the commit was refused and so will every later one be. */
  fenced?(error: FencedError): void;
  /**
   * How many pending items the commit should claim (a cluster); undefined or 0: none.
   */
  claimSize?(): ClaimRequest | undefined;
  /**
   * What the commit claimed (empty when it claimed nothing or failed). Called inside the
   * claiming transaction when the store can start items there (`StoreBatch.started`): the
   * promise settles once they are dispatched, and their first journal writes join that commit.
   */
  claimed?(items: ClaimedItem[]): void | Promise<void>;
  /** Items handed to `claimed` whose claim did not commit after all: they must not execute here. */
  abandoned?(items: ClaimedItem[]): void;
  /** The last commit ended and nothing is queued. */
  idle?(): void;
}

/** Writes waiting for one commit, with their waiters per run. */
interface Group {
  queue: QueuedWrites[];
  /** Per run: settles when the queued writes commit and are synced (one promise per run and commit, shared by its writes). */
  pending: Map<string, Deferred<void>>;
  /** Per run: settles when the queued writes commit, before a shared fsync (see `committed`). */
  pendingCommit: Map<string, Deferred<void>>;
}
const newGroup = (): Group => ({ queue: [], pending: new Map(), pendingCommit: new Map() });

/** Items being started inside the transaction that claimed them: their writes, kept apart. */
interface Absorbed extends Group { items: ClaimedItem[]; keys: Set<string> }

/**
 * How long a claiming transaction waits for its items to be dispatched. Items of a run new
 * to this process are dispatched after reads of their own (its record, config and flow);
 * they start after the commit instead of holding its locks.
 */
const DISPATCH_WAIT_MS = 5;

/**
 * Writes of one run queued for a group commit. `applied` learns, once they are applied,
 * the seqs of its `appendEvent`s and the `run_completed` events of its `terminate`s (in
 * order); `after` runs once they are durable (live event fan-out).
 */
export interface QueuedWrites {
  runId: string;
  /** The item the writes are about, if one: writes of an item being claimed join the claiming commit. */
  itemIndex?: number;
  writes: StoreWrite[];
  applied?: (seqs: number[], ended: Array<RunEvent | undefined>) => void;
  after?: () => void;
}

/**
 * Batches store writes into one `StoreBatch` per event-loop turn ("group commit"), so
 * durability costs one commit for many items; one batch is in flight at a time, and
 * writes queued meanwhile form the next. `write` resolves only once its batch is
 * durable (on SQLite, once an fsync shared with other commits has covered it): callers
 * await it before acknowledging a result, so no acknowledged state is lost if the
 * process dies. `after` callbacks run after that, in order. `committed` resolves
 * earlier, once the batch survives a process kill but before a shared fsync: for what
 * must survive a kill before the runtime goes on (a step attempt before its request is
 * sent) but acknowledges nothing. On a store whose commits are durable at once
 * (PostgreSQL) both are the same.
 *
 * Every write names the run it belongs to, so a failing commit hurts only its cause:
 * - one run's data (a value too deep to serialise, an item that is gone): the group is
 *   committed again run by run; the runs whose writes fail are reported to `onRunFailure`
 *   and their waiters rejected, the others commit as if nothing happened;
 * - the store itself (StoreError: full disk, I/O error, a server gone): every run of the
 *   group is failed and `error` says why until a later commit succeeds, so commits
 *   resume by themselves once the cause is gone.
 */
export class GroupCommit {
  /** What the next commit writes. */
  private next: Group = newGroup();
  /** While a commit's claimed items are being started in its transaction. */
  private absorbing: Absorbed | undefined;
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  /** The shared fsync of the latest commit, while one may be running (see `durable`). */
  private lastSync: Promise<void> | undefined;
  private storageFailure: Error | undefined;

  constructor(
    private readonly state: AsyncStateStore,
    private readonly describeStore: string,
    private readonly onRunFailure: RunWriteFailure = () => undefined,
    private readonly hooks: CommitHooks = {},
  ) {}

  /** Queues writes for the next commit; the promise settles when that commit is durable. */
  write(queued: QueuedWrites): Promise<void> {
    return waiter(this.enqueue(queued).pending, queued.runId).promise;
  }

  /** Queues writes; the promise settles once their commit survives a process kill (`after` still waits for durability). */
  committed(queued: QueuedWrites): Promise<void> {
    return waiter(this.enqueue(queued).pendingCommit, queued.runId).promise;
  }

  /** Queues writes without waiting for them (they still commit in order with the rest). */
  post(queued: QueuedWrites): void {
    this.enqueue(queued);
  }

  /** The group the writes join: the claiming commit's for an item it is starting, else the next. */
  private enqueue(queued: QueuedWrites): Group {
    const a = this.absorbing;
    if (a && queued.itemIndex !== undefined && a.keys.has(itemKey(queued.runId, queued.itemIndex))) {
      a.queue.push(queued);
      return a;
    }
    this.next.queue.push(queued);
    this.schedule();
    return this.next;
  }

  /** Commits everything queued now; settles once it is applied (before reads that must see it, and at close). Never rejects. */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.inFlight) return this.inFlight.then(() => this.flush());
    if (this.next.queue.length === 0) return Promise.resolve();
    return this.begin();
  }

  /**
   * Claims now, in a commit of its own when none is in flight or queued (the hooks' claimSize
   * says how many): an idle executor's claim, its items started in that transaction. When a
   * commit is coming, it claims in passing.
   */
  claimNow(): Promise<void> {
    return this.busy ? Promise.resolve() : this.begin();
  }

  private begin(): Promise<void> {
    const group = this.next;
    this.next = newGroup();
    const p = this.commitGroup(group).finally(() => {
      this.inFlight = undefined;
      if (this.next.queue.length > 0) this.schedule(); else this.hooks.idle?.();
    });
    this.inFlight = p;
    return p;
  }

  /** A commit is in flight or writes are queued for one. */
  get busy(): boolean { return this.inFlight !== undefined || this.next.queue.length > 0; }

  /** Writes are queued for a commit that has not begun (it asks `claimSize` when it does). */
  get coming(): boolean { return this.next.queue.length > 0; }

  /** Settles when everything queued so far is durable (rejects if its fsync failed). */
  async durable(): Promise<void> {
    await this.flush();
    await this.lastSync;
  }

  private async commitGroup(group: Group): Promise<void> {
    const { queue, pending, pendingCommit } = group;
    // Commit latency (commit + the fsync covering it), only when metrics are served.
    const sink = metricsSink();
    const started = sink ? performance.now() : 0;
    let failed: Map<string, Error> | undefined;
    const syncs: Array<Promise<void>> = [];
    let ended: RunEvent[] | undefined;
    const batch = batchOf(queue);
    const claim = this.hooks.claimSize?.();
    const claims = claim !== undefined && claim.max > 0;
    let absorbed: Absorbed | undefined;
    if (claims) {
      batch.claim = claim;
      batch.started = async (items) => {
        absorbed = await this.absorb(items);
        return absorbed.queue.flatMap((q) => q.writes);
      };
    }
    let claimed: ClaimedItem[] = [];
    try {
      const receipt = await this.state.commit(batch);
      if (absorbed && !receipt.claimed) { this.abandon(absorbed); absorbed = undefined; } // claimed by an attempt rolled back
      if (absorbed) {
        // Committed with the claim: its writes are the group's last (the receipt lists them after the others).
        queue.push(...absorbed.queue);
        join(pending, absorbed.pending);
        join(pendingCommit, absorbed.pendingCommit);
      }
      distribute(queue, receipt);
      if (receipt.synced) syncs.push(receipt.synced);
      ended = receipt.completed;
      claimed = receipt.claimed ?? [];
      this.storageFailure = undefined;
    } catch (error) {
      if (absorbed) this.abandon(absorbed);
      else if (claims) void this.hooks.claimed?.([]);
      if (error instanceof FencedError) {
        // Not the data's fault nor the store's: no run fails, this process stops executing them.
        for (const map of [pending, pendingCommit]) for (const [, d] of map) d.reject(error);
        this.hooks.fenced?.(error);
        return;
      }
      // Nothing of the group was applied: the store failed, or one run's data was refused.
      failed = error instanceof StoreError
        ? new Map(queue.map((q) => [q.runId, this.storageError(error)]))
        : await this.commitEachRun(queue, syncs, (ended ??= []));
    }
    if (failed) this.reject(failed, pending, pendingCommit);
    for (const [, d] of pendingCommit) d.resolve();
    const acknowledge = (): void => {
      sink?.storeCommit((performance.now() - started) / 1000);
      for (const [, d] of pending) d.resolve();
      for (const q of queue) if (q.after && !failed?.has(q.runId)) q.after();
      if (ended) this.hooks.runsEnded?.(ended);
      if (claims && !absorbed && !failed) void this.hooks.claimed?.(claimed);
    };
    if (syncs.length === 0) { acknowledge(); return; }
    const synced = syncs.length === 1 ? syncs[0] : Promise.all(syncs).then(() => undefined);
    this.lastSync = synced;
    synced.then(acknowledge, (error: Error) => {
      const failure = this.storageError(error, 'sync');
      this.reject(new Map([...pending.keys()].map((runId) => [runId, failure])), pending);
    }).finally(() => { if (this.lastSync === synced) this.lastSync = undefined; }).catch(() => undefined);
  }

  /**
   * Starts a commit's claimed items while its transaction is open: what they queue meanwhile
   * (their item_started and first step starts) is written by that transaction.
   */
  private async absorb(items: ClaimedItem[]): Promise<Absorbed> {
    const absorbed: Absorbed = { ...newGroup(), items, keys: new Set(items.map((i) => itemKey(i.runId, i.itemIndex))) };
    this.absorbing = absorbed;
    try {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.resolve(this.hooks.claimed?.(items)),
        new Promise((resolve) => { timer = setTimeout(resolve, DISPATCH_WAIT_MS); }),
      ]).finally(() => clearTimeout(timer));
      // Dispatched items queue their first writes in the promise jobs that follow; one turn takes them all.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.absorbing = undefined;
    }
    return absorbed;
  }

  /** The claim of these started items did not commit: they stop, writing nothing. */
  private abandon(absorbed: Absorbed): void {
    const error = new AbandonedItem();
    for (const map of [absorbed.pending, absorbed.pendingCommit]) for (const [, d] of map) d.reject(error);
    this.hooks.abandoned?.(absorbed.items);
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
   * After a group was refused on data (nothing applied): each run's writes as a batch of
   * their own. Returns the runs whose writes failed, with an error naming the run.
   */
  private async commitEachRun(queue: QueuedWrites[], syncs: Array<Promise<void>>, ended: RunEvent[]): Promise<Map<string, Error>> {
    const byRun = new Map<string, QueuedWrites[]>();
    for (const q of queue) {
      let list = byRun.get(q.runId);
      if (!list) byRun.set(q.runId, (list = []));
      list.push(q);
    }
    const failed = new Map<string, Error>();
    for (const [runId, list] of byRun) {
      try {
        const receipt = await this.state.commit(batchOf(list));
        distribute(list, receipt);
        if (receipt.synced) syncs.push(receipt.synced);
        if (receipt.completed) ended.push(...receipt.completed);
      } catch (error) {
        if (error instanceof FencedError) this.hooks.fenced?.(error);
        failed.set(runId, error instanceof StoreError ? this.storageError(error) : error instanceof FencedError ? error : this.dataError(runId, error));
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

  /** The storage failure that made the last commit fail (full disk, a server gone), until a commit succeeds again. */
  get error(): Error | undefined { return this.storageFailure; }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => { if (this.scheduled) void this.flush(); });
  }
}

function batchOf(queue: readonly QueuedWrites[]): StoreBatch {
  const batch = new StoreBatch();
  for (const q of queue) for (const w of q.writes) batch.writes.push(w);
  return batch;
}

/** Hands each queued entry its part of the receipt (seqs and ended events come in batch order). */
function distribute(queue: readonly QueuedWrites[], receipt: CommitReceipt): void {
  let s = 0;
  let e = 0;
  for (const q of queue) {
    let events = 0;
    let ends = 0;
    for (const w of q.writes) {
      if (w.op === 'appendEvent') events++;
      else if (w.op === 'terminate') ends++;
    }
    q.applied?.(receipt.seqs.slice(s, s + events), receipt.ended.slice(e, e + ends));
    s += events;
    e += ends;
  }
}

/** `into` also settles what `from` waits for. */
function join(into: Map<string, Deferred<void>>, from: Map<string, Deferred<void>>): void {
  for (const [runId, d] of from) {
    const existing = into.get(runId);
    if (existing) existing.promise.then(() => d.resolve(), (error: Error) => d.reject(error));
    else into.set(runId, d);
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
