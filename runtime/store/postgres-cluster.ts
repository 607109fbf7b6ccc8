import { hostname } from 'node:os';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { flowError } from '../../protocol/index.js';
import { StoreBatch } from './store-batch.js';
import { itemKey, type ClaimRequest, type ClaimedItem, type ClusterStore, type ExecutorInfo, type ExecutorRecord, type StoreHint } from './cluster-store.js';
import { isOwnerAlive } from './run-ownership.js';
import { OPEN, type CommitHints, type PostgresStateStore } from './postgres-state-store.js';
import { named } from './named-query.js';
import { inTransaction } from './in-transaction.js';
import { toItemRecord, type Row } from './sqlite-rows.js';

/** Runs looked at per claim: enough to fill a process from many small sub-runs at once. */
const CLAIM_RUNS = 16;
/**
 * Hints are sent off the commit path (a NOTIFY inside a commit serializes commits). New work,
 * a run's end and a human's answer go at once (each is part of a round trip's latency: a
 * sub-run's start, its end); event hints, which only wake stream readers, at once when none
 * was sent lately, else coalesced into one statement per this many milliseconds.
 */
const NOTIFY_EVERY_MS = 5;
const CHANNEL = 'weft';

/**
 * The cluster half of the PostgreSQL store (reference/scale-out.md §4): executors and
 * their leases, the claim of pending items, the sweep of dead executors, and hints
 * between processes over LISTEN/NOTIFY. Leases are per executor, measured on the
 * database clock; the fence is in every commit of the state store (its first statement).
 */
export class PostgresCluster implements ClusterStore {
  private readonly listeners = new Set<(hint: StoreHint) => void>();
  private queued = new Set<string>();
  private notifying: { cancel(): void; delayed: boolean } | undefined;
  private lastNotify = -Infinity;
  private listener: pg.Client | undefined;
  private closed = false;

  constructor(private readonly pool: pg.Pool, private readonly state: PostgresStateStore, private readonly location: string) {}

  get executorId(): string | undefined { return this.state.executorId; }

  async join(info: ExecutorInfo, leaseTtlMs?: number): Promise<string> {
    if (leaseTtlMs !== undefined) this.state.leaseTtlMs = leaseTtlMs;
    const id = uuidv7();
    await this.pool.query('INSERT INTO weft.executors (id, host, pid, process_start, role, capacity) VALUES ($1, $2, $3, $4, $5, $6)',
      [id, info.host, info.pid, info.started ?? null, info.role, info.capacity]);
    this.state.executorId = id;
    if (!this.listener) void this.listen(500);
    return id;
  }

  async heartbeat(): Promise<'alive' | 'fenced'> {
    const id = this.executorId;
    if (!id) return 'alive';
    const { rowCount } = await this.pool.query("UPDATE weft.executors SET heartbeat_at = now() WHERE id = $1 AND status = 'alive'", [id]);
    return rowCount === 0 ? 'fenced' : 'alive';
  }

  async sweep(ttlMs: number): Promise<string[]> {
    const me = this.executorId;
    // Executors of this host whose process is gone are dead now, without waiting for their lease.
    const { rows: local } = await this.pool.query<{ id: string; pid: number; process_start: string | null }>(
      "SELECT id, pid, process_start FROM weft.executors WHERE status = 'alive' AND host = $1 AND id IS DISTINCT FROM $2", [hostname(), me ?? null]);
    const gone = local.filter((e) => !isOwnerAlive({ id: e.id, pid: e.pid, host: hostname(), ...(e.process_start ? { started: e.process_start } : {}) })).map((e) => e.id);
    const { dead, unsealed } = await inTransaction(this.pool, async (client) => {
      // A lease counts only once the server has been up for a whole TTL: after a restart of
      // PostgreSQL every executor gets one TTL to heartbeat again before it can be declared dead.
      const swept = await client.query<{ id: string }>(`
        UPDATE weft.executors SET status = 'dead', ended_at = now()
        WHERE status = 'alive' AND id IS DISTINCT FROM $3 AND (id = ANY($1::text[])
          OR (heartbeat_at < now() - make_interval(secs => $2 / 1000.0) AND pg_postmaster_start_time() < now() - make_interval(secs => $2 / 1000.0)))
        RETURNING id`, [gone, ttlMs, me ?? null]);
      const ids = swept.rows.map((r) => r.id);
      if (ids.length === 0) return { dead: ids, unsealed: [] };
      await requeueHeldBy(client, ids);
      await client.query(`UPDATE weft.runs SET affinity = NULL WHERE affinity = ANY($1::text[]) AND status IN ${OPEN}`, [ids]);
      const { rows } = await client.query<{ id: string }>(`SELECT id FROM weft.runs WHERE creator = ANY($1::text[]) AND NOT sealed AND status IN ${OPEN}`, [ids]);
      return { dead: ids, unsealed: rows };
    });
    if (dead.length > 0) this.queue('w');
    // A run whose creator died before writing all its inputs never learnt its size: it ends failed.
    for (const { id } of unsealed) {
      await this.state.commit(new StoreBatch().terminate(id, 'failed', new Date().toISOString(),
        flowError('ORCHESTRATOR_ERROR', `its creation was interrupted: the process creating it (executor ${dead.join(', ')}) died before all its inputs were written`)));
    }
    return dead;
  }

