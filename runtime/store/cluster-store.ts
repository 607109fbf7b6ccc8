import type { ItemRecord } from './state-store.js';

/** What a process says about itself when it joins: where it runs and how many items it takes at once. */
export interface ExecutorInfo {
  host: string;
  pid: number;
  /** The process's start as its kernel counts it (a reused pid is not this process). */
  started?: string;
  /** `worker`, `serve`, `run`, … (shown by `weft runs list` and the debug page). */
  role: string;
  capacity: number;
}

export type ExecutorStatus = 'alive' | 'stopping' | 'dead';

export interface ExecutorRecord extends ExecutorInfo {
  id: string;
  status: ExecutorStatus;
  startedAt: string;
  heartbeatAt: string;
  endedAt?: string;
  /** Items it holds now (running or paused). */
  holding: number;
}

/**
 * What a claim asks for: up to `max` items, none of the runs in `exclude` (this process
 * cannot execute them); `held` says how many items of each run this executor holds already,
 * so that it takes no more than its share of a run's maxConcurrency.
 */
export interface ClaimRequest { max: number; exclude: ReadonlySet<string>; held: ReadonlyMap<string, number> }

/** An item a claim took: running, held by this executor, its `attempt` counting every claim. */
export interface ClaimedItem extends ItemRecord { attempt: number }

/** One item of one run as a set key (`runId:itemIndex`): what an executor has in hand. */
export function itemKey(runId: string, itemIndex: number): string {
  return `${runId}:${itemIndex}`;
}

/**
 * Hints from other processes (PostgreSQL LISTEN/NOTIFY): never the data itself, only that
 * it is worth reading again. `reconnect`: hints may have been missed, re-read everything.
 */
export type StoreHint =
  | { kind: 'work' }
  | { kind: 'run' | 'events' | 'input'; runId: string }
  | { kind: 'reconnect' };

/** Raised by a write of an executor that has been declared dead: it must stop and join again. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(readonly executorId: string) {
    super(`executor ${executorId} was declared dead (its lease expired): its writes are refused and its items belong to others now`);
  }
}

/**
 * A store several processes share (PostgreSQL): each process is an executor holding a
 * lease; items are claimed by any live one. Once `join` has named this executor, every
 * commit of the store is fenced (refused with FencedError once the executor is declared
 * dead), item writes change only items this executor holds, and the last item's commit
 * ends its run.
 */
export interface ClusterStore {
  /** Registers a new executor and fences every later commit with it; returns its id. */
  join(info: ExecutorInfo, leaseTtlMs?: number): Promise<string>;
  readonly executorId: string | undefined;
  /** Renews the lease; `fenced` when this executor has been declared dead meanwhile. */
  heartbeat(): Promise<'alive' | 'fenced'>;
  /**
   * Declares dead the executors whose lease is older than `ttlMs` (on the database
   * clock), or whose process is gone from this host, and returns their items to the
   * queue in the same transaction; returns the ids declared dead.
   */
  sweep(ttlMs: number): Promise<string[]>;
  /** Gives items back, unexecuted, to the queue (this process cannot run them). */
  release(runId: string, itemIndexes: readonly number[]): Promise<void>;
  /**
   * True once after a commit's outcome was lost across a server restart (counted as aborted,
   * it may have committed): then `reconcile` should run.
   */
  takeSuspect(): boolean;
  /** Returns to the queue every item the store says this executor holds and `inHand` does not name (`itemKey`s); returns how many. */
  reconcile(inHand: ReadonlySet<string>): Promise<number>;
  /** Leaves cleanly: status `stopping`, every item held returned to the queue at once. */
  leave(): Promise<void>;
  listExecutors(): Promise<ExecutorRecord[]>;
  /** Per executor, how many of the run's items it holds now. */
  holders(runId: string): Promise<Array<{ executorId: string; host: string; pid: number; items: number }>>;
  /** Hints from every process sharing the store; returns an unsubscribe function. */
  onHint(listener: (hint: StoreHint) => void): () => void;
}

/** The cluster side of a state store, when it has one (PostgreSQL). */
export function clusterOf(state: object): ClusterStore | undefined {
  return (state as { cluster?: ClusterStore }).cluster;
}
