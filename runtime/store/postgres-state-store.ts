import type pg from 'pg';
import type { FlowResult } from '../../protocol/index.js';
import type { AsyncStateStore } from './async-state-store.js';
import { FencedError, type ClaimedItem } from './cluster-store.js';
import { PostgresCluster } from './postgres-cluster.js';
import { named } from './named-query.js';
import { ParentRunEnded } from './parent-run-ended.js';
import { mayTakeOver } from './run-ownership.js';
import { StoreError } from './store-error.js';
import type { ItemRecord, ItemState, ListRunsFilter, RunEvent, RunOwner, RunRecord, StepRecord } from './state-store.js';
import type { CommitReceipt, StoreBatch, StoreWrite } from './store-batch.js';
import { toItemRecord, toRunRecord, toStepRecord, type Row } from './sqlite-rows.js';

type Client = pg.PoolClient;
type PackedEvent = [type: string, at: string, itemIndex: number | null, stepId: string | null, attempt: number | null, data: unknown];
interface ItemChange { status: ItemState; result: FlowResult | null; at: string | null; finished: boolean }
interface EventSlot { key: number; index: number; flushed?: number }
/** What a commit tells other processes: new items to claim, runs ended, runs with new events, human answers. */
export interface CommitHints { work: boolean; runs: Set<string>; events: Set<string>; inputs: Set<string> }
const TERMINAL = new Set(['success', 'failed', 'cancelled']);
interface StepRow { attempt: number; state: string; result: FlowResult | null; startedAt: string; finishedAt: string | null }

// Columns under the names and types of SQLite's rows (JSON as text), so one set of mappers reads both.
const RUN_COLUMNS = `SELECT r.id, r.flow_id, r.flow_name, r.flow_label, r.status, r.created_at,
    r.completed_at, r.error::text AS error_json, r.parent_run_id, r.parent_item_index, r.parent_step_id,
    r.subflow_key, r.root_run_id, r.depth, r.max_concurrency, r.fork_of_run_id, r.fork_from_step, r.config_id, r.working_directory, r.affinity, r.items_total, r.items_pending,
    r.items_running, r.items_paused, r.items_success, r.items_failed, r.items_cancelled,
    p.overrides::text AS overrides_json, p.variables::text AS variables_json
  FROM weft.runs r LEFT JOIN weft.run_params p ON p.run_key = r.run_key`;
const ITEM_COLUMNS = `SELECT item_index, status, input::text AS input_json, result::text AS result_json, completed_at,
    completion_seq, owner, attempt FROM weft.items`;
const STEP_COLUMNS = `SELECT item_index, step_id, attempt, state, result::text AS result_json, started_at,
    finished_at, prompt::text AS prompt_json, answers::text AS answers_json FROM weft.steps`;
/** The open run and item states, as an SQL list. */
export const OPEN = `('pending', 'running', 'paused')`;
/**
 * In flushItems' run update ($8: a cluster): the run is sealed, open, and this change gives
 * its last item a result. Right of SET, columns are the values before the update.
 */
const ENDS = `$8 AND r.sealed AND r.status IN ${OPEN}
  AND r.items_success + d.success + r.items_failed + d.failed + r.items_cancelled + d.cancelled = r.items_total`;
/** A transaction's id and the server's start then: what outcomeOf needs to tell whether it committed. */
export interface Txid { xid: string; up: string }
/** Selects a Txid, in the round trip of a BEGIN. */
const TXID = 'SELECT txid_current()::text AS xid, pg_postmaster_start_time()::text AS up';

/**
 * Run state in PostgreSQL. A batch is one transaction on one pooled connection: item
 * changes, step rows and events are buffered while the batch is read (the last change of
 * an item or step wins, as in order) and written as one multi-row statement each, with
 * the run counters, completion seqs and per-run event seqs taken under the run row's
 * lock; writes that must see those first (a cancel, a purge, a prompt) flush them.
 */
export class PostgresStateStore implements AsyncStateStore {
  /** Run id → run key; keys never change, so this never goes stale. */
  private readonly keys = new Map<string, number>();
  /** Once this process has joined the cluster: the executor every commit is fenced with. */
  executorId: string | undefined;
  readonly cluster: PostgresCluster;

  constructor(
    private readonly pool: pg.Pool,
    private readonly location = 'postgres',
    /** How long a commit is retried while the server is unreachable (a restart, a failover). */
    private readonly retryForMs = 60_000,
  ) {
    this.cluster = new PostgresCluster(pool, this, location);
  }

