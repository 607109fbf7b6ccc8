import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import Database from 'better-sqlite3';
import { normalizeBlobId } from '../../protocol/index.js';
import type { BlobId, BlobType, FlowError, FlowResult, RunState } from '../../protocol/index.js';
import type { BlobStore, FlowSummary, StoredBlob } from './blob-store.js';
import { prepareBlob } from './blob-values.js';
import { GroupSync } from './group-sync.js';
import { mayTakeOver } from './run-ownership.js';
import { checkStoreFile, migrate } from './sqlite-migrations.js';
import type {
  ItemRecord, ItemState, ListRunsFilter, RunEvent, RunEventType, RunOwner, RunRecord, StateStore, StepRecord, StepState, Store,
} from './state-store.js';
import { StoreError } from './store-error.js';

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

type Row = Record<string, unknown>;
type Statement = Database.Statement<unknown[], Row>;

const SQLITE_HEADER = 'SQLite format 3\u0000';
const EVENT_COLUMNS = 8;
/** Rows per multi-row event INSERT (8 × 64 parameters, far below SQLite's limit). */
const MAX_EVENT_ROWS = 64;
const STEP_COLUMNS_N = 8;
const MAX_STEP_ROWS = 64;
/** Slots of a run's item counters, in the order of `COUNTER_COLUMNS`. */
const COUNTER_SLOT: Readonly<Record<string, number>> = { pending: 0, running: 1, paused: 2, success: 3, failed: 4, cancelled: 5 };
const COUNTERS = 6;
/**
 * Pages the WAL may grow to before a commit checkpoints it into the database (SQLite's
 * default is 1000, about 4 MB). A checkpoint fsyncs, and a page rewritten by many commits
 * is copied once per checkpoint: with the run manager's ~30 pages per group commit the
 * default checkpointed every ~30 commits. Durability is unchanged (WAL, synchronous
 * NORMAL or FULL); journal_size_limit still truncates the file after a big run.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10000;

/**
 * Blobs and run state in one SQLite file (better-sqlite3). Every statement is prepared
 * once; callers group writes with `transaction` so many items cost one commit.
 * Store failures (full disk, read-only or corrupt file, lock timeouts) are thrown as
 * StoreErrors naming the file; other errors are the caller's and pass through.
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
  /**
   * Events appended inside a transaction, 8 columns each, written at its end as
   * multi-row INSERTs (about half the cost of one INSERT per event: the run manager
   * appends four per item). Their seqs are handed out from `nextSeq`, read once per
   * transaction: the write lock (BEGIN IMMEDIATE) keeps other processes out until commit.
   */
  private pendingEvents: unknown[] = [];
  private nextSeq = 0;
  private readonly insertEventRows = new Map<number, Statement>();
  /**
   * Step journal writes (startStep, finishStep) of the open transaction, 8 columns each,
   * written in order as multi-row upserts before the transaction ends or anything reads
   * steps (one statement instead of one per step start and finish).
   */
  private pendingSteps: unknown[] = [];
  private readonly upsertStepRows = new Map<number, Statement>();
  /**
   * Item counter changes of the open transaction per run (slots: COUNTER_SLOT), applied to
   * the runs row with one UPDATE per run before the transaction ends or anything reads
   * runs: the trigger of schema v1 rewrote the runs row on every item status change.
   */
  private counterDeltas = new Map<string, number[]>();
  /** The next completion seq per run, read once per transaction (the write lock keeps it ours). */
  private nextCompletion = new Map<string, number>();
  private readonly listItemsByStatuses = new Map<string, Statement>();
  /** Owners that claimed runs through this connection: released on close. */
  private readonly owners = new Set<string>();
  private closed = false;
  /** `full` durability on a file: this store fsyncs the WAL itself (see SqliteStoreOptions). */
  private readonly groupSync: GroupSync | undefined;
  private walFd: number | undefined;
  /** A `deferSync` transaction committed since the last sync was requested. */
  private unsynced = false;

  constructor(options: SqliteStoreOptions) {
    const inMemory = options.path === ':memory:';
    this.location = inMemory ? 'sqlite::memory:' : resolve(options.path);
    if (!inMemory) {
      mkdirSync(dirname(this.location), { recursive: true });
      checkHeader(this.location);
    }
    let db: Database.Database;
    try {
      db = new Database(this.location === 'sqlite::memory:' ? ':memory:' : this.location, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (error) {
      throw toStoreError(this.location, error, 'open');
    }
    try {
      checkStoreFile(db, this.location); // before any write: a foreign file stays untouched
      db.pragma('journal_mode = WAL');
      // NORMAL in both modes: in WAL mode it still syncs the WAL before each checkpoint and
      // the database after it; `full` adds an fsync of the WAL per commit (syncWal).
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
    // BEGIN IMMEDIATE: a group commit takes the write lock up front (waiting busy_timeout for
    // another process), rather than failing with SQLITE_BUSY when a read turns into a write.
    this.tx = db.transaction((fn: () => unknown) => this.inTransaction(fn)).immediate;
    this.durability = inMemory || options.durability === 'normal' ? 'normal' : 'full';
    if (this.durability === 'full') {
      this.groupSync = new GroupSync(() => new Promise<void>((done, fail) => {
        const fd = this.closed ? undefined : this.openWal();
        // Closed: closing checkpointed the WAL into the database and synced both.
        if (fd === undefined) { done(); return; }
        fdatasync(fd, (error) => (error ? fail(new StoreError(this.location, 'io', `cannot be synced to disk (${error.message}).`, { cause: error })) : done()));
      }));
    }
  }

  /** A PRAGMA on this connection, for diagnostics and tests (e.g. `journal_mode`, `max_page_count = 64`). */
  pragma(source: string): unknown {
    return this.guard(() => this.db.pragma(source, { simple: true }));
  }

  transaction<T>(fn: () => T, options?: { deferSync?: boolean }): T {
    let result: T;
    try {
      // Buffered events belong to the enclosing level: write them there, before a savepoint
      // that may be rolled back.
      if (this.depth > 0) this.flushPending();
      result = this.tx(fn) as T; // nested calls become savepoints (better-sqlite3)
    } catch (error) {
      throw toStoreError(this.location, error);
    }
    if (this.depth === 0) {
      if (options?.deferSync) this.unsynced = this.groupSync !== undefined;
      else this.syncWal();
    }
    return result;
  }

  synced(): Promise<void> | undefined {
    if (!this.unsynced) return this.groupSync?.idle;
    this.unsynced = false;
    return this.groupSync!.request();
  }

  /** Makes every commit so far durable now (`full`; ordinary transactions and single writes). */
  private syncWal(): void {
    if (!this.groupSync) return;
    const fd = this.openWal();
    if (fd === undefined) return;
    try {
      fdatasyncSync(fd);
    } catch (error) {
      throw new StoreError(this.location, 'io', `cannot be synced to disk (${(error as Error).message}).`, { cause: error });
    }
  }

  /** The WAL file, opened once; SQLite keeps it while any connection is open. */
  private openWal(): number | undefined {
    if (this.walFd === undefined) {
      try {
        this.walFd = openSync(`${this.location}-wal`, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // nothing written yet
        throw error;
      }
    }
    return this.walFd;
  }

  /** One write outside any transaction (autocommit), durable when it returns. */
  private autocommit<T>(fn: () => T): T {
    const result = this.guard(fn);
    if (this.depth === 0) this.syncWal();
    return result;
  }

  private inTransaction(fn: () => unknown): unknown {
    const outermost = this.depth++ === 0;
    const seqMark = this.nextSeq;
    try {
      const result = fn();
      if (outermost) this.flushPending();
      return result;
    } catch (error) {
      // This level is rolled back (savepoint or whole transaction), and everything still
      // buffered was appended at this level or in levels merged into it: drop it too.
      this.pendingEvents.length = 0;
      this.nextSeq = seqMark;
      this.pendingSteps.length = 0;
      this.counterDeltas.clear();
      this.nextCompletion.clear(); // re-read: the rolled-back level may have used some
      throw error;
    } finally {
      this.depth--;
      if (outermost) {
        this.pendingEvents = [];
        this.nextSeq = 0; // another process may append before our next transaction
        this.pendingSteps = [];
        this.counterDeltas.clear();
        this.nextCompletion.clear();
      }
    }
  }

  /** Writes everything buffered by this transaction level. */
  private flushPending(): void {
    this.flushSteps();
    this.flushCounters();
    this.flushEvents();
  }

  private flushSteps(): void {
    writeRows(this.pendingSteps, STEP_COLUMNS_N, MAX_STEP_ROWS, (n) => this.stepUpsert(n));
  }

  private stepUpsert(rows: number): Statement {
    let stmt = this.upsertStepRows.get(rows);
    if (!stmt) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      // Rows are applied in order, so a start and a finish of one step in one batch end as
      // the separate statements would: a start (state running) restarts the row, a finish
      // keeps its started_at.
      stmt = this.db.prepare<unknown[], Row>(`INSERT INTO steps (run_id, item_index, step_id, attempt, state, result_json, started_at, finished_at)
        VALUES ${values}
        ON CONFLICT (run_id, item_index, step_id) DO UPDATE SET attempt = excluded.attempt, state = excluded.state,
          result_json = excluded.result_json,
          started_at = CASE WHEN excluded.state = 'running' THEN excluded.started_at ELSE steps.started_at END,
          finished_at = excluded.finished_at, prompt_json = NULL`);
      this.upsertStepRows.set(rows, stmt);
    }
    return stmt;
  }

  private flushCounters(): void {
    if (this.counterDeltas.size === 0) return;
    for (const [runId, d] of this.counterDeltas) this.s.addCounters.run(d[0], d[1], d[2], d[3], d[4], d[5], runId);
    this.counterDeltas.clear();
  }

  /** An item of `runId` went from `from` to `to` (statuses). */
  private count(runId: string, from: string, to: string, n = 1): void {
    if (from === to) return;
    let d = this.counterDeltas.get(runId);
    if (!d) { d = new Array<number>(COUNTERS).fill(0); this.counterDeltas.set(runId, d); }
    d[COUNTER_SLOT[from]] -= n;
    d[COUNTER_SLOT[to]] += n;
  }

  /** Runs `fn` in the open transaction, or in one of its own (counters are applied at its end). */
  private write<T>(fn: () => T): T {
    return this.depth > 0 ? this.guard(fn) : this.transaction(fn);
  }

  /** Reads of runs inside a transaction see its counter changes. */
  private readRuns<T>(fn: () => T): T {
    return this.guard(() => {
      if (this.depth > 0) this.flushCounters();
      return fn();
    });
  }

  private flushEvents(): void {
    writeRows(this.pendingEvents, EVENT_COLUMNS, MAX_EVENT_ROWS, (n) => this.eventInsert(n));
  }

  private eventInsert(rows: number): Statement {
    let stmt = this.insertEventRows.get(rows);
    if (!stmt) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      stmt = this.db.prepare<unknown[], Row>(`INSERT INTO events (seq, run_id, type, at, item_index, step_id, attempt, data_json) VALUES ${values}`);
      this.insertEventRows.set(rows, stmt);
    }
    return stmt;
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
      if (this.depth === 0) this.syncWal();
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
      try {
        this.s.insertRun.run({
          id: run.runId, flow_id: run.flowId, flow_name: run.flowName ?? null, flow_label: run.flowLabel ?? null,
          status: run.status, created_at: run.createdAt, completed_at: run.completedAt ?? null, error_json: json(run.error),
          parent_run_id: run.parentRunId ?? null, parent_item_index: run.parentItemIndex ?? null, parent_step_id: run.parentStepId ?? null,
          subflow_key: run.subflowKey ?? null, root_run_id: run.rootRunId, depth: run.depth, max_concurrency: run.maxConcurrency ?? null,
          fork_of_run_id: run.forkOf?.runId ?? null, fork_from_step: run.forkOf?.fromStep ?? null,
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
      if (this.s.addItemCounts.run(inputs.length, inputs.length, runId).changes === 0) throw new Error(`unknown run ${runId}`);
      const insert = this.s.insertItem;
      let i = 0;
      try {
        for (; i < inputs.length; i++) insert.run(runId, startIndex + i, JSON.stringify(inputs[i]) ?? 'null');
      } catch (error) {
        if (isConstraint(error)) throw new Error(`item ${startIndex + i} of run ${runId} already exists`, { cause: error });
        throw error;
      }
    });
  }

  getRun(runId: string): RunRecord | undefined {
    const row = this.readRuns(() => this.s.getRun.get(runId));
    return row && toRunRecord(row);
  }

  listRuns(filter: ListRunsFilter = {}): RunRecord[] {
    const { status, parentRunId, offset = 0, limit = -1 } = filter;
    const rows = this.readRuns(() => this.s.listRuns.all({
      status: status ?? null,
      parent_mode: parentRunId === undefined ? 0 : parentRunId === null ? 1 : 2,
      parent: parentRunId ?? null,
      limit,
      offset,
    }));
    return rows.map(toRunRecord);
  }

  listUnfinishedRuns(): RunRecord[] {
    return this.readRuns(() => this.s.listUnfinishedRuns.all()).map(toRunRecord);
  }

  findSubRun(parentRunId: string, subflowKey: string): RunRecord | undefined {
    const row = this.readRuns(() => this.s.findSubRun.get(parentRunId, subflowKey));
    return row && toRunRecord(row);
  }

  setRunStatus(runId: string, status: RunState, completedAt?: string, error?: FlowError): void {
    this.autocommit(() => {
      if (this.s.setRunStatus.run(status, completedAt ?? null, json(error), runId).changes === 0) throw new Error(`unknown run ${runId}`);
    });
  }

  purgeRun(runId: string): void {
    this.transaction(() => {
      const now = new Date().toISOString();
      this.cancelItems(runId, now); // counters: open items count as cancelled, as in cancel
      this.flushSteps();
      this.s.deleteItems.run(runId);
      this.nextCompletion.delete(runId);
      this.s.deleteSteps.run(runId);
      // If this run had the newest events, keep their seq as a placeholder row (run_id ''),
      // so the next event's seq is still higher than any a stream has seen.
      this.flushEvents();
      const before = this.maxEventSeq();
      this.s.deleteEvents.run(runId);
      if (this.maxEventSeq() < before) this.s.insertSeqMark.run(before, now);
      if (this.s.purgeRun.run(now, runId).changes === 0) throw new Error(`unknown run ${runId}`);
    });
  }

  // ---- items ------------------------------------------------------------------------

  setItemStatus(runId: string, itemIndex: number, status: 'pending' | 'running' | 'paused'): void {
    this.write(() => {
      const from = this.s.setItemStatus.get(status, runId, itemIndex) as string | undefined;
      if (from === undefined) throw new Error(`unknown item ${itemIndex} of run ${runId}`);
      this.count(runId, from, status);
      // Its completion seq is cleared: the next one handed out is MAX + 1 again.
      if (from === 'success' || from === 'failed' || from === 'cancelled') this.nextCompletion.delete(runId);
    });
  }

  finishItem(runId: string, itemIndex: number, result: FlowResult, completedAt: string): void {
    const status = result.outcome === 'success' ? 'success' : 'failed';
    const resultJson = JSON.stringify(result);
    this.write(() => {
      const seq = this.nextCompletion.get(runId) ?? (this.s.maxCompletionSeq.get(runId) as number) + 1;
      const from = this.s.finishItem.get(status, resultJson, completedAt, seq, runId, itemIndex) as string | undefined;
      if (from === undefined) throw new Error(`unknown item ${itemIndex} of run ${runId}`);
      this.nextCompletion.set(runId, seq + 1);
      this.count(runId, from, status);
    });
  }

  cancelItems(runId: string, completedAt: string): void {
    this.write(() => {
      if (this.s.runExists.get(runId) === undefined) throw new Error(`unknown run ${runId}`);
      for (const { status, n } of this.s.countOpenItems.all(runId) as Array<{ status: string; n: number }>) this.count(runId, status, 'cancelled', n);
      this.s.cancelItems.run({ run: runId, at: completedAt });
      this.nextCompletion.delete(runId);
    });
  }

  getItem(runId: string, itemIndex: number): ItemRecord | undefined {
    const row = this.guard(() => this.s.getItem.get(runId, itemIndex));
    return row && toItemRecord(row);
  }

  listItems(runId: string, opts: { fromIndex?: number; limit?: number; statuses?: ItemState[] } = {}): ItemRecord[] {
    const { fromIndex = 0, limit = -1, statuses } = opts;
    if (statuses && statuses.length === 0) return [];
    const stmt = statuses ? this.itemsWithStatuses(statuses) : this.s.listItems;
    return this.guard(() => stmt.all(runId, fromIndex, ...(statuses ?? []), limit)).map(toItemRecord);
  }

  listResults(runId: string, order: 'byIndex' | 'byCompletion', opts: { offset?: number; limit?: number } = {}): ItemRecord[] {
    const stmt = order === 'byCompletion' ? this.s.resultsByCompletion : this.s.resultsByIndex;
    return this.guard(() => stmt.all(runId, opts.limit ?? -1, opts.offset ?? 0)).map(toItemRecord);
  }

  // ---- step journal -----------------------------------------------------------------

  startStep(runId: string, itemIndex: number, stepId: string, attempt: number, at: string): void {
    if (this.depth > 0) { this.pendingSteps.push(runId, itemIndex, stepId, attempt, 'running', null, at, null); return; }
    this.autocommit(() => this.s.startStep.run(runId, itemIndex, stepId, attempt, at));
  }

  finishStep(runId: string, itemIndex: number, stepId: string, attempt: number, result: FlowResult, at: string): void {
    const state: StepState = result.outcome === 'success' ? 'success' : 'failed';
    const resultJson = JSON.stringify(result);
    if (this.depth > 0) { this.pendingSteps.push(runId, itemIndex, stepId, attempt, state, resultJson, at, at); return; }
    this.autocommit(() => this.s.finishStep.run(runId, itemIndex, stepId, attempt, state, resultJson, at, at));
  }

  awaitStepInput(runId: string, itemIndex: number, stepId: string, prompt: { prompt: string; schema?: unknown }, at: string): void {
    const promptJson = JSON.stringify(prompt);
    this.autocommit(() => {
      this.flushSteps(); // in order with the buffered starts and finishes
      this.s.awaitStepInput.run(runId, itemIndex, stepId, at, promptJson);
    });
  }

  listSteps(runId: string, itemIndex?: number): StepRecord[] {
    const rows = this.guard(() => {
      this.flushSteps(); // inside a transaction: see its own steps
      return itemIndex === undefined ? this.s.listSteps.all(runId) : this.s.listItemSteps.all(runId, itemIndex);
    });
    return rows.map(toStepRecord);
  }

  // ---- events -----------------------------------------------------------------------

  appendEvent(event: Omit<RunEvent, 'seq'>): number {
    const dataJson = event.data === undefined ? null : JSON.stringify(event.data);
    if (this.depth > 0) {
      if (this.nextSeq === 0) this.nextSeq = this.guard(() => this.maxEventSeq()) + 1;
      const seq = this.nextSeq++;
      this.pendingEvents.push(seq, event.runId, event.type, event.at, event.itemIndex ?? null, event.stepId ?? null, event.attempt ?? null, dataJson);
      return seq;
    }
    return this.autocommit(() => Number(this.s.insertEvent.run(
      event.runId, event.type, event.at, event.itemIndex ?? null, event.stepId ?? null, event.attempt ?? null, dataJson,
    ).lastInsertRowid));
  }

  listEvents(runId: string, sinceSeq = 0, limit = -1): RunEvent[] {
    return this.guard(() => {
      this.flushEvents(); // inside a transaction: see its own events
      return this.s.listEvents.all(runId, sinceSeq, limit);
    }).map(toRunEvent);
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
          won = this.s.insertOwner.run(runId, owner.id, owner.pid, owner.host, now).changes === 1;
        } else {
          if (!mayTakeOver({ id: holder.owner_id as string, pid: holder.pid as number, host: holder.host as string }, owner)) return false;
          won = this.s.takeOwner.run(owner.id, owner.pid, owner.host, now, runId, holder.owner_id).changes === 1;
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
    const fd = this.walFd;
    this.walFd = undefined;
    if (fd === undefined) return;
    // A sync on a libuv thread may still use the descriptor: close it after that one.
    const busy = this.groupSync?.idle;
    if (busy) busy.then(() => closeSync(fd), () => closeSync(fd)).catch(() => {});
    else closeSync(fd);
  }

  // ---- helpers ----------------------------------------------------------------------

  private maxEventSeq(): number {
    return (this.s.maxEventSeq.get()!.seq as number | null) ?? 0;
  }

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
      stmt = this.db.prepare<unknown[], Row>(`${ITEM_COLUMNS} WHERE run_id = ? AND item_index >= ? AND status IN (${statuses.map(() => '?').join(', ')})
        ORDER BY item_index LIMIT ?`);
      this.listItemsByStatuses.set(key, stmt);
    }
    return stmt;
  }
}