  /**
   * The claim statement, inside a commit of this executor (its first statement fenced it and
   * renewed its lease). `wait`: a claim-only commit, which holds no run row and waits for a
   * commit to the same run (a few milliseconds) rather than skipping it; `skip`: a commit with
   * writes, which already holds the rows of the runs it writes, in key order, and must not
   * wait for another's: it claims from those and from free ones.
   *
   * It takes pending items, deepest runs first (children before parents), never more of a run
   * than its maxConcurrency allows across every executor, nor more than this executor's share
   * of it (maxConcurrency over the executors that execute), so one process's own commits
   * cannot keep a run's whole window to itself.
   */
  async claimOn(client: pg.Pool | pg.PoolClient, me: string, request: ClaimRequest, locked: 'wait' | 'skip'): Promise<ClaimedItem[]> {
    const excluded = [...request.exclude].map((id) => this.state.cachedKey(id)).filter((k): k is number => k !== undefined);
    const heldKeys: number[] = []; const heldCounts: number[] = [];
    for (const [id, n] of request.held) {
      const key = this.state.cachedKey(id);
      if (key !== undefined && n > 0) { heldKeys.push(key); heldCounts.push(n); }
    }
    // The deepest runs with pending items are chosen first (children before parents), then
    // their rows are locked in key order, as commits lock them, so the two never deadlock.
    // The lock serializes the run's accounting: maxConcurrency holds across processes. Within
    // a run, items are scanned from its cursor, not from 0 (finished items are not read again).
    const { rows } = await client.query<Row & { run_id: string; run_key: string }>(named(`weft-claim-${locked}`, `
      -- A run's window is shared by the executors that execute (capacity > 0, lease fresh).
      WITH ex AS (SELECT GREATEST(1, count(*))::numeric AS n FROM weft.executors
             WHERE status = 'alive' AND capacity > 0 AND heartbeat_at > now() - interval '30 seconds'),
      held AS (SELECT * FROM unnest($4::bigint[], $5::int[]) AS h(run_key, n)),
      pick AS (SELECT run_key FROM weft.runs
            WHERE status IN ${OPEN} AND items_pending > 0
              AND (max_concurrency IS NULL OR items_running < max_concurrency)
              AND (affinity IS NULL OR affinity = $1) AND run_key <> ALL($3::bigint[])
            ORDER BY depth DESC, run_key LIMIT ${CLAIM_RUNS}),
      r AS (SELECT run_key, depth, claim_cursor, max_concurrency, items_running FROM weft.runs
            WHERE run_key IN (SELECT run_key FROM pick) AND status IN ${OPEN} AND items_pending > 0
              AND (max_concurrency IS NULL OR items_running < max_concurrency)
            ORDER BY run_key FOR NO KEY UPDATE${locked === 'skip' ? ' SKIP LOCKED' : ''}),
      c AS (SELECT x.run_key, x.item_index FROM r CROSS JOIN LATERAL (
              SELECT i.run_key, i.item_index FROM weft.items i
              WHERE i.run_key = r.run_key AND i.item_index >= r.claim_cursor AND i.status = 'pending'
              ORDER BY i.item_index LIMIT GREATEST(0, LEAST($2, COALESCE(r.max_concurrency - r.items_running, $2),
                COALESCE(ceil(r.max_concurrency / (SELECT n FROM ex))::int - COALESCE((SELECT h.n FROM held h WHERE h.run_key = r.run_key), 0), $2)))
              FOR UPDATE SKIP LOCKED) x ORDER BY r.depth DESC, x.run_key, x.item_index LIMIT $2),
      u AS (UPDATE weft.items i SET status = 'running', owner = $1, attempt = i.attempt + 1
            FROM c WHERE i.run_key = c.run_key AND i.item_index = c.item_index
            RETURNING i.run_key, i.item_index, i.input, i.attempt),
      n AS (SELECT r.run_key, count(u.item_index) AS k, max(u.item_index) AS top FROM r LEFT JOIN u USING (run_key) GROUP BY r.run_key),
      -- A run that had pending items but none from its cursor on scans from 0 next time (items re-queued below it).
      ru AS (UPDATE weft.runs x SET items_pending = items_pending - n.k, items_running = items_running + n.k,
               claim_cursor = CASE WHEN n.k = 0 THEN 0 ELSE n.top + 1 END
             FROM n WHERE x.run_key = n.run_key RETURNING x.run_key, x.id)
      SELECT ru.id AS run_id, ru.run_key, u.item_index, 'running' AS status, u.input::text AS input_json, NULL AS result_json,
        NULL AS completed_at, NULL AS completion_seq, $1 AS owner, u.attempt
      FROM u JOIN ru USING (run_key) ORDER BY u.run_key, u.item_index`, [me, request.max, excluded, heldKeys, heldCounts]));
    return this.claimedOf(rows);
  }