  /**
   * Applies the batch in one transaction. A lost connection, a deadlock or a server
   * restart is retried with backoff for `retryForMs`: a commit whose COMMIT was sent but
   * not acknowledged is looked up by its transaction id, so it is never applied twice.
   */
  async commit(batch: StoreBatch): Promise<CommitReceipt> {
    // A claim-only batch is a commit too (an idle executor's claim, started in its transaction).
    if (batch.size === 0 && !(batch.claim && batch.claim.max > 0 && this.executorId)) return { seqs: [], ended: [] };
    const deadline = Date.now() + this.retryForMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await this.commitOnce(batch);
      } catch (error) {
        if (error instanceof FencedError) throw error;
        if (!retriable(error) || Date.now() + delay > deadline) throw storeFailure(this.location, error);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async commitOnce(batch: StoreBatch): Promise<CommitReceipt> {
    const client = await this.pool.connect();
    let xid: Txid | undefined;
    let sentCommit = false;
    let startedCalled = false;
    let failed: unknown;
    const writer = new BatchWriter(client, this);
    let receipt: CommitReceipt | undefined;
    try {
      // One round trip (a simple query, so values are inlined: a uuid this process made, integer
      // keys): the transaction, the fence (the executor must still be alive; its row lock makes
      // a sweep wait for this commit, or this commit see the sweep), its id, and the lock of the
      // batch's runs. A cluster's transaction may not sit idle longer than half a lease: a process
      // paused mid-commit (SIGSTOP, a long GC) holds its executor's row, and the sweep that must
      // declare it dead would wait for it; the server ends such a session instead.
      const id = this.executorId;
      const lock = await writer.lockStatement(batch.writes);
      const statements = ['BEGIN', ...(id ? [`UPDATE weft.executors SET heartbeat_at = now() WHERE id = '${id}' AND status = 'alive'`] : []),
        TXID, ...(lock ? [lock] : []), ...(id ? [this.clusterSettings()] : [])];
      const results = await client.query(statements.join('; ')) as unknown as pg.QueryResult[];
      if (id && results[1].rowCount === 0) throw new FencedError(id);
      xid = results[id ? 2 : 1].rows[0] as Txid;
      if (lock) writer.locked(results[id ? 3 : 2].rows as Array<{ run_key: string; status: string }>);
      await writer.write(batch.writes);
      let claimed: ClaimedItem[] = [];
      if (id && batch.claim && batch.claim.max > 0) {
        claimed = await this.cluster.claimOn(client, id, batch.claim, batch.writes.length === 0 ? 'wait' : 'skip');
        writer.claimedOpen(claimed);
        // The claimed items start now; their first step starts join this transaction (their
        // runs' rows are locked by the claim), written with the batch's steps and events.
        if (claimed.length > 0 && batch.started) {
          startedCalled = true;
          await writer.write(await batch.started(claimed));
        }
      }
      receipt = await writer.finish();
      if (claimed.length > 0) receipt.claimed = claimed;
      sentCommit = true;
      await client.query('COMMIT');
      this.committed(writer);
      return receipt;
    } catch (error) {
      failed = error;
      // The COMMIT's answer was lost: whether it happened is the server's to say.
      if (sentCommit && xid && retriable(error) && await this.outcomeOf(xid) === 'committed') {
        this.committed(writer);
        return receipt!;
      }
      // Its claim was rolled back and the items it started are abandoned by the caller: a retry does not claim.
      if (startedCalled) { batch.claim = undefined; batch.started = undefined; }
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(failed !== undefined && retriable(failed) ? (failed as Error) : undefined);
    }
  }

  /** Half the lease (cluster.join sets it): longer idle in a transaction means this process is stalled. */
  leaseTtlMs = 10_000;

  /**
   * The settings of a cluster transaction: how long it may wait on this process (see
   * commitOnce), and index scans. Its statements reach items by key (a commit's item changes
   * by (run, index); claims walk a run's items in index order from its cursor and stop at their
   * limit), but a run's items are newer than the table's statistics, which then promise a
   * handful of rows: the planner chose to scan every item of the table, or bitmap-scan and sort
   * every item from the cursor to the end of the run, once per commit. (Where no index serves a
   * statement, PostgreSQL still scans: these settings only price scans out.)
   */
  clusterSettings(): string {
    return `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(200, Math.floor(this.leaseTtlMs / 2))}; `
      + 'SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off';
  }

  private committed(writer: BatchWriter): void {
    for (const [runId, key] of writer.created) this.keys.set(runId, key);
    this.cluster.hintsOf(writer.hints);
  }

  /**
   * `committed`, `aborted`, or undefined once the server cannot tell (the transaction is too old).
   * A server that restarted since the transaction began may have lost its xid (an xid is durable
   * only once WAL naming it is flushed) and given it to another transaction since, whose status
   * txid_status would report: then it counts as aborted. (Committed before the crash but never
   * acknowledged is a window of microseconds; an xid reused after a crash is the common case,
   * and taking it for committed lost the batch's results for good.)
   */
  async outcomeOf({ xid, up }: Txid): Promise<string | undefined> {
    const deadline = Date.now() + this.retryForMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        const { rows } = await this.pool.query<{ s: string | null; same: boolean }>(
          'SELECT pg_postmaster_start_time()::text = $2 AS same, CASE WHEN pg_postmaster_start_time()::text = $2 THEN txid_status($1::bigint) ELSE \'aborted\' END AS s', [xid, up]);
        // Counted as aborted across a restart, it may in fact have committed: what it claimed
        // would then be held here unknown; the cluster reconciles (ClusterStore.reconcile).
        if (!rows[0].same) this.cluster.suspect = true;
        if (rows[0].s !== 'in progress') return rows[0].s ?? undefined;
      } catch (error) {
        if (!retriable(error) || Date.now() + delay > deadline) {
          this.cluster.suspect = true; // unknown: what it claimed may be held here by no one
          throw error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** A run's key learnt elsewhere (a claim returns its runs' keys). */
  rememberKey(runId: string, key: number): void { this.keys.set(runId, key); }

  /** A run's key if this process knows it already. */
  cachedKey(runId: string): number | undefined { return this.keys.get(runId); }

  /** The run key of `runId`, from the cache or the database; undefined when no such run. */
  async keyOf(runId: string, client: pg.Pool | Client = this.pool, created?: Map<string, number>): Promise<number | undefined> {
    const cached = this.keys.get(runId) ?? created?.get(runId);
    if (cached !== undefined) return cached;
    const { rows } = await client.query<{ run_key: string }>('SELECT run_key FROM weft.runs WHERE id = $1', [runId]);
    if (rows.length === 0) return undefined;
    const key = Number(rows[0].run_key);
    this.keys.set(runId, key);
    return key;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { rows } = await this.pool.query<Row>(`${RUN_COLUMNS} WHERE r.id = $1`, [runId]);
    return rows[0] && toRunRecord(rows[0]);
  }

  async listRuns(filter: ListRunsFilter = {}): Promise<RunRecord[]> {
    const { status, parentRunId, flowId, flowName, offset = 0, limit } = filter;
    const { rows } = await this.pool.query<Row>(`${RUN_COLUMNS}
      WHERE ($1::text IS NULL OR r.status = $1) AND ($2::int = 0 OR ($2 = 1 AND r.parent_run_id IS NULL) OR ($2 = 2 AND r.parent_run_id = $3))
        AND ($6::text IS NULL OR r.flow_id = $6) AND ($7::text IS NULL OR r.flow_name = $7)
      ORDER BY r.run_key DESC LIMIT $4 OFFSET $5`,
    [status ?? null, parentRunId === undefined ? 0 : parentRunId === null ? 1 : 2, parentRunId ?? null, limit ?? null, offset, flowId ?? null, flowName ?? null]);
    return rows.map(toRunRecord);
  }

  async listUnfinishedRuns(): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<Row>(`${RUN_COLUMNS} WHERE r.status IN ${OPEN} ORDER BY r.run_key`);
    return rows.map(toRunRecord);
  }

  async findSubRun(parentRunId: string, subflowKey: string): Promise<RunRecord | undefined> {
    const { rows } = await this.pool.query<Row>(`${RUN_COLUMNS} WHERE r.parent_run_id = $1 AND r.subflow_key = $2 ORDER BY r.run_key DESC LIMIT 1`, [parentRunId, subflowKey]);
    return rows[0] && toRunRecord(rows[0]);
  }

  async getItem(runId: string, itemIndex: number): Promise<ItemRecord | undefined> {
    const key = await this.keyOf(runId);
    if (key === undefined) return undefined;
    const { rows } = await this.pool.query<Row>(`${ITEM_COLUMNS} WHERE run_key = $1 AND item_index = $2`, [key, itemIndex]);
    return rows[0] && toItemRecord(runId, rows[0]);
  }

  async listItems(runId: string, opts: { fromIndex?: number; limit?: number; statuses?: ItemState[] } = {}): Promise<ItemRecord[]> {
    const key = await this.keyOf(runId);
    if (key === undefined || (opts.statuses && opts.statuses.length === 0)) return [];
    const { rows } = await this.pool.query<Row>(`${ITEM_COLUMNS} WHERE run_key = $1 AND item_index >= $2 AND ($3::text[] IS NULL OR status = ANY($3))
      ORDER BY item_index LIMIT $4`, [key, opts.fromIndex ?? 0, opts.statuses ?? null, opts.limit ?? null]);
    return rows.map((row) => toItemRecord(runId, row));
  }

  async listResults(runId: string, order: 'byIndex' | 'byCompletion', opts: { offset?: number; limit?: number } = {}): Promise<ItemRecord[]> {
    const key = await this.keyOf(runId);
    if (key === undefined) return [];
    const where = order === 'byCompletion' ? 'completion_seq IS NOT NULL ORDER BY completion_seq' : `status IN ('success', 'failed', 'cancelled') ORDER BY item_index`;
    const { rows } = await this.pool.query<Row>(`${ITEM_COLUMNS} WHERE run_key = $1 AND ${where} LIMIT $2 OFFSET $3`, [key, opts.limit ?? null, opts.offset ?? 0]);
    return rows.map((row) => toItemRecord(runId, row));
  }

  async listSteps(runId: string, itemIndex?: number): Promise<StepRecord[]> {
    const key = await this.keyOf(runId);
    if (key === undefined) return [];
    const { rows } = await this.pool.query<Row>(`${STEP_COLUMNS} WHERE run_key = $1 AND ($2::int IS NULL OR item_index = $2) ORDER BY item_index, step_id`, [key, itemIndex ?? null]);
    return rows.map((row) => toStepRecord(runId, row));
  }

  async listEvents(runId: string, sinceSeq = 0, limit?: number): Promise<RunEvent[]> {
    const key = await this.keyOf(runId);
    if (key === undefined) return [];
    // From the batch holding seq `sinceSeq` + 1 on (a run's batches never overlap), in seq order.
    const { rows } = await this.pool.query<{ first_seq: string; events: PackedEvent[] }>(
      'SELECT first_seq, events FROM weft.event_batches WHERE run_key = $1 AND last_seq > $2 ORDER BY first_seq', [key, sinceSeq]);
    const out: RunEvent[] = [];
    for (const row of rows) {
      const first = Number(row.first_seq);
      for (let i = 0; i < row.events.length; i++) {
        const seq = first + i;
        if (seq <= sinceSeq) continue;
        if (out.length === limit) return out;
        const [type, at, itemIndex, stepId, attempt, data] = row.events[i];
        out.push({
          seq, runId, type: type as RunEvent['type'], at,
          ...(itemIndex !== null ? { itemIndex } : {}), ...(stepId !== null ? { stepId } : {}),
          ...(attempt !== null ? { attempt } : {}), ...(data !== null ? { data: data as Record<string, unknown> } : {}),
        });
      }
    }
    return out;
  }

  async claimRun(runId: string, owner: RunOwner): Promise<boolean> {
    const key = await this.keyOf(runId);
    if (key === undefined) throw new Error(`unknown run ${runId}`);
    // A compare-and-swap on the holder seen, so two claimants never both win.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.pool.query<{ owner_id: string; pid: number; host: string; process_start: string | null }>(
        'SELECT owner_id, pid, host, process_start FROM weft.run_owners WHERE run_key = $1', [key]);
      const holder = rows[0];
      let won: boolean;
      if (!holder) {
        won = (await this.pool.query('INSERT INTO weft.run_owners (run_key, owner_id, pid, host, process_start) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [key, owner.id, owner.pid, owner.host, owner.started ?? null])).rowCount === 1;
      } else {
        const held: RunOwner = { id: holder.owner_id, pid: holder.pid, host: holder.host, ...(holder.process_start !== null ? { started: holder.process_start } : {}) };
        if (!mayTakeOver(held, owner)) return false;
        won = (await this.pool.query('UPDATE weft.run_owners SET owner_id = $1, pid = $2, host = $3, process_start = $4, heartbeat_at = now() WHERE run_key = $5 AND owner_id = $6',
          [owner.id, owner.pid, owner.host, owner.started ?? null, key, holder.owner_id])).rowCount === 1;
      }
      if (won) return true;
    }
    return false;
  }

  async releaseRuns(ownerId: string): Promise<void> {
    await this.pool.query('DELETE FROM weft.run_owners WHERE owner_id = $1', [ownerId]);
  }
}

/**
 * A commit's error as GroupCommit tells them apart: refused data (a constraint, a value
 * PostgreSQL rejects, a run that does not exist) stays as it is, so only its run fails;
 * anything else (connection lost, server shutting down, disk full) is the store failing.
 */
/**
 * Worth retrying: the connection was lost or refused, the server is restarting or shutting
 * down, too many connections, a deadlock or a serialization conflict.
 */
export function retriable(error: unknown): boolean {
  if (error instanceof FencedError || error instanceof StoreError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return /^(08|57P0[123]|25P03|40P01|40001|53300|ECONNREFUSED|ECONNRESET|ENOENT|EPIPE|ETIMEDOUT)/.test(code);
  return /connection (terminated|ended|error)|encountered a connection error|timeout exceeded when trying to connect|not queryable/i.test((error as Error)?.message ?? '');
}

function storeFailure(location: string, error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown }).code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const message = (error as Error)?.message ?? String(error);
  // Our own checks (unknown run, duplicate id) and serialising carry no code; SQLSTATE
  // classes 22, 23 and 54 are bad data, a value too large or too deep.
  if (!code && !/connection|terminated|timeout/i.test(message)) return error;
  if (sqlState && /^(22|23|54)/.test(sqlState)) return error;
  return new StoreError(location, sqlState === '53100' ? 'full' : 'unavailable', message, { cause: error });
}

