import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import Database from 'better-sqlite3';
import { normalizeBlobId } from '../../protocol/index.js';
import type { BlobId, BlobType, FlowError, FlowResult } from '../../protocol/index.js';
import type { BlobStore, FlowSummary, StoredBlob } from './blob-store.js';
import { prepareBlob } from './blob-values.js';
import { ParentRunEnded } from './parent-run-ended.js';
import { mayTakeOver } from './run-ownership.js';
import { checkStoreFile, migrate } from './sqlite-migrations.js';
import { RowStatements, toItemRecord, toRunEvent, toRunRecord, toStepRecord } from './sqlite-rows.js';
import type { PackedEvent, PluckStatement, Row, Statement } from './sqlite-rows.js';
import type {
  ItemRecord, ItemState, ListRunsFilter, OpenRunState, RunEvent, RunOwner, RunRecord, StateStore, StepAnswer, StepRecord, StepState, Store,
  TerminalRunState,
} from './state-store.js';
import { StoreError } from './store-error.js';
import { WalSync } from './wal-sync.js';

export interface SqliteStoreOptions {
  /** The database file (its directory is created), or `:memory:`. */
  path: string;
  /**
   * `full` (default): every commit is fsynced before it counts as durable, so what was
   * acknowledged survives a power cut or OS crash too. The store does that fsync itself
   * (fdatasync of the WAL; SQLite runs with synchronous=NORMAL): at once for an ordinary
   * `transaction`, exactly as synchronous=FULL would, and on a libuv thread for a
   * `deferSync` one, shared by every commit waiting for it (`synced()`), so the group
   * commits of a running batch do not stop the event loop for the disk.
   * `normal`: synchronous=NORMAL and no fsync of ours. A commit is in the WAL file (the
   * OS has it) when `transaction` returns, so it survives the process being killed; a
   * power cut may lose the last commits (their steps then run again), never corrupt the file.
   */
  durability?: 'normal' | 'full';
  /** How long a write waits for another process's lock before failing (default 5000). */
  busyTimeoutMs?: number;
}

const SQLITE_HEADER = 'SQLite format 3\u0000';
/** Slots of a run's item counters, in the order of the addCounters statement. */
const COUNTER_SLOT: Readonly<Record<string, number>> = { pending: 0, running: 1, paused: 2, success: 3, failed: 4, cancelled: 5 };
const COUNTERS = 6;
const FINISHED: ReadonlySet<string> = new Set(['success', 'failed', 'cancelled']);
/** Run keys remembered at most (a lookup by the runs table's unique id index is cheap anyway). */
const RUN_KEY_CACHE = 10_000;
/**
 * Pages the WAL may grow to before a commit checkpoints it into the database (SQLite's
 * default is 1000, about 4 MB). A checkpoint fsyncs, and a page rewritten by many commits
 * is copied once per checkpoint. Durability is unchanged (the WAL is synced before each
 * checkpoint); journal_size_limit still truncates the file after a big run.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10000;

/** An item status change waiting in the open transaction (see flushItems). */
interface ItemChange { status: ItemState; resultJson: string | null; at: string | null; seq: number | null }
interface PendingItems { runId: string; changes: Map<number, ItemChange> }

/**
 * Blobs and run state in one SQLite file (better-sqlite3). Every statement is prepared
 * once; callers group writes with `transaction` so many items cost one commit.
 * Store failures (full disk, read-only or corrupt file, lock timeouts) are thrown as
 * StoreErrors naming the file; other errors are the caller's and pass through.
 *
 * Inside a transaction the hot-path writes (item status changes, step starts and
 * finishes, events) are buffered and written at its end, or before anything reads what
 * they change, as a few multi-row statements: a group commit of a batch run then costs a
 * handful of statements rather than eight per item.
 */
export class SqliteStore implements BlobStore, StateStore, Store {
  readonly location: string;
  /** See SqliteStoreOptions; `normal` for an in-memory database, which has no file to sync. */
  readonly durability: 'normal' | 'full';
  readonly blobs: BlobStore = this;
  readonly state: StateStore = this;

  private readonly db: Database.Database;
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly tx: (fn: () => unknown) => unknown;
  /** Transactions open on this connection (0: autocommit). */
  private depth = 0;
  /** Run id → the integer key its items, steps and events are stored under. */
  private readonly runKeys = new Map<string, number>();
  /** Item status changes of the open transaction per run key, the last one per item (flushItems). */
  private readonly pendingItems = new Map<number, PendingItems>();
  private readonly updateItemRows: RowStatements;
  private readonly insertItemRows: RowStatements;
  /** Step starts and finishes of the open transaction, 8 values each, applied in order as multi-row upserts. */
  private pendingSteps: unknown[] = [];
  private readonly upsertStepRows: RowStatements;
  /**
   * Events of the open transaction per run key, written as one event_batches row per run.
   * Seqs count per run: each run's next one is read from its newest batch once per
   * transaction (the write lock, BEGIN IMMEDIATE, keeps other processes out until commit).
   * The event_seq table of schema v3 (one global counter) is no longer used.
   */
  private readonly pendingEvents = new Map<number, PackedEvent[]>();
  private nextSeqs = new Map<number, number>();
  /** Item counter changes of the open transaction per run key (slots: COUNTER_SLOT): one runs UPDATE per run. */
  private readonly counterDeltas = new Map<number, number[]>();
  /** The next completion seq per run key, read once per transaction (the write lock keeps it ours). */
  private readonly nextCompletion = new Map<number, number>();
  private readonly listItemsByStatuses = new Map<string, Statement>();
  /**
   * Per run key, whether the run is unfinished, as read once in the open transaction: a
   * terminal run's writes are dropped (see StateStore). Valid only under the write lock,
   * so cleared when the outermost transaction ends.
   */
  private readonly openRuns = new Map<number, boolean>();
  /** Owners that claimed runs through this connection: released on close. */
  private readonly owners = new Set<string>();
  private closed = false;
  /** `full` durability on a file: this store fsyncs the WAL itself (see SqliteStoreOptions). */
  private readonly walSync: WalSync | undefined;

