import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterWorkspace, workerJoined } from '../helpers/cluster-workspace.js';
import { PostgresCluster, postgresAvailable, warnIfNoPostgres } from '../helpers/postgres-cluster.js';
import { until, type WeftProcess } from '../helpers/weft-process.js';

warnIfNoPostgres('the cluster e2e across PostgreSQL restarts');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const ITEMS = 900;

/** What the store holds of unfinished work (for a failure's message). */
async function dump(url: string): Promise<string> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const q = async (sql: string) => JSON.stringify((await db.query(sql)).rows);
    return [
      await q("SELECT item_index, status, owner, attempt FROM weft.items WHERE status NOT IN ('success', 'failed', 'cancelled')"),
      await q('SELECT status, items_total, items_pending, items_running, items_paused, items_success, sealed, claim_cursor FROM weft.runs'),
      await q('SELECT id, pid, role, status, heartbeat_at FROM weft.executors'),
      await q("SELECT item_index, step_id, attempt, state FROM weft.steps WHERE state NOT IN ('success', 'failed') LIMIT 20"),
    ].join('\n');
  } finally {
    await db.end();
  }
}

describe.skipIf(!postgresAvailable)('a cluster of weft processes across PostgreSQL restarts', () => {
  // A server of its own: it is stopped and killed, which would break the other files' shared one.
  let server: PostgresCluster | undefined;
  const running: WeftProcess[] = [];
  let dir: string | undefined;
  afterAll(async () => {
    for (const p of running) { p.child.kill('SIGKILL'); await p.exited; }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('PostgreSQL stopped (immediate, fast) and killed every few seconds: the run completes, each item run once, no executor declared dead', async () => {
    server = await PostgresCluster.start();
    const url = await server.createDatabase();
    const ws = clusterWorkspace(url);
    dir = ws.dir;
    writeFileSync(join(ws.dir, 'items.jsonl'), Array.from({ length: ITEMS }, (_, item) => JSON.stringify({ item, ms: 40 })).join('\n'));
    const workers = [0, 1, 2].map(() => ws.start(['worker', '--capacity', '4']));
    running.push(...workers);
    await until(() => workers.every(workerJoined), 30_000, 'three workers joined');
    const submit = ws.start(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '12', '--output', 'jsonl']);
    running.push(submit);
    let done = false;
    void submit.exited.then(() => { done = true; });
    await until(() => ws.executions().length > 100, 30_000, 'the run under way');

    // Down 0.5-2 s each time, up 1-1.5 s between, four times (then the run finishes): with a
    // lease TTL of 1 s, every outage outlasts some leases, yet no one may be declared dead for it.
    const modes = ['immediate', 'fast', 'kill'] as const;
    const outages: Array<{ mode: string; downMs: number; doneBefore: number }> = [];
    for (let k = 0; !done && k < 4; k++) {
      const mode = modes[k % modes.length];
      const doneBefore = ws.executions().length;
      const downAt = Date.now();
      if (mode === 'kill') await server.killServer();
      else await server.stopServer(mode);
      await sleep(between(500, 2000));
      await server.startServer();
      outages.push({ mode, downMs: Date.now() - downAt, doneBefore });
      await sleep(between(1000, 1500));
    }
    const tail = (w: WeftProcess) => `${w.stdout()}${w.stderr()}`.split('\n').filter((l) => !/"level":30/.test(l)).slice(-15).join('\n');
    await until(() => done, 30_000, 'the run ended').catch(async (error: Error) => {
      throw new Error(`${error.message}: ${ws.executions().length} of ${ITEMS} done; outages ${JSON.stringify(outages)}\n${await dump(url)}\n${[...workers, submit].map(tail).join('\n----\n')}`);
    });
    expect(await submit.exited, `${submit.stderr()}\noutages: ${JSON.stringify(outages)}`).toBe(0);
    // Each mode at least once while the run was under way (else the run was too short to test anything).
    expect(new Set(outages.filter((o) => o.doneBefore < ITEMS).map((o) => o.mode)), JSON.stringify(outages)).toEqual(new Set(modes));

    const lines = submit.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { itemIndex: number; outcome: string; value: { doubled: number } });
    expect(lines.map((l) => l.itemIndex)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    for (const l of lines) expect(l, `item ${l.itemIndex}`).toMatchObject({ outcome: 'success', value: { doubled: 2 * l.itemIndex } });
    // No executor was declared dead, so no item went back to the queue: each ran exactly once.
    const execs = ws.executions();
    expect(new Set(execs.map((e) => e.item)).size).toBe(ITEMS);
    const twice = execs.filter((e) => execs.filter((x) => x.item === e.item).length > 1);
    expect(twice, `${JSON.stringify(outages)}\n${[...workers, submit].map(tail).join('\n----\n')}`).toEqual([]);
    for (const w of workers) expect(w.stdout(), 'a worker told it was fenced').not.toMatch(/declared dead/);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ pid: number; role: string; status: string }>('SELECT pid, role, status FROM weft.executors ORDER BY started_at');
      // The workers' first executors are still alive (one row each); weft run left cleanly.
      expect(rows.filter((r) => r.role === 'worker').map((r) => [r.pid, r.status]).sort())
        .toEqual(workers.map((w) => [w.child.pid, 'alive']).sort());
      expect(rows.filter((r) => r.role === 'run').map((r) => [r.pid, r.status])).toEqual([[submit.child.pid, 'stopping']]);
      const { rows: open } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM weft.items WHERE status IN ('pending', 'running', 'paused')");
      expect(open[0].n).toBe(0);
    } finally {
      await db.end();
    }
    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
  }, 120_000);
});