/** Applies one batch inside its transaction (see PostgresStateStore). */
class BatchWriter {
  private items = new Map<number, Map<number, ItemChange>>();
  private steps = new Map<string, { key: number; itemIndex: number; stepId: string; row: StepRow }>();
  private events = new Map<number, PackedEvent[]>();
  /** Per appendEvent of the batch, in order: its run and position in that run's buffered events (none: dropped, seq 0). */
  private eventSlots: EventSlot[] = [];
  private pendingSlots: EventSlot[] = [];
  /** The run_completed event of each terminate, in order (undefined: the run had already ended). */
  private ended: Array<{ event: RunEvent; slot: EventSlot } | undefined> = [];
  /** Per run key: whether the run is unfinished, read once per batch under the run row's lock. */
  private readonly open = new Map<number, boolean>();
  /** Runs this batch creates: id → key. */
  readonly created = new Map<string, number>();
  /** What other processes are told once this batch commits. */
  readonly hints: CommitHints = { work: false, runs: new Set(), events: new Set(), inputs: new Set() };
  /** The executor this batch writes for (cluster): it changes only items it holds, and the last item ends its run. */
  private readonly me: string | undefined;
  private readonly ids = new Map<number, string>();
  /** Runs whose creation completed here: they may have no item left to finish (flushItems ends the others). */
  private readonly mayEnd = new Set<number>();
  /** Runs this batch ended because their last item finished. */
  private readonly completed: Array<{ event: RunEvent; slot: EventSlot }> = [];
  /** Runs whose creation this batch completes (their run_created is in it): created sealed. */
  private readonly sealing = new Set<string>();
  /** Per run created here, the items added to it here. */
  private readonly addedHere = new Map<number, number>();
  /** Runs some of whose items get a result in this batch. */
  private readonly resultsHere = new Set<number>();