  /** Claimed rows as items; their runs' keys remembered (claims and releases name runs by key). */
  private claimedOf(rows: Array<Row & { run_id: string; run_key: string }>): ClaimedItem[] {
    return rows.map((row) => {
      this.state.rememberKey(row.run_id, Number(row.run_key));
      return toItemRecord(row.run_id, row) as ClaimedItem;
    });
  }

  /** Set by the state store when a lost commit answer was counted as aborted across a restart. */
  suspect = false;

  takeSuspect(): boolean {
    const was = this.suspect;
    this.suspect = false;
    return was;
  }

  async reconcile(inHand: ReadonlySet<string>): Promise<number> {
    const me = this.executorId;
    if (!me) return 0;
    const { rows } = await this.pool.query<{ id: string; run_key: string; item_index: number }>(`
      SELECT r.id, i.run_key, i.item_index FROM weft.items i JOIN weft.runs r USING (run_key)
      WHERE r.status IN ${OPEN} AND i.owner = $1 AND i.status = 'running'`, [me]);
    const stray = new Map<string, number[]>();
    for (const row of rows) {
      this.state.rememberKey(row.id, Number(row.run_key));
      if (inHand.has(itemKey(row.id, row.item_index))) continue;
      stray.set(row.id, [...(stray.get(row.id) ?? []), row.item_index]);
    }
    let n = 0;
    for (const [runId, indexes] of stray) { await this.release(runId, indexes, false); n += indexes.length; }
    return n;
  }

  async release(runId: string, itemIndexes: readonly number[], unclaim = true): Promise<void> {
    const key = this.state.cachedKey(runId);
    if (key === undefined || itemIndexes.length === 0) return;
    await this.pool.query(`
      WITH old AS (SELECT item_index FROM weft.items WHERE run_key = $1 AND item_index = ANY($2::int[]) AND owner = $3 AND status = 'running' FOR UPDATE),
      mv AS (UPDATE weft.items i SET status = 'pending', owner = NULL, attempt = attempt - $4 FROM old WHERE i.run_key = $1 AND i.item_index = old.item_index)
      UPDATE weft.runs SET items_running = items_running - (SELECT count(*) FROM old), items_pending = items_pending + (SELECT count(*) FROM old),
        claim_cursor = LEAST(claim_cursor, COALESCE((SELECT min(item_index) FROM old), claim_cursor))
      WHERE run_key = $1`, [key, [...itemIndexes], this.executorId, unclaim ? 1 : 0]);
    this.queue('w');
  }