const RUN_COLUMNS = 'SELECT r.*, p.overrides_json, p.variables_json FROM runs r LEFT JOIN run_params p ON p.run_id = r.id';
const ITEM_COLUMNS = 'SELECT run_id, item_index, status, input_json, result_json, completed_at, completion_seq FROM items';
const STEP_COLUMNS = 'SELECT run_id, item_index, step_id, attempt, state, result_json, started_at, finished_at, prompt_json FROM steps';

function prepareStatements(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare<unknown[], Row>(sql);
  const pluck = (sql: string): Database.Statement<unknown[], unknown> => db.prepare<unknown[], unknown>(sql).pluck();
  return {
    insertBlob: p(`INSERT INTO blobs (id, type, data, name, description, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
    upgradeToFlow: p(`UPDATE blobs SET type = 'flow', name = ?, description = ?, created_at = ? WHERE id = ? AND type = 'data'`),
    getBlob: p('SELECT type, data FROM blobs WHERE id = ?'),
    listFlows: p(`SELECT id, name, description, created_at FROM blobs WHERE type = 'flow' ORDER BY created_at DESC, rowid DESC`),

    insertRun: p(`INSERT INTO runs (id, flow_id, flow_name, flow_label, status, created_at, completed_at, error_json,
        parent_run_id, parent_item_index, parent_step_id, subflow_key, root_run_id, depth, max_concurrency, fork_of_run_id, fork_from_step)
      VALUES (@id, @flow_id, @flow_name, @flow_label, @status, @created_at, @completed_at, @error_json,
        @parent_run_id, @parent_item_index, @parent_step_id, @subflow_key, @root_run_id, @depth, @max_concurrency, @fork_of_run_id, @fork_from_step)`),
    insertRunParams: p('INSERT INTO run_params (run_id, overrides_json, variables_json) VALUES (?, ?, ?)'),
    getRun: p(`${RUN_COLUMNS} WHERE r.id = ?`),
    runExists: p('SELECT 1 AS found FROM runs WHERE id = ?'),
    // Newest first = most recently created (rowid), whatever createdAt the caller chose.
    listRuns: p(`${RUN_COLUMNS} WHERE (@status IS NULL OR r.status = @status)
        AND (@parent_mode = 0 OR (@parent_mode = 1 AND r.parent_run_id IS NULL) OR (@parent_mode = 2 AND r.parent_run_id = @parent))
      ORDER BY r.rowid DESC LIMIT @limit OFFSET @offset`),
    // Oldest first: a parent is resumed before the sub-runs it will re-attach.
    listUnfinishedRuns: p(`${RUN_COLUMNS} WHERE r.status IN ('pending', 'running', 'paused') ORDER BY r.rowid`),
    findSubRun: p(`${RUN_COLUMNS} WHERE r.parent_run_id = ? AND r.subflow_key = ? ORDER BY r.rowid DESC LIMIT 1`),
    setRunStatus: p('UPDATE runs SET status = ?, completed_at = ?, error_json = ? WHERE id = ?'),
    purgeRun: p(`UPDATE runs SET status = 'cancelled', completed_at = COALESCE(completed_at, ?) WHERE id = ?`),
    deleteItems: p('DELETE FROM items WHERE run_id = ?'),
    deleteSteps: p('DELETE FROM steps WHERE run_id = ?'),
    deleteEvents: p('DELETE FROM events WHERE run_id = ?'),

    addItemCounts: p('UPDATE runs SET items_total = items_total + ?, items_pending = items_pending + ? WHERE id = ?'),
    insertItem: p(`INSERT INTO items (run_id, item_index, status, input_json) VALUES (?, ?, 'pending', ?)`),
    // Both return the item's previous status (prev_status is set from the old row) for the counters.
    setItemStatus: pluck(`UPDATE items SET prev_status = status, status = ?, result_json = NULL, completed_at = NULL, completion_seq = NULL
      WHERE run_id = ? AND item_index = ? RETURNING prev_status`),
    finishItem: pluck(`UPDATE items SET prev_status = status, status = ?, result_json = ?, completed_at = ?, completion_seq = ?
      WHERE run_id = ? AND item_index = ? RETURNING prev_status`),
    maxCompletionSeq: pluck('SELECT COALESCE(MAX(completion_seq), 0) FROM items WHERE run_id = ? AND completion_seq IS NOT NULL'),
    countOpenItems: p(`SELECT status, COUNT(*) AS n FROM items WHERE run_id = ? AND status IN ('pending', 'running', 'paused') GROUP BY status`),
    addCounters: p(`UPDATE runs SET items_pending = items_pending + ?, items_running = items_running + ?, items_paused = items_paused + ?,
        items_success = items_success + ?, items_failed = items_failed + ?, items_cancelled = items_cancelled + ? WHERE id = ?`),
    // Open items get consecutive completion seqs in index order.
    cancelItems: p(`UPDATE items SET status = 'cancelled', completed_at = @at, completion_seq = prev.seq + todo.n
      FROM (SELECT item_index, row_number() OVER (ORDER BY item_index) AS n FROM items
              WHERE run_id = @run AND status IN ('pending', 'running', 'paused')) AS todo,
           (SELECT COALESCE(MAX(completion_seq), 0) AS seq FROM items WHERE run_id = @run AND completion_seq IS NOT NULL) AS prev
      WHERE items.run_id = @run AND items.item_index = todo.item_index`),
    getItem: p(`${ITEM_COLUMNS} WHERE run_id = ? AND item_index = ?`),
    listItems: p(`${ITEM_COLUMNS} WHERE run_id = ? AND item_index >= ? ORDER BY item_index LIMIT ?`),
    // Finished = has a completion seq; by status here so the primary key (index order) is used.
    resultsByIndex: p(`${ITEM_COLUMNS} WHERE run_id = ? AND status IN ('success', 'failed', 'cancelled')
      ORDER BY item_index LIMIT ? OFFSET ?`),
    resultsByCompletion: p(`${ITEM_COLUMNS} WHERE run_id = ? AND completion_seq IS NOT NULL ORDER BY completion_seq LIMIT ? OFFSET ?`),

    startStep: p(`INSERT INTO steps (run_id, item_index, step_id, attempt, state, started_at) VALUES (?, ?, ?, ?, 'running', ?)
      ON CONFLICT (run_id, item_index, step_id) DO UPDATE SET attempt = excluded.attempt, state = 'running', result_json = NULL,
        started_at = excluded.started_at, finished_at = NULL, prompt_json = NULL`),
    finishStep: p(`INSERT INTO steps (run_id, item_index, step_id, attempt, state, result_json, started_at, finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, item_index, step_id) DO UPDATE SET attempt = excluded.attempt, state = excluded.state,
        result_json = excluded.result_json, finished_at = excluded.finished_at, prompt_json = NULL`),
    awaitStepInput: p(`INSERT INTO steps (run_id, item_index, step_id, attempt, state, started_at, prompt_json)
        VALUES (?, ?, ?, 1, 'awaiting_input', ?, ?)
      ON CONFLICT (run_id, item_index, step_id) DO UPDATE SET state = 'awaiting_input', result_json = NULL, finished_at = NULL,
        prompt_json = excluded.prompt_json`),
    listItemSteps: p(`${STEP_COLUMNS} WHERE run_id = ? AND item_index = ? ORDER BY step_id`),
    listSteps: p(`${STEP_COLUMNS} WHERE run_id = ? ORDER BY item_index, step_id`),

    maxEventSeq: p('SELECT MAX(seq) AS seq FROM events'),
    insertSeqMark: p(`INSERT INTO events (seq, run_id, type, at) VALUES (?, '', 'purged', ?)`),
    insertEvent: p('INSERT INTO events (run_id, type, at, item_index, step_id, attempt, data_json) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    listEvents: p('SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?'),

    getOwner: p('SELECT owner_id, pid, host FROM run_owners WHERE run_id = ?'),
    insertOwner: p('INSERT INTO run_owners (run_id, owner_id, pid, host, heartbeat_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING'),
    takeOwner: p('UPDATE run_owners SET owner_id = ?, pid = ?, host = ?, heartbeat_at = ? WHERE run_id = ? AND owner_id = ?'),
    releaseOwner: p('DELETE FROM run_owners WHERE owner_id = ?'),
  };
}

// ---- rows → records ---------------------------------------------------------------------

function toRunRecord(r: Row): RunRecord {
  const run: RunRecord = {
    runId: r.id as string,
    flowId: r.flow_id as BlobId,
    status: r.status as RunState,
    createdAt: r.created_at as string,
    rootRunId: r.root_run_id as string,
    depth: r.depth as number,
    items: {
      total: r.items_total as number, pending: r.items_pending as number, running: r.items_running as number,
      paused: r.items_paused as number, success: r.items_success as number, failed: r.items_failed as number,
      cancelled: r.items_cancelled as number,
    },
  };
  if (r.flow_name !== null) run.flowName = r.flow_name as string;
  if (r.flow_label !== null) run.flowLabel = r.flow_label as string;
  if (r.completed_at !== null) run.completedAt = r.completed_at as string;
  if (r.error_json !== null) run.error = JSON.parse(r.error_json as string);
  if (r.parent_run_id !== null) run.parentRunId = r.parent_run_id as string;
  if (r.parent_item_index !== null) run.parentItemIndex = r.parent_item_index as number;
  if (r.parent_step_id !== null) run.parentStepId = r.parent_step_id as string;
  if (r.subflow_key !== null) run.subflowKey = r.subflow_key as string;
  if (r.max_concurrency !== null) run.maxConcurrency = r.max_concurrency as number;
  if (r.overrides_json != null) run.overrides = JSON.parse(r.overrides_json as string);
  if (r.variables_json != null) run.variables = JSON.parse(r.variables_json as string);
  if (r.fork_of_run_id !== null) run.forkOf = { runId: r.fork_of_run_id as string, fromStep: r.fork_from_step as string };
  return run;
}

function toItemRecord(r: Row): ItemRecord {
  const item: ItemRecord = {
    runId: r.run_id as string,
    itemIndex: r.item_index as number,
    status: r.status as ItemState,
    input: JSON.parse(r.input_json as string),
  };
  if (r.result_json !== null) item.result = JSON.parse(r.result_json as string);
  if (r.completed_at !== null) item.completedAt = r.completed_at as string;
  if (r.completion_seq !== null) item.completionSeq = r.completion_seq as number;
  return item;
}

function toStepRecord(r: Row): StepRecord {
  const step: StepRecord = {
    runId: r.run_id as string,
    itemIndex: r.item_index as number,
    stepId: r.step_id as string,
    attempt: r.attempt as number,
    state: r.state as StepState,
    startedAt: r.started_at as string,
  };
  if (r.result_json !== null) step.result = JSON.parse(r.result_json as string);
  if (r.finished_at !== null) step.finishedAt = r.finished_at as string;
  if (r.prompt_json !== null) step.prompt = JSON.parse(r.prompt_json as string);
  return step;
}

function toRunEvent(r: Row): RunEvent {
  const event: RunEvent = { seq: r.seq as number, runId: r.run_id as string, type: r.type as RunEventType, at: r.at as string };
  if (r.item_index !== null) event.itemIndex = r.item_index as number;
  if (r.step_id !== null) event.stepId = r.step_id as string;
  if (r.attempt !== null) event.attempt = r.attempt as number;
  if (r.data_json !== null) event.data = JSON.parse(r.data_json as string);
  return event;
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
 * Writes buffered rows (flattened, `columns` values each) with multi-row statements of at
 * most `maxRows` rows, in order, then empties the buffer.
 */
function writeRows(rows: unknown[], columns: number, maxRows: number, statementFor: (n: number) => Statement): void {
  const count = rows.length / columns;
  for (let done = 0; done < count;) {
    const n = Math.min(count - done, maxRows);
    statementFor(n).run(rows.slice(done * columns, (done + n) * columns));
    done += n;
  }
  rows.length = 0;
}