  constructor(private readonly client: Client, private readonly store: PostgresStateStore) {
    this.me = store.executorId;
  }

  /** Applies writes, buffering the step rows and events for `finish` (it may be called again before it). */
  async write(writes: readonly StoreWrite[]): Promise<void> {
    for (const w of writes) if (w.op === 'appendEvent' && w.event.type === 'run_created') this.sealing.add(w.event.runId);
    for (const w of writes) await this.writeOne(w);
    await this.flushItems();
    if (this.me) await this.completeRuns();
  }

  /** Writes the buffered step rows and events; the receipt covers every write so far, in order. */
  async finish(): Promise<CommitReceipt> {
    await this.flushStepsAndEvents();
    for (const e of [...this.ended, ...this.completed]) if (e) e.event.seq = e.slot.flushed!;
    return {
      seqs: this.eventSlots.map((s) => s.flushed ?? 0), ended: this.ended.map((e) => e?.event),
      ...(this.completed.length > 0 ? { completed: this.completed.map((e) => e.event) } : {}),
    };
  }

  private async key(runId: string): Promise<number> {
    const key = await this.store.keyOf(runId, this.client, this.created);
    if (key === undefined) throw new Error(`unknown run ${runId}`);
    this.ids.set(key, runId);
    return key;
  }

  /**
   * The statement that locks the row of every existing run the batch writes to, in key
   * order (claims lock in that order too, so the two never deadlock): sent with BEGIN, one
   * round trip per batch instead of one per run. Keys are integers read from the store.
   */
  async lockStatement(writes: readonly StoreWrite[]): Promise<string | undefined> {
    const ids = new Set<string>();
    const creates = new Set<string>();
    for (const w of writes) {
      if (w.op === 'createRun') creates.add(w.run.runId);
      else ids.add(w.op === 'appendEvent' ? w.event.runId : w.runId);
    }
    // A run this batch creates has no row yet: not looked up (its creation locks nothing).
    for (const id of creates) ids.delete(id);
    const keys: number[] = [];
    for (const id of ids) {
      const key = await this.store.keyOf(id, this.client, this.created);
      if (key === undefined) continue; // created in this batch, or unknown (its write says so)
      this.ids.set(key, id);
      keys.push(Math.trunc(key));
    }
    if (keys.length === 0) return undefined;
    return `SELECT run_key, status FROM weft.runs WHERE run_key IN (${keys.join(', ')}) ORDER BY run_key FOR UPDATE`;
  }