  constructor(options: SqliteStoreOptions) {
    const inMemory = options.path === ':memory:';
    this.location = inMemory ? 'sqlite::memory:' : resolve(options.path);
    if (!inMemory) {
      createPrivately(this.location);
      checkHeader(this.location);
    }
    let db: Database.Database;
    try {
      db = new Database(inMemory ? ':memory:' : this.location, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (error) {
      throw toStoreError(this.location, error, 'open');
    }
    try {
      checkStoreFile(db, this.location); // before any write: a foreign file stays untouched
      db.pragma('journal_mode = WAL');
      // NORMAL in both modes: in WAL mode it still syncs the WAL before each checkpoint and
      // the database after it; `full` adds an fsync of the WAL per commit (WalSync).
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -16000'); // KiB: keeps a big run's item pages in memory
      db.pragma('journal_size_limit = 67108864'); // shrink the WAL back after a big run
      db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      migrate(db);
      this.s = prepareStatements(db);
    } catch (error) {
      db.close();
      throw toStoreError(this.location, error, 'open');
    }
    this.db = db;
    // One UPDATE for many items: each value tuple is (item_index, status, result, at, seq).
    // RETURNING gives every item's previous status (prev_status is set from the old row) for the counters.
    this.updateItemRows = new RowStatements(db, 5, 64, (values) => `WITH v (idx, status, result, at, seq) AS (VALUES ${values})
      UPDATE items SET prev_status = items.status, status = v.status, result_json = v.result, completed_at = v.at, completion_seq = v.seq
      FROM v WHERE items.run_key = ? AND items.item_index = v.idx RETURNING items.item_index AS idx, items.prev_status AS prev`);
    this.insertItemRows = new RowStatements(db, 3, 200, (values) => `INSERT INTO items (run_key, item_index, input_json, status)
      SELECT column1, column2, column3, 'pending' FROM (VALUES ${values})`);
    // Rows are applied in order, so a start and a finish of one step in one batch end as
    // the separate statements would: a start (state running) restarts the row, a finish
    // keeps its started_at.
    this.upsertStepRows = new RowStatements(db, 8, 64, (values) => `INSERT INTO steps
        (run_key, item_index, step_id, attempt, state, result_json, started_at, finished_at) VALUES ${values}
      ON CONFLICT (run_key, item_index, step_id) DO UPDATE SET attempt = excluded.attempt, state = excluded.state,
        result_json = excluded.result_json,
        started_at = CASE WHEN excluded.state = 'running' THEN excluded.started_at ELSE steps.started_at END,
        finished_at = excluded.finished_at, prompt_json = NULL`);
    // BEGIN IMMEDIATE: a group commit takes the write lock up front (waiting busy_timeout for
    // another process), rather than failing with SQLITE_BUSY when a read turns into a write.
    this.tx = db.transaction((fn: () => unknown) => this.inTransaction(fn)).immediate;
    this.durability = inMemory || options.durability === 'normal' ? 'normal' : 'full';
    if (this.durability === 'full') this.walSync = new WalSync(`${this.location}-wal`, this.location);
  }

  /** A PRAGMA on this connection, for diagnostics and tests (e.g. `journal_mode`, `max_page_count = 64`). */
  pragma(source: string): unknown {
    return this.guard(() => this.db.pragma(source, { simple: true }));
  }

  transaction<T>(fn: () => T, options?: { deferSync?: boolean }): T {
    let result: T;
    try {
      // Buffered writes belong to the enclosing level: write them there, before a savepoint
      // that may be rolled back.
      if (this.depth > 0) this.flushPending();
      result = this.tx(fn) as T; // nested calls become savepoints (better-sqlite3)
    } catch (error) {
      throw toStoreError(this.location, error);
    }
    if (this.depth === 0) {
      if (options?.deferSync) this.walSync?.deferred();
      else this.walSync?.now();
    }
    return result;
  }

  synced(): Promise<void> | undefined {
    return this.walSync?.synced();
  }

  /** One write outside any transaction (autocommit), durable when it returns. */
  private autocommit<T>(fn: () => T): T {
    const result = this.guard(fn);
    if (this.depth === 0) this.walSync?.now();
    return result;
  }

  private inTransaction(fn: () => unknown): unknown {
    const outermost = this.depth++ === 0;
    const seqMark = outermost ? undefined : new Map(this.nextSeqs);
    try {
      const result = fn();
      if (outermost) this.flushPending();
      return result;
    } catch (error) {
      // This level is rolled back (savepoint or whole transaction), and everything still
      // buffered was appended at this level or in levels merged into it: drop it too.
      this.dropPending();
      this.nextSeqs = seqMark ?? new Map();
      this.nextCompletion.clear(); // re-read: the rolled-back level may have used some
      this.runKeys.clear(); // a run created at this level is gone, and its key may be reused
      this.openRuns.clear();
      throw error;
    } finally {
      this.depth--;
      if (outermost) {
        this.dropPending();
        this.nextSeqs.clear(); // another process may append before our next transaction
        this.nextCompletion.clear();
        this.openRuns.clear(); // another process may end a run before our next transaction
      }
    }
  }

  private dropPending(): void {
    this.pendingItems.clear();
    this.pendingSteps.length = 0;
    this.pendingEvents.clear();
    this.counterDeltas.clear();
  }

  /** Writes everything buffered by this transaction level (items first: the counters follow from them). */
  private flushPending(): void {
    this.flushItems();
    this.flushSteps();
    this.flushCounters();
    this.flushEvents();
  }

  /**
   * Applies the buffered item changes, one multi-row UPDATE per run and 64 items, and
   * counts each item's move from the status the row had to the one it gets.
   */
  private flushItems(): void {
    if (this.pendingItems.size === 0) return;
    for (const [key, { runId, changes }] of this.pendingItems) {
      const values: unknown[] = [];
      for (const [index, c] of changes) values.push(index, c.status, c.resultJson, c.at, c.seq);
      const rows = this.updateItemRows.run(values, [key]);
      for (const row of rows) {
        const to = changes.get(row.idx as number)!.status;
        this.count(key, row.prev as string, to);
        // A finished item opened again: the next completion seq is MAX + 1 again.
        if (FINISHED.has(row.prev as string) && !FINISHED.has(to)) this.nextCompletion.delete(key);
      }
      if (rows.length < changes.size) {
        const missing = [...changes.keys()].find((index) => this.s.getItem.get(key, index) === undefined);
        this.pendingItems.clear();
        throw new Error(`unknown item ${missing} of run ${runId}`);
      }
    }
    this.pendingItems.clear();
  }

  private flushSteps(): void {
    this.upsertStepRows.run(this.pendingSteps);
    this.pendingSteps.length = 0;
  }

  private flushCounters(): void {
    if (this.counterDeltas.size === 0) return;
    for (const [key, d] of this.counterDeltas) this.s.addCounters.run(d[0], d[1], d[2], d[3], d[4], d[5], key);
    this.counterDeltas.clear();
  }

  private flushEvents(): void {
    if (this.pendingEvents.size === 0) return;
    for (const [key, events] of this.pendingEvents) {
      this.s.insertEventBatch.run(key, events[0][0], events[events.length - 1][0], JSON.stringify(events));
    }
    this.pendingEvents.clear();
  }

  /** An item of the run went from `from` to `to` (statuses). */
  private count(key: number, from: string, to: string, n = 1): void {
    if (from === to) return;
    let d = this.counterDeltas.get(key);
    if (!d) { d = new Array<number>(COUNTERS).fill(0); this.counterDeltas.set(key, d); }
    d[COUNTER_SLOT[from]] -= n;
    d[COUNTER_SLOT[to]] += n;
  }

  /** Runs `fn` in the open transaction, or in one of its own (buffered writes are applied at its end). */
  private write<T>(fn: () => T): T {
    return this.depth > 0 ? this.guard(fn) : this.transaction(fn);
  }

  /** Reads inside a transaction see its buffered item changes and counters. */
  private read<T>(fn: () => T): T {
    return this.guard(() => {
      if (this.depth > 0) { this.flushItems(); this.flushCounters(); }
      return fn();
    });
  }

  /** The integer key of a run's items, steps and events; undefined for an unknown run. */
  private keyOf(runId: string): number | undefined {
    let key = this.runKeys.get(runId);
    if (key === undefined) {
      key = this.guard(() => this.s.runKey.get(runId)) as number | undefined;
      if (key === undefined) return undefined;
      // A long-lived server touches ever more runs: start over rather than grow without end.
      if (this.runKeys.size >= RUN_KEY_CACHE) this.runKeys.clear();
      this.runKeys.set(runId, key);
    }
    return key;
  }

  private keyOfKnown(runId: string): number {
    const key = this.keyOf(runId);
    if (key === undefined) throw new Error(`unknown run ${runId}`);
    return key;
  }

  /** The run's key if it is unfinished; undefined if it is terminal (its writes are no-ops). Inside a transaction only. */
  private openKey(runId: string): number | undefined {
    const key = this.keyOfKnown(runId);
    let open = this.openRuns.get(key);
    if (open === undefined) {
      open = !FINISHED.has(this.s.runStatus.get(key) as string);
      this.openRuns.set(key, open);
    }
    return open ? key : undefined;
  }

  // ---- blobs ------------------------------------------------------------------------

  putBlob(data: unknown, type: BlobType): BlobId {
    const p = prepareBlob(data, type);
    try {
      const now = new Date().toISOString();
      if (p.type === 'binary') {
        const packed = encode(p.bytes);
        this.s.insertBlob.run(p.id, p.type, Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength), null, null, now);
      } else if (this.s.insertBlob.run(p.id, p.type, p.text, p.name ?? null, p.description ?? null, now).changes === 0 && p.type === 'flow') {
        // The same JSON stored as `data` earlier becomes a flow now: listable and runnable.
        this.s.upgradeToFlow.run(p.name ?? null, p.description ?? null, now, p.id);
      }
      if (this.depth === 0) this.walSync?.now();
      return p.id;
    } catch (error) {
      throw toStoreError(this.location, error);
    }
  }

  getBlob(id: string): StoredBlob | undefined {
    const blobId = normalizeBlobId(id);
    if (!blobId) return undefined;
    const row = this.guard(() => this.s.getBlob.get(blobId));
    if (!row) return undefined;
    const type = row.type as BlobType;
    const data = type === 'binary' ? decode(row.data as Uint8Array) : JSON.parse(row.data as string);
    return { id: blobId, type, data };
  }

  listFlows(): FlowSummary[] {
    return this.guard(() => this.s.listFlows.all()).map((r) => ({
      flowId: r.id as BlobId,
      createdAt: r.created_at as string,
      ...(r.name !== null ? { name: r.name as string } : {}),
      ...(r.description !== null ? { description: r.description as string } : {}),
    }));
  }

  // ---- runs -------------------------------------------------------------------------

  createRun(run: RunRecord): void {
    this.transaction(() => {
      const parentKey = run.parentRunId === undefined ? undefined : this.s.runKey.get(run.parentRunId);
      const parentStatus = parentKey === undefined ? undefined : this.s.runStatus.get(parentKey) as string;
      if (parentStatus !== undefined && FINISHED.has(parentStatus)) throw new ParentRunEnded(run.parentRunId!, parentStatus);
      try {
        this.s.insertRun.run({
          id: run.runId, flow_id: run.flowId, flow_name: run.flowName ?? null, flow_label: run.flowLabel ?? null,
          status: run.status, created_at: run.createdAt, completed_at: run.completedAt ?? null, error_json: json(run.error),
          parent_run_id: run.parentRunId ?? null, parent_item_index: run.parentItemIndex ?? null, parent_step_id: run.parentStepId ?? null,
          subflow_key: run.subflowKey ?? null, root_run_id: run.rootRunId, depth: run.depth, max_concurrency: run.maxConcurrency ?? null,
          fork_of_run_id: run.forkOf?.runId ?? null, fork_from_step: run.forkOf?.fromStep ?? null,
          config_id: run.configId ?? null, working_directory: run.workingDirectory ?? null,
        });
      } catch (error) {
        if (isConstraint(error)) throw new Error(`run ${run.runId} already exists`, { cause: error });
        throw error;
      }
      // Counters start at zero whatever the record says: addItems and the item methods keep them.
      if (run.overrides !== undefined || run.variables !== undefined) {
        this.s.insertRunParams.run(run.runId, json(run.overrides), json(run.variables));
      }
    });
  }

  addItems(runId: string, startIndex: number, inputs: readonly unknown[]): void {
    this.transaction(() => {
      const key = this.keyOfKnown(runId);
      this.s.addItemCounts.run(inputs.length, inputs.length, key);
      const values: unknown[] = [];
      for (let i = 0; i < inputs.length; i++) values.push(key, startIndex + i, JSON.stringify(inputs[i]) ?? 'null');
      try {
        this.insertItemRows.run(values);
      } catch (error) {
        if (!isConstraint(error)) throw error;
        const taken = inputs.findIndex((_, i) => this.s.getItem.get(key, startIndex + i) !== undefined);
        throw new Error(`item ${startIndex + taken} of run ${runId} already exists`, { cause: error });
      }
    });
  }

  getRun(runId: string): RunRecord | undefined {
    const row = this.read(() => this.s.getRun.get(runId));
    return row && toRunRecord(row);
  }

  listRuns(filter: ListRunsFilter = {}): RunRecord[] {
    const { status, parentRunId, flowId, flowName, offset = 0, limit = -1 } = filter;
    const rows = this.read(() => this.s.listRuns.all({
      status: status ?? null,
      flow_id: flowId ?? null,
      flow_name: flowName ?? null,
      parent_mode: parentRunId === undefined ? 0 : parentRunId === null ? 1 : 2,
      parent: parentRunId ?? null,
      limit,
      offset,
    }));
    return rows.map(toRunRecord);
  }

  listUnfinishedRuns(): RunRecord[] {
    return this.read(() => this.s.listUnfinishedRuns.all()).map(toRunRecord);
  }

  findSubRun(parentRunId: string, subflowKey: string): RunRecord | undefined {
    const row = this.read(() => this.s.findSubRun.get(parentRunId, subflowKey));
    return row && toRunRecord(row);
  }

  setRunStatus(runId: string, status: OpenRunState): void {
    this.autocommit(() => {
      // Conditional: a terminal run keeps its status.
      if (this.s.setOpenRunStatus.run(status, runId).changes === 0 && this.s.runKey.get(runId) === undefined) throw new Error(`unknown run ${runId}`);
    });
  }

  terminate(runId: string, status: TerminalRunState, at: string, error?: FlowError): RunEvent | undefined {
    return this.write(() => {
      const key = this.openKey(runId);
      if (key === undefined) return undefined;
      this.cancelItems(runId, at);
      this.s.terminateRun.run(status, at, json(error), key);
      this.openRuns.set(key, false);
      const event: RunEvent = { seq: 0, runId, type: 'run_completed', at, data: { status } };
      event.seq = this.bufferEvent(key, event);
      return event;
    });
  }

  purgeRun(runId: string): void {
    this.transaction(() => {
      const key = this.keyOfKnown(runId);
      // A finished run keeps its status; an unfinished one ends as cancelled.
      this.terminate(runId, 'cancelled', new Date().toISOString());
      this.flushPending();
      this.s.deleteItems.run(key);
      this.nextCompletion.delete(key);
      this.s.deleteSteps.run(key);
      this.s.deleteEventBatches.run(key); // a purged run is terminal: it gets no events again
    });
  }

  // ---- items ------------------------------------------------------------------------

  setItemStatus(runId: string, itemIndex: number, status: 'pending' | 'running' | 'paused'): void {
    this.write(() => this.changeItem(runId, itemIndex, { status, resultJson: null, at: null, seq: null }));
  }

  finishItem(runId: string, itemIndex: number, result: FlowResult, completedAt: string): void {
    const status = result.outcome === 'success' ? 'success' : 'failed';
    const resultJson = JSON.stringify(result);
    this.write(() => {
      const key = this.keyOf(runId);
      if (key === undefined) throw new Error(`unknown item ${itemIndex} of run ${runId}`);
      if (this.openKey(runId) === undefined) return;
      const seq = this.nextCompletion.get(key) ?? (this.s.maxCompletionSeq.get(key) as number) + 1;
      this.nextCompletion.set(key, seq + 1);
      this.changeItem(runId, itemIndex, { status, resultJson, at: completedAt, seq }, key);
    });
  }

  /** Buffers an item change (the last one per item wins; the counters follow at flushItems). */
  private changeItem(runId: string, itemIndex: number, change: ItemChange, key = this.keyOf(runId)): void {
    if (key === undefined) throw new Error(`unknown item ${itemIndex} of run ${runId}`);
    if (this.openKey(runId) === undefined) return;
    let pending = this.pendingItems.get(key);
    if (!pending) { pending = { runId, changes: new Map() }; this.pendingItems.set(key, pending); }
    pending.changes.set(itemIndex, change);
  }

  cancelItems(runId: string, completedAt: string): void {
    this.write(() => {
      const key = this.openKey(runId);
      if (key === undefined) return;
      this.flushItems();
      for (const { status, n } of this.s.countOpenItems.all(key) as Array<{ status: string; n: number }>) this.count(key, status, 'cancelled', n);
      this.s.cancelItems.run({ run: key, at: completedAt });
      this.nextCompletion.delete(key);
    });
  }

  getItem(runId: string, itemIndex: number): ItemRecord | undefined {
    const key = this.keyOf(runId);
    const row = key === undefined ? undefined : this.read(() => this.s.getItem.get(key, itemIndex));
    return row && toItemRecord(runId, row);
  }

  listItems(runId: string, opts: { fromIndex?: number; limit?: number; statuses?: ItemState[] } = {}): ItemRecord[] {
    const { fromIndex = 0, limit = -1, statuses } = opts;
    const key = this.keyOf(runId);
    if (key === undefined || (statuses && statuses.length === 0)) return [];
    if (statuses?.length === 1 && statuses[0] === 'pending') {
      // The run manager's next page of items to start: two columns, as arrays (a third of the cost of full rows).
      const rows = this.read(() => this.s.pendingItems.all(key, fromIndex, limit)) as Array<[number, string]>;
      return rows.map(([itemIndex, input]) => ({ runId, itemIndex, status: 'pending', input: JSON.parse(input) }));
    }
    const stmt = statuses ? this.itemsWithStatuses(statuses) : this.s.listItems;
    return this.read(() => stmt.all(key, fromIndex, ...(statuses ?? []), limit)).map((row) => toItemRecord(runId, row));
  }

  listResults(runId: string, order: 'byIndex' | 'byCompletion', opts: { offset?: number; limit?: number } = {}): ItemRecord[] {
    const key = this.keyOf(runId);
    if (key === undefined) return [];
    const stmt = order === 'byCompletion' ? this.s.resultsByCompletion : this.s.resultsByIndex;
    return this.read(() => stmt.all(key, opts.limit ?? -1, opts.offset ?? 0)).map((row) => toItemRecord(runId, row));
  }

  // ---- step journal -----------------------------------------------------------------

  startStep(runId: string, itemIndex: number, stepId: string, attempt: number, at: string): void {
    this.write(() => {
      const key = this.openKey(runId);
      if (key !== undefined) this.pendingSteps.push(key, itemIndex, stepId, attempt, 'running', null, at, null);
    });
  }

  finishStep(runId: string, itemIndex: number, stepId: string, attempt: number, result: FlowResult, at: string): void {
    const state: StepState = result.outcome === 'success' ? 'success' : 'failed';
    const resultJson = JSON.stringify(result);
    this.write(() => {
      const key = this.openKey(runId);
      if (key !== undefined) this.pendingSteps.push(key, itemIndex, stepId, attempt, state, resultJson, at, at);
    });
  }

  awaitStepInput(runId: string, itemIndex: number, stepId: string, prompt: { prompt: string; schema?: unknown }, at: string): void {
    const promptJson = JSON.stringify(prompt);
    this.write(() => {
      const key = this.openKey(runId);
      if (key === undefined) return;
      this.flushSteps(); // in order with the buffered starts and finishes
      this.s.awaitStepInput.run(key, itemIndex, stepId, at, promptJson);
    });
  }

  answerStepInput(runId: string, itemIndex: number, stepId: string, n: number, value: unknown): void {
    this.write(() => {
      const key = this.openKey(runId);
      if (key === undefined) return;
      this.flushSteps();
      const prev = this.s.stepAnswers.get(key, itemIndex, stepId) as string | null | undefined;
      if (prev === undefined) return; // no such step
      const answers = [...(prev ? (JSON.parse(prev) as StepAnswer[]).filter((a) => a.n !== n) : []), { n, value }];
      this.s.setStepAnswers.run(JSON.stringify(answers), key, itemIndex, stepId);
    });
  }

  listSteps(runId: string, itemIndex?: number): StepRecord[] {
    const key = this.keyOf(runId);
    if (key === undefined) return [];
    const rows = this.guard(() => {
      this.flushSteps(); // inside a transaction: see its own steps
      return itemIndex === undefined ? this.s.listSteps.all(key) : this.s.listItemSteps.all(key, itemIndex);
    });
    return rows.map((row) => toStepRecord(runId, row));
  }

  // ---- events -----------------------------------------------------------------------

  appendEvent(event: Omit<RunEvent, 'seq'>): number {
    if (this.depth === 0) return this.transaction(() => this.appendEvent(event));
    const key = this.openKey(event.runId);
    return key === undefined ? 0 : this.bufferEvent(key, event);
  }

  private bufferEvent(key: number, event: Omit<RunEvent, 'seq'>): number {
    const dataJson = event.data === undefined ? null : JSON.stringify(event.data);
    const seq = this.nextSeqs.get(key) ?? (this.guard(() => this.s.lastEventSeq.get(key)) as number) + 1;
    this.nextSeqs.set(key, seq + 1);
    const packed: PackedEvent = [seq, event.type, event.at, event.itemIndex ?? null, event.stepId ?? null, event.attempt ?? null, dataJson];
    const batch = this.pendingEvents.get(key);
    if (batch) batch.push(packed);
    else this.pendingEvents.set(key, [packed]);
    return seq;
  }

  listEvents(runId: string, sinceSeq = 0, limit = -1): RunEvent[] {
    const key = this.keyOf(runId);
    if (key === undefined) return [];
    return this.guard(() => {
      this.flushEvents(); // inside a transaction: see its own events
      const out: RunEvent[] = [];
      for (const json of this.s.listEventBatches.iterate({ run: key, since: sinceSeq }) as Iterable<string>) {
        for (const packed of JSON.parse(json) as PackedEvent[]) {
          if (packed[0] <= sinceSeq) continue;
          if (out.length === limit) return out;
          out.push(toRunEvent(runId, packed));
        }
      }
      return out;
    });
  }

  // ---- ownership --------------------------------------------------------------------

  claimRun(runId: string, owner: RunOwner): boolean {
    return this.autocommit(() => {
      const now = new Date().toISOString();
      // Each write below is atomic under SQLite's write lock; the update is a
      // compare-and-swap on the holder we saw, so two claimants never both win.
      for (let attempt = 0; attempt < 3; attempt++) {
        const holder = this.s.getOwner.get(runId);
        let won: boolean;
        if (!holder) {
          won = this.s.insertOwner.run(runId, owner.id, owner.pid, owner.host, now, owner.started ?? null).changes === 1;
        } else {
          if (!mayTakeOver(ownerOfRow(holder), owner)) return false;
          won = this.s.takeOwner.run(owner.id, owner.pid, owner.host, now, owner.started ?? null, runId, holder.owner_id).changes === 1;
        }
        if (won) {
          this.owners.add(owner.id);
          return true;
        }
      }
      return false;
    });
  }

  releaseRuns(ownerId: string): void {
    this.autocommit(() => this.s.releaseOwner.run(ownerId));
    this.owners.delete(ownerId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      for (const owner of this.owners) this.s.releaseOwner.run(owner);
    } catch {
      // e.g. a full disk: the claims stay, and are taken over once this pid is gone.
    }
    this.db.close(); // checkpoints the WAL into the database and syncs both
    this.walSync?.close();
  }

  // ---- helpers ----------------------------------------------------------------------

  /** Runs one statement group, naming the store in environment failures. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw toStoreError(this.location, error);
    }
  }

  private itemsWithStatuses(statuses: readonly ItemState[]): Statement {
    const key = statuses.join(',');
    let stmt = this.listItemsByStatuses.get(key);
    if (!stmt) {
      stmt = this.db.prepare<unknown[], Row>(`${ITEM_COLUMNS} WHERE run_key = ? AND item_index >= ? AND status IN (${statuses.map(() => '?').join(', ')})
        ORDER BY item_index LIMIT ?`);
      this.listItemsByStatuses.set(key, stmt);
    }
    return stmt;
  }
}

const RUN_COLUMNS = 'SELECT r.*, p.overrides_json, p.variables_json FROM runs r LEFT JOIN run_params p ON p.run_id = r.id';
const ITEM_COLUMNS = 'SELECT item_index, status, input_json, result_json, completed_at, completion_seq FROM items';
const STEP_COLUMNS = 'SELECT item_index, step_id, attempt, state, result_json, started_at, finished_at, prompt_json, answers_json FROM steps';

/** The store's fixed statements, prepared once per connection. Items, steps and events are keyed by the run's integer key. */
function prepareStatements(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare<unknown[], Row>(sql);
  const pluck = (sql: string): PluckStatement => db.prepare<unknown[], unknown>(sql).pluck();
  return {
    insertBlob: p(`INSERT INTO blobs (id, type, data, name, description, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
    upgradeToFlow: p(`UPDATE blobs SET type = 'flow', name = ?, description = ?, created_at = ? WHERE id = ? AND type = 'data'`),
    getBlob: p('SELECT type, data FROM blobs WHERE id = ?'),
    listFlows: p(`SELECT id, name, description, created_at FROM blobs WHERE type = 'flow' ORDER BY created_at DESC, rowid DESC`),

    insertRun: p(`INSERT INTO runs (id, flow_id, flow_name, flow_label, status, created_at, completed_at, error_json,
        parent_run_id, parent_item_index, parent_step_id, subflow_key, root_run_id, depth, max_concurrency, fork_of_run_id, fork_from_step,
        config_id, working_directory)
      VALUES (@id, @flow_id, @flow_name, @flow_label, @status, @created_at, @completed_at, @error_json,
        @parent_run_id, @parent_item_index, @parent_step_id, @subflow_key, @root_run_id, @depth, @max_concurrency, @fork_of_run_id, @fork_from_step,
        @config_id, @working_directory)`),
    insertRunParams: p('INSERT INTO run_params (run_id, overrides_json, variables_json) VALUES (?, ?, ?)'),
    runKey: pluck('SELECT run_key FROM runs WHERE id = ?'),
    getRun: p(`${RUN_COLUMNS} WHERE r.id = ?`),
    // Newest first = most recently created (run_key), whatever createdAt the caller chose.
    listRuns: p(`${RUN_COLUMNS} WHERE (@status IS NULL OR r.status = @status)
        AND (@flow_id IS NULL OR r.flow_id = @flow_id) AND (@flow_name IS NULL OR r.flow_name = @flow_name)
        AND (@parent_mode = 0 OR (@parent_mode = 1 AND r.parent_run_id IS NULL) OR (@parent_mode = 2 AND r.parent_run_id = @parent))
      ORDER BY r.run_key DESC LIMIT @limit OFFSET @offset`),
    // Oldest first: a parent is resumed before the sub-runs it will re-attach.
    listUnfinishedRuns: p(`${RUN_COLUMNS} WHERE r.status IN ('pending', 'running', 'paused') ORDER BY r.run_key`),
    findSubRun: p(`${RUN_COLUMNS} WHERE r.parent_run_id = ? AND r.subflow_key = ? ORDER BY r.run_key DESC LIMIT 1`),
    runStatus: pluck('SELECT status FROM runs WHERE run_key = ?'),
    setOpenRunStatus: p(`UPDATE runs SET status = ?, completed_at = NULL, error_json = NULL
      WHERE id = ? AND status IN ('pending', 'running', 'paused')`),
    terminateRun: p('UPDATE runs SET status = ?, completed_at = ?, error_json = ? WHERE run_key = ?'),
    deleteItems: p('DELETE FROM items WHERE run_key = ?'),
    deleteSteps: p('DELETE FROM steps WHERE run_key = ?'),
    deleteEventBatches: p('DELETE FROM event_batches WHERE run_key = ?'),

    addItemCounts: p('UPDATE runs SET items_total = items_total + ?, items_pending = items_pending + ? WHERE run_key = ?'),
    maxCompletionSeq: pluck('SELECT COALESCE(MAX(completion_seq), 0) FROM items WHERE run_key = ? AND completion_seq IS NOT NULL'),
    countOpenItems: p(`SELECT status, COUNT(*) AS n FROM items WHERE run_key = ? AND status IN ('pending', 'running', 'paused') GROUP BY status`),
    addCounters: p(`UPDATE runs SET items_pending = items_pending + ?, items_running = items_running + ?, items_paused = items_paused + ?,
        items_success = items_success + ?, items_failed = items_failed + ?, items_cancelled = items_cancelled + ? WHERE run_key = ?`),
    // Open items get consecutive completion seqs in index order.
    cancelItems: p(`UPDATE items SET status = 'cancelled', completed_at = @at, completion_seq = prev.seq + todo.n
      FROM (SELECT item_index, row_number() OVER (ORDER BY item_index) AS n FROM items
              WHERE run_key = @run AND status IN ('pending', 'running', 'paused')) AS todo,
           (SELECT COALESCE(MAX(completion_seq), 0) AS seq FROM items WHERE run_key = @run AND completion_seq IS NOT NULL) AS prev
      WHERE items.run_key = @run AND items.item_index = todo.item_index`),
    getItem: p(`${ITEM_COLUMNS} WHERE run_key = ? AND item_index = ?`),
    listItems: p(`${ITEM_COLUMNS} WHERE run_key = ? AND item_index >= ? ORDER BY item_index LIMIT ?`),
    pendingItems: db.prepare<unknown[], unknown[]>(`SELECT item_index, input_json FROM items WHERE run_key = ? AND item_index >= ? AND status = 'pending'
      ORDER BY item_index LIMIT ?`).raw(),
    // Finished = has a completion seq; by status here so the primary key (index order) is used.
    resultsByIndex: p(`${ITEM_COLUMNS} WHERE run_key = ? AND status IN ('success', 'failed', 'cancelled')
      ORDER BY item_index LIMIT ? OFFSET ?`),
    resultsByCompletion: p(`${ITEM_COLUMNS} WHERE run_key = ? AND completion_seq IS NOT NULL ORDER BY completion_seq LIMIT ? OFFSET ?`),

    awaitStepInput: p(`INSERT INTO steps (run_key, item_index, step_id, attempt, state, started_at, prompt_json)
        VALUES (?, ?, ?, 1, 'awaiting_input', ?, ?)
      ON CONFLICT (run_key, item_index, step_id) DO UPDATE SET state = 'awaiting_input', result_json = NULL, finished_at = NULL,
        prompt_json = excluded.prompt_json`),
    stepAnswers: pluck('SELECT answers_json FROM steps WHERE run_key = ? AND item_index = ? AND step_id = ?'),
    setStepAnswers: p('UPDATE steps SET answers_json = ? WHERE run_key = ? AND item_index = ? AND step_id = ?'),
    listItemSteps: p(`${STEP_COLUMNS} WHERE run_key = ? AND item_index = ? ORDER BY step_id`),
    listSteps: p(`${STEP_COLUMNS} WHERE run_key = ? ORDER BY item_index, step_id`),

    lastEventSeq: pluck('SELECT COALESCE((SELECT last_seq FROM event_batches WHERE run_key = ? ORDER BY first_seq DESC LIMIT 1), 0)'),
    insertEventBatch: p('INSERT INTO event_batches (run_key, first_seq, last_seq, events_json) VALUES (?, ?, ?, ?)'),
    // From the batch holding seq @since (batches of a run never overlap) on, in seq order.
    listEventBatches: pluck(`SELECT events_json FROM event_batches WHERE run_key = @run AND first_seq >= COALESCE(
        (SELECT MAX(first_seq) FROM event_batches WHERE run_key = @run AND first_seq <= @since), 0) ORDER BY first_seq`),

    getOwner: p('SELECT owner_id, pid, host, process_start FROM run_owners WHERE run_id = ?'),
    insertOwner: p(`INSERT INTO run_owners (run_id, owner_id, pid, host, heartbeat_at, process_start) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id) DO NOTHING`),
    takeOwner: p('UPDATE run_owners SET owner_id = ?, pid = ?, host = ?, heartbeat_at = ?, process_start = ? WHERE run_id = ? AND owner_id = ?'),
    releaseOwner: p('DELETE FROM run_owners WHERE owner_id = ?'),
  };
}

function ownerOfRow(r: Row): RunOwner {
  return { id: r.owner_id as string, pid: r.pid as number, host: r.host as string, ...(r.process_start !== null ? { started: r.process_start as string } : {}) };
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

// ---- faults -----------------------------------------------------------------------------

function isConstraint(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('SQLITE_CONSTRAINT');
}

/** Refuses a non-empty file that is not SQLite at all, before SQLite may touch it. */
function checkHeader(location: string): void {
  let size: number;
  try {
    const stat = statSync(location);
    if (stat.isDirectory()) throw new StoreError(location, 'open', 'is a directory, not a database file.');
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // a new store
    throw error;
  }
  if (size === 0) return;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(location, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw new StoreError(location, 'corrupt',
      'is not an SQLite database (it does not start with the SQLite header); weft leaves it untouched. ' +
      'Move it away, or point the store at another file (--store / stateStore.path).');
  }
}

/** Maps SQLite's environment failures to StoreErrors naming the file; other errors pass through. */
export function toStoreError(location: string, error: unknown, during?: 'open'): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const detail = `(${code}: ${(error as Error).message})`;
  const options = { cause: error };
  if (code.startsWith('SQLITE_FULL')) {
    return new StoreError(location, 'full', `the disk is full ${detail}; this write was not saved, everything committed before it is intact. Free some space and resume.`, options);
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError(location, 'readonly', `cannot be written ${detail}; check the file's and its directory's permissions.`, options);
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StoreError(location, 'corrupt', `is corrupt or not an SQLite database ${detail}; weft leaves it untouched. Move it away, or restore it from a backup.`, options);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError(location, 'locked', `is locked by another process ${detail}.`, options);
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    return new StoreError(location, during ?? 'io', `cannot be ${during === 'open' ? 'opened' : 'read or written'} ${detail}.`, options);
  }
  return error;
}

/**
 * The store holds every input and result: its folder is made 0700 and the file 0600 before
 * SQLite opens it (SQLite gives the -wal and -shm files the database file's mode). Only
 * what this creates is restricted; an existing folder or file keeps the mode its owner chose.
 */
function createPrivately(location: string): void {
  mkdirSync(dirname(location), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(location, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