  async leave(): Promise<void> {
    const me = this.executorId;
    if (!me) return;
    await inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query("UPDATE weft.executors SET status = 'stopping', ended_at = now() WHERE id = $1 AND status = 'alive'", [me]);
      // Declared dead meanwhile: its items were given back by whoever swept it.
      if (rowCount === 1) await requeueHeldBy(client, [me]);
    });
    this.state.executorId = undefined;
    this.queue('w');
    await this.flushHints();
  }

  async listExecutors(): Promise<ExecutorRecord[]> {
    const { rows } = await this.pool.query<Row>(`
      WITH held AS (SELECT i.owner, count(*)::int AS n FROM weft.items i
                    WHERE i.run_key IN (SELECT run_key FROM weft.runs WHERE status IN ${OPEN}) AND i.status IN ('running', 'paused')
                    GROUP BY i.owner)
      SELECT e.id, e.host, e.pid, e.process_start, e.role, e.capacity, e.status, e.started_at, e.heartbeat_at, e.ended_at,
        COALESCE(held.n, 0) AS holding
      FROM weft.executors e LEFT JOIN held ON held.owner = e.id ORDER BY e.started_at DESC LIMIT 200`);
    return rows.map((r) => ({
      id: r.id as string, host: r.host as string, pid: r.pid as number, role: r.role as string, capacity: r.capacity as number,
      status: r.status as ExecutorRecord['status'], startedAt: iso(r.started_at), heartbeatAt: iso(r.heartbeat_at),
      ...(r.process_start ? { started: r.process_start as string } : {}), ...(r.ended_at ? { endedAt: iso(r.ended_at) } : {}),
      holding: r.holding as number,
    }));
  }

  async holders(runId: string): Promise<Array<{ executorId: string; host: string; pid: number; items: number }>> {
    const { rows } = await this.pool.query<{ id: string; host: string; pid: number; n: number }>(`
      SELECT e.id, e.host, e.pid, count(*)::int AS n FROM weft.runs r JOIN weft.items i ON i.run_key = r.run_key
        JOIN weft.executors e ON e.id = i.owner
      WHERE r.id = $1 AND i.status IN ('running', 'paused') GROUP BY e.id, e.host, e.pid ORDER BY n DESC`, [runId]);
    return rows.map((r) => ({ executorId: r.id, host: r.host, pid: r.pid, items: r.n }));
  }

  onHint(listener: (hint: StoreHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What a commit of this process changed, told to every process (coalesced, sent off the commit path). */
  hintsOf(h: CommitHints): void {
    if (!this.executorId) return;
    if (h.work) this.queue('w');
    for (const id of h.runs) this.queue(`r:${id}`);
    for (const id of h.events) this.queue(`e:${id}`);
    for (const id of h.inputs) this.queue(`i:${id}`);
  }

  private queue(payload: string): void {
    if (this.closed) return;
    this.queued.add(payload);
    const urgent = !payload.startsWith('e:');
    if (this.notifying && !(urgent && this.notifying.delayed)) return;
    this.notifying?.cancel();
    const flush = () => { void this.flushHints(); };
    const wait = urgent ? 0 : this.lastNotify + NOTIFY_EVERY_MS - performance.now();
    if (wait <= 0) {
      const id = setImmediate(flush); // the hints of this turn together
      this.notifying = { cancel: () => clearImmediate(id), delayed: false };
    } else {
      const id = setTimeout(flush, wait);
      this.notifying = { cancel: () => clearTimeout(id), delayed: true };
    }
  }

  private async flushHints(): Promise<void> {
    this.notifying?.cancel();
    this.notifying = undefined;
    if (this.queued.size === 0) return;
    this.lastNotify = performance.now();
    const payloads = [...this.queued];
    this.queued = new Set();
    // Lost hints cost only latency: every waiter also polls.
    await this.pool.query(`SELECT pg_notify('${CHANNEL}', p) FROM unnest($1::text[]) AS p`, [payloads]).catch(() => undefined);
  }

  /** One connection LISTENs for every process's hints, reconnecting with backoff; after a reconnect everyone re-reads. */
  private async listen(delay: number): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.pool.options);
    this.listener = client;
    let retried = false;
    const retry = () => {
      if (retried || this.closed) return;
      retried = true;
      client.end().catch(() => undefined);
      setTimeout(() => { void this.listen(Math.min(delay * 2, 5_000)); }, delay).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (n) => { if (n.channel === CHANNEL && n.payload) this.tell(parseHint(n.payload)); });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      delay = 500;
      this.tell({ kind: 'reconnect' });
    } catch {
      retry();
    }
  }

  private tell(hint: StoreHint | undefined): void {
    if (!hint) return;
    for (const l of [...this.listeners]) {
      try { l(hint); } catch { /* a listener's bug must not stop the others */ }
    }
  }

  async close(): Promise<void> {
    await this.flushHints();
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  toString(): string { return `cluster on ${this.location}`; }
}

/** Every item `owners` hold goes back to the queue (pending, no owner); run counters and claim cursors follow. */
async function requeueHeldBy(client: pg.PoolClient, owners: string[]): Promise<void> {
  await client.query(`
    WITH old AS (SELECT run_key, item_index, status FROM weft.items
                 WHERE run_key IN (SELECT run_key FROM weft.runs WHERE status IN ${OPEN})
                   AND owner = ANY($1::text[]) AND status IN ('running', 'paused') FOR UPDATE),
    mv AS (UPDATE weft.items i SET status = 'pending', owner = NULL FROM old WHERE i.run_key = old.run_key AND i.item_index = old.item_index),
    d AS (SELECT run_key, count(*) FILTER (WHERE status = 'running') AS running, count(*) FILTER (WHERE status = 'paused') AS paused,
            count(*) AS n, min(item_index) AS low FROM old GROUP BY run_key)
    UPDATE weft.runs r SET items_running = items_running - d.running, items_paused = items_paused - d.paused,
      items_pending = items_pending + d.n, claim_cursor = LEAST(claim_cursor, d.low)
    FROM d WHERE r.run_key = d.run_key`, [owners]);
}

function parseHint(payload: string): StoreHint | undefined {
  if (payload === 'w') return { kind: 'work' };
  const id = payload.slice(2);
  switch (payload[0]) {
    case 'r': return { kind: 'run', runId: id };
    case 'e': return { kind: 'events', runId: id };
    case 'i': return { kind: 'input', runId: id };
  }
  return undefined;
}

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}