  /** The runs of claimed items are open, and locked by the claim: their writes need not read them again. */
  claimedOpen(items: readonly ClaimedItem[]): void {
    for (const item of items) {
      const key = this.store.cachedKey(item.runId);
      if (key === undefined || this.open.has(key)) continue;
      this.ids.set(key, item.runId);
      this.open.set(key, true);
    }
  }

  /** What lockStatement read: which runs are open. */
  locked(rows: Array<{ run_key: string; status: string }>): void {
    for (const row of rows) this.open.set(Number(row.run_key), !TERMINAL.has(row.status));
  }

  /**
   * Runs whose every item has a result now, and whose creation is complete, end here, in
   * the commit of their last result, whichever process wrote it: failed if any item
   * failed, else success; `run_completed` follows their other events.
   */
  private async completeRuns(): Promise<void> {
    // A run created here with items, none of which got a result here, still has them all to do.
    const allToDo = (k: number) => (this.addedHere.get(k) ?? 0) > 0 && !this.resultsHere.has(k);
    const keys = [...this.mayEnd].filter((k) => this.open.get(k) !== false && !allToDo(k));
    if (keys.length === 0) return;
    const at = new Date().toISOString();
    const { rows } = await this.client.query<{ run_key: string; id: string; status: string }>(`
      UPDATE weft.runs SET status = CASE WHEN items_failed > 0 THEN 'failed' ELSE 'success' END, completed_at = $2
      WHERE run_key = ANY($1::bigint[]) AND sealed AND status IN ${OPEN}
        AND items_success + items_failed + items_cancelled = items_total
      RETURNING run_key, id, status`, [keys, at]);
    for (const row of rows) this.endedHere(row, at);
  }

  /**
   * The run's key if it is unfinished, undefined if it is terminal: a terminal run is
   * immutable, its writes are no-ops (see StateStore). The row lock holds until commit, so
   * a terminate from another process waits for this batch, or this batch for it.
   */
  private async openKey(runId: string): Promise<number | undefined> {
    const key = await this.key(runId);
    let open = this.open.get(key);
    if (open === undefined) {
      const { rows } = await this.client.query<{ status: string }>('SELECT status FROM weft.runs WHERE run_key = $1 FOR UPDATE', [key]);
      open = !TERMINAL.has(rows[0].status);
      this.open.set(key, open);
    }
    return open ? key : undefined;
  }

  /**
   * Throws ParentRunEnded if the parent of a run being created has ended. Its row is locked by
   * this batch (by the lock statement, as its sub_run_created event is in the batch, or here):
   * a cancel commits before this batch or waits for it. An unknown parent is not checked.
   */
  private async refuseIfEnded(parentRunId: string): Promise<void> {
    if (await this.store.keyOf(parentRunId, this.client, this.created) === undefined) return;
    if (await this.openKey(parentRunId) !== undefined) return;
    const { rows } = await this.client.query<{ status: string }>('SELECT status FROM weft.runs WHERE id = $1', [parentRunId]);
    throw new ParentRunEnded(parentRunId, rows[0].status);
  }

  /** A run this batch ended because its last item has a result: closed here, told to others, run_completed queued. */
  private endedHere(row: { run_key: string; id: string; status: string }, at: string): void {
    const key = Number(row.run_key);
    this.open.set(key, false);
    this.hints.runs.add(row.id);
    const event: RunEvent = { seq: 0, runId: row.id, type: 'run_completed', at, data: { status: row.status } };
    this.completed.push({ event, slot: this.bufferEvent(key, event) });
  }

  private bufferEvent(key: number, e: Omit<RunEvent, 'seq'>): EventSlot {
    let list = this.events.get(key);
    if (!list) { list = []; this.events.set(key, list); }
    const slot: EventSlot = { key, index: list.length };
    this.hints.events.add(e.runId);
    list.push([e.type, e.at, e.itemIndex ?? null, e.stepId ?? null, e.attempt ?? null, e.data ?? null]);
    this.pendingSlots.push(slot);
    return slot;
  }

  /** Ends an open run: its open items cancelled, status and time set, run_completed queued after the run's earlier events. */
  private async terminate(runId: string, status: string, at: string, error: unknown): Promise<{ event: RunEvent; slot: EventSlot } | undefined> {
    const key = await this.openKey(runId);
    if (key === undefined) return undefined;
    await this.flushItems();
    await this.cancelItems(key, at);
    await this.client.query('UPDATE weft.runs SET status = $1, completed_at = $2, error = $3 WHERE run_key = $4', [status, at, json(error), key]);
    this.open.set(key, false);
    this.hints.runs.add(runId);
    const event: RunEvent = { seq: 0, runId, type: 'run_completed', at, data: { status } };
    return { event, slot: this.bufferEvent(key, event) };
  }

  private async writeOne(w: StoreWrite): Promise<void> {
    const q = (text: string, values: unknown[]) => this.client.query(text, values);
    switch (w.op) {
      case 'createRun': {
        const r = w.run;
        if (r.parentRunId !== undefined) await this.refuseIfEnded(r.parentRunId);
        let key: number;
        try {
          const { rows } = await q(`INSERT INTO weft.runs (id, flow_id, flow_name, flow_label, status, created_at, completed_at, error,
              parent_run_id, parent_item_index, parent_step_id, subflow_key, root_run_id, depth, max_concurrency, fork_of_run_id, fork_from_step,
              config_id, working_directory, creator, affinity, sealed)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING run_key`,
          [r.runId, r.flowId, r.flowName ?? null, r.flowLabel ?? null, r.status, r.createdAt, r.completedAt ?? null, json(r.error),
            r.parentRunId ?? null, r.parentItemIndex ?? null, r.parentStepId ?? null, r.subflowKey ?? null, r.rootRunId, r.depth,
            r.maxConcurrency ?? null, r.forkOf?.runId ?? null, r.forkOf?.fromStep ?? null, r.configId ?? null, r.workingDirectory ?? null,
            // In a cluster a run is sealed by its run_created event: until then no last item may end it.
            this.me ?? null, r.affinity === 'creator' ? this.me ?? null : null, this.me === undefined || this.sealing.has(r.runId)]);
          key = Number(rows[0].run_key);
        } catch (error) {
          if ((error as { code?: string }).code === '23505') throw new Error(`run ${r.runId} already exists`, { cause: error });
          throw error;
        }
        if (r.overrides !== undefined || r.variables !== undefined) {
          await q('INSERT INTO weft.run_params (run_key, overrides, variables) VALUES ($1, $2, $3)', [key, json(r.overrides), json(r.variables)]);
        }
        // Cached by the store only once the batch commits (a rolled-back run has no key).
        this.created.set(r.runId, key);
        this.addedHere.set(key, 0);
        this.ids.set(key, r.runId);
        this.open.set(key, !TERMINAL.has(r.status));
        return;
      }
      case 'addItems': {
        const key = await this.key(w.runId);
        await this.flushItems();
        try {
          // The items and the run's counters in one statement (a data-modifying WITH always runs).
          await q(`WITH i AS (INSERT INTO weft.items (run_key, item_index, status, input)
              SELECT $1, $2 + n - 1, 'pending', input FROM unnest($3::json[]) WITH ORDINALITY AS t(input, n))
            UPDATE weft.runs SET items_total = items_total + $4, items_pending = items_pending + $4 WHERE run_key = $1`,
          [key, w.startIndex, w.inputs.map((i) => JSON.stringify(i) ?? 'null'), w.inputs.length]);
        } catch (error) {
          if ((error as { code?: string }).code === '23505') throw new Error(`an item of ${w.startIndex}..${w.startIndex + w.inputs.length - 1} of run ${w.runId} already exists`, { cause: error });
          throw error;
        }
        const here = this.addedHere.get(key);
        if (here !== undefined) this.addedHere.set(key, here + w.inputs.length);
        this.hints.work = true;
        return;
      }
      case 'setRunStatus': {
        const key = await this.openKey(w.runId);
        if (key !== undefined) await q('UPDATE weft.runs SET status = $1, completed_at = NULL, error = NULL WHERE run_key = $2', [w.status, key]);
        return;
      }
      case 'terminate': {
        this.ended.push(await this.terminate(w.runId, w.status, w.at, w.error));
        return;
      }
      case 'purgeRun': {
        // A finished run keeps its status; an unfinished one ends as cancelled.
        await this.terminate(w.runId, 'cancelled', new Date().toISOString(), undefined);
        const key = await this.key(w.runId);
        await this.flush();
        for (const table of ['items', 'steps', 'event_batches']) await q(`DELETE FROM weft.${table} WHERE run_key = $1`, [key]);
        return;
      }
      case 'setItemStatus': {
        const key = await this.openKey(w.runId);
        if (key !== undefined) this.changeItem(key, w.itemIndex, { status: w.status, result: null, at: null, finished: false });
        return;
      }
      case 'finishItem': {
        const key = await this.openKey(w.runId);
        if (key !== undefined) this.resultsHere.add(key);
        if (key !== undefined) this.changeItem(key, w.itemIndex, { status: w.result.outcome === 'success' ? 'success' : 'failed', result: w.result, at: w.completedAt, finished: true });
        return;
      }
      case 'cancelItems': {
        const key = await this.openKey(w.runId);
        if (key === undefined) return;
        this.resultsHere.add(key);
        await this.flushItems();
        return this.cancelItems(key, w.completedAt);
      }
      case 'startStep': {
        const key = await this.openKey(w.runId);
        if (key !== undefined) this.changeStep(key, w.itemIndex, w.stepId, { attempt: w.attempt, state: 'running', result: null, startedAt: w.at, finishedAt: null });
        return;
      }
      case 'finishStep': {
        const key = await this.openKey(w.runId);
        if (key !== undefined) {
          this.changeStep(key, w.itemIndex, w.stepId,
            { attempt: w.attempt, state: w.result.outcome === 'success' ? 'success' : 'failed', result: w.result, startedAt: w.at, finishedAt: w.at });
        }
        return;
      }
      case 'awaitStepInput': {
        const key = await this.openKey(w.runId);
        if (key === undefined) return;
        await this.flushSteps();
        await q(`INSERT INTO weft.steps (run_key, item_index, step_id, attempt, state, started_at, prompt) VALUES ($1, $2, $3, 1, 'awaiting_input', $4, $5)
          ON CONFLICT (run_key, item_index, step_id) DO UPDATE SET state = 'awaiting_input', result = NULL, finished_at = NULL, prompt = EXCLUDED.prompt`,
        [key, w.itemIndex, w.stepId, w.at, JSON.stringify(w.prompt)]);
        return;
      }
      case 'answerStepInput': {
        const key = await this.openKey(w.runId);
        if (key === undefined) return;
        await this.flushSteps();
        // The answers of other calls stay; this call's replaces any earlier one.
        this.hints.inputs.add(w.runId);
        await q(`UPDATE weft.steps SET answers = ((
            SELECT COALESCE(json_agg(a), '[]'::json) FROM json_array_elements(COALESCE(answers, '[]'::json)) a WHERE (a->>'n')::int <> $4
          )::jsonb || jsonb_build_array(jsonb_build_object('n', $4::int, 'value', $5::jsonb)))::json
          WHERE run_key = $1 AND item_index = $2 AND step_id = $3`,
        [key, w.itemIndex, w.stepId, w.n, JSON.stringify(w.value ?? null)]);
        return;
      }
      case 'appendEvent': {
        const key = await this.openKey(w.event.runId);
        // A terminal run's event is dropped: its slot never gets a seq (0).
        this.eventSlots.push(key === undefined ? { key: -1, index: -1 } : this.bufferEvent(key, w.event));
        if (key !== undefined && this.me && w.event.type === 'run_created') {
          // Its creation is complete (run_created comes with the last inputs): from now on its last item ends it.
          if (!this.addedHere.has(key)) await q('UPDATE weft.runs SET sealed = true WHERE run_key = $1', [key]);
          this.mayEnd.add(key);
        }
        return;
      }
    }
  }

  private changeItem(key: number, itemIndex: number, change: ItemChange): void {
    let run = this.items.get(key);
    if (!run) { run = new Map(); this.items.set(key, run); }
    run.delete(itemIndex); // re-inserted last: finishes keep their order for completion seqs
    run.set(itemIndex, change);
  }

  /** One row per step, as the separate writes would leave it: a start restarts the row, a finish keeps its started_at. */
  private changeStep(key: number, itemIndex: number, stepId: string, row: StepRow): void {
    const id = `${key}:${itemIndex}:${stepId}`;
    const prior = this.steps.get(id);
    if (prior && row.state !== 'running') row.startedAt = prior.row.startedAt;
    this.steps.set(id, { key, itemIndex, stepId, row });
  }

  private async flush(): Promise<void> {
    await this.flushItems();
    await this.flushSteps();
    await this.flushEvents();
  }

  /** Every buffered item change in one statement, with the counters and completion seqs of their runs. */
  private async flushItems(): Promise<void> {
    if (this.items.size === 0) return;
    const keys: number[] = []; const indexes: number[] = []; const statuses: string[] = []; const results: Array<string | null> = [];
    const ats: Array<string | null> = []; const finishOrder: Array<number | null> = [];
    let count = 0;
    for (const [key, changes] of this.items) {
      let finished = 0;
      for (const [index, c] of changes) {
        keys.push(key); indexes.push(index); statuses.push(c.status); results.push(c.result ? JSON.stringify(c.result) : null);
        ats.push(c.at); finishOrder.push(c.finished ? ++finished : null);
        count++;
      }
    }
    this.items = new Map();
    // A cluster: a run whose last result this is ends here, in the same statement (see completeRuns).
    const at = new Date().toISOString();
    const { rows: ran } = await this.client.query<{ run_key: string; id: string; status: string; completed_at: string | null; updated: string }>(named('weft-flush-items', `
      WITH c AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::json[], $5::text[], $6::int[])
                   AS c(run_key, item_index, status, result, completed_at, finish_order)),
      -- Each item by its key (LATERAL: an index lookup per item whatever the statistics say; a
      -- join let the planner scan every item of the table this executor ever held, per commit),
      -- with its new state beside the old, so nothing below joins the two again.
      old AS (SELECT c.*, o.status AS was FROM c CROSS JOIN LATERAL (
                SELECT i.status FROM weft.items i
                WHERE i.run_key = c.run_key AND i.item_index = c.item_index AND ($7::text IS NULL OR i.owner = $7) FOR UPDATE) o),
      d AS (SELECT run_key,
              sum((status = 'pending')::int - (was = 'pending')::int) AS pending,
              sum((status = 'running')::int - (was = 'running')::int) AS running,
              sum((status = 'paused')::int - (was = 'paused')::int) AS paused,
              sum((status = 'success')::int - (was = 'success')::int) AS success,
              sum((status = 'failed')::int - (was = 'failed')::int) AS failed,
              sum((status = 'cancelled')::int - (was = 'cancelled')::int) AS cancelled,
              count(finish_order) AS finished
            FROM old GROUP BY run_key),
      r AS (UPDATE weft.runs r SET items_pending = items_pending + d.pending, items_running = items_running + d.running,
              items_paused = items_paused + d.paused, items_success = items_success + d.success, items_failed = items_failed + d.failed,
              items_cancelled = items_cancelled + d.cancelled, next_completion = next_completion + d.finished,
              status = CASE WHEN ${ENDS} THEN (CASE WHEN r.items_failed + d.failed > 0 THEN 'failed' ELSE 'success' END) ELSE r.status END,
              completed_at = CASE WHEN ${ENDS} THEN $9 ELSE r.completed_at END
            FROM d WHERE r.run_key = d.run_key
            RETURNING r.run_key, r.id, r.status, r.completed_at, r.next_completion - d.finished AS base),
      iu AS (UPDATE weft.items i SET status = o.status, result = o.result, completed_at = o.completed_at,
              completion_seq = CASE WHEN o.finish_order IS NULL THEN NULL ELSE r.base + o.finish_order END
            FROM old o JOIN r USING (run_key) WHERE i.run_key = o.run_key AND i.item_index = o.item_index
            RETURNING 1)
      SELECT r.run_key, r.id, r.status, r.completed_at, (SELECT count(*) FROM iu) AS updated FROM r`,
    [keys, indexes, statuses, results, ats, finishOrder, this.me ?? null, this.me !== undefined, at]));
    for (const row of ran) {
      // Ended by this statement: terminal now, with this batch's end time (its writes came to an open run).
      if (row.completed_at !== at || !TERMINAL.has(row.status)) continue;
      this.endedHere(row, at);
    }
    const rowCount = ran.length > 0 ? Number(ran[0].updated) : 0;
    if (rowCount !== count) {
      // In a cluster, an item another executor holds now (this one was presumed dead, its item
      // given to another) is not this executor's to write: its late result is dropped.
      const { rows } = await this.client.query<{ id: string; item_index: number }>(`SELECT r.id, c.item_index FROM unnest($1::bigint[], $2::int[]) AS c(run_key, item_index)
        JOIN weft.runs r USING (run_key) WHERE NOT EXISTS (SELECT 1 FROM weft.items i WHERE i.run_key = c.run_key AND i.item_index = c.item_index) LIMIT 1`, [keys, indexes]);
      if (rows.length > 0 || !this.me) throw new Error(`unknown item ${rows[0]?.item_index} of run ${rows[0]?.id}`);
    }
  }

  private async flushSteps(): Promise<void> {
    if (this.steps.size === 0) return;
    await this.client.query(named('weft-steps', STEPS_UPSERT, this.takeSteps()));
  }

  /** The buffered step rows as the eight column arrays of STEPS_UPSERT. */
  private takeSteps(): unknown[][] {
    const cols: unknown[][] = [[], [], [], [], [], [], [], []];
    for (const { key, itemIndex, stepId, row } of this.steps.values()) {
      const values = [key, itemIndex, stepId, row.attempt, row.state, row.result ? JSON.stringify(row.result) : null, row.startedAt, row.finishedAt];
      values.forEach((v, i) => cols[i].push(v));
    }
    this.steps = new Map();
    return cols;
  }

  /** The batch's last step rows and its events in one statement (one round trip, not two). */
  private async flushStepsAndEvents(): Promise<void> {
    if (this.steps.size === 0 || this.events.size === 0) {
      await this.flushSteps();
      return this.flushEvents();
    }
    const steps = this.takeSteps();
    const [keys, counts, packed] = this.takeEvents();
    const { rows } = await this.client.query<{ run_key: string; first_seq: string }>(named('weft-steps-events', STEPS_AND_EVENTS, [keys, counts, packed, ...steps]));
    this.placeEvents(rows);
  }

  /** One packed row per run, its seqs taken from the run's counter under the run row's lock. */
  private async flushEvents(): Promise<void> {
    if (this.events.size === 0) return;
    const { rows } = await this.client.query<{ run_key: string; first_seq: string }>(named('weft-events', `WITH ${EVENTS_INSERT}`, this.takeEvents()));
    this.placeEvents(rows);
  }

  /** The buffered events as EVENTS_INSERT's run keys, counts and packed batches. */
  private takeEvents(): [number[], number[], string[]] {
    const keys = [...this.events.keys()];
    const packed = keys.map((k) => JSON.stringify(this.events.get(k)));
    const counts = keys.map((k) => this.events.get(k)!.length);
    this.events = new Map();
    return [keys, counts, packed];
  }

  /** Each appended event's seq, from its run's first seq in this batch. */
  private placeEvents(rows: Array<{ run_key: string; first_seq: string }>): void {
    const first = new Map(rows.map((r) => [Number(r.run_key), Number(r.first_seq)]));
    for (const slot of this.pendingSlots) slot.flushed = first.get(slot.key)! + slot.index;
    this.pendingSlots = [];
  }

  private async cancelItems(key: number, at: string): Promise<void> {
    // Open items get consecutive completion seqs in index order; the counters follow.
    await this.client.query(`
      WITH todo AS (SELECT item_index, status, row_number() OVER (ORDER BY item_index) AS n FROM weft.items
                    WHERE run_key = $1 AND status IN ${OPEN}),
      r AS (UPDATE weft.runs SET
              items_pending = items_pending - (SELECT count(*) FROM todo WHERE status = 'pending'),
              items_running = items_running - (SELECT count(*) FROM todo WHERE status = 'running'),
              items_paused = items_paused - (SELECT count(*) FROM todo WHERE status = 'paused'),
              items_cancelled = items_cancelled + (SELECT count(*) FROM todo),
              next_completion = next_completion + (SELECT count(*) FROM todo)
            WHERE run_key = $1 RETURNING next_completion - (SELECT count(*) FROM todo) AS base)
      UPDATE weft.items i SET status = 'cancelled', completed_at = $2, completion_seq = r.base + todo.n
      FROM todo, r WHERE i.run_key = $1 AND i.item_index = todo.item_index`, [key, at]);
  }
}

const STEPS_UPSERT = `INSERT INTO weft.steps (run_key, item_index, step_id, attempt, state, result, started_at, finished_at)
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[], $5::text[], $6::json[], $7::text[], $8::text[])
  ON CONFLICT (run_key, item_index, step_id) DO UPDATE SET attempt = EXCLUDED.attempt, state = EXCLUDED.state, result = EXCLUDED.result,
    started_at = CASE WHEN EXCLUDED.state = 'running' THEN EXCLUDED.started_at ELSE weft.steps.started_at END,
    finished_at = EXCLUDED.finished_at, prompt = NULL`;

/** One packed row per run ($1 keys, $2 counts, $3 packed), its seqs taken from the run's counter under the run row's lock. */
const EVENTS_INSERT = `b AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::json[]) AS b(run_key, n, events)),
  r AS (UPDATE weft.runs r SET next_event_seq = next_event_seq + b.n FROM b WHERE r.run_key = b.run_key
        RETURNING r.run_key, r.next_event_seq - b.n + 1 AS first_seq, r.next_event_seq AS last_seq)
  INSERT INTO weft.event_batches (run_key, first_seq, last_seq, events)
    SELECT r.run_key, r.first_seq, r.last_seq, b.events FROM r JOIN b USING (run_key) RETURNING run_key, first_seq`;

const STEPS_AND_EVENTS = `WITH s AS (${STEPS_UPSERT.replace(/\$(\d)/g, (_, n: string) => `$${Number(n) + 3}`)} RETURNING 1),
  ${EVENTS_INSERT}`;

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
