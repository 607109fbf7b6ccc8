import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterWorkspace, componentPid, maxOverlap, workerJoined, type Execution } from '../helpers/cluster-workspace.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../helpers/postgres-cluster.js';
import { until, type WeftProcess } from '../helpers/weft-process.js';

warnIfNoPostgres('the cluster e2e');
const shared = postgresAvailable ? sharedPostgres() : undefined;

interface ItemLine { itemIndex: number; status: string; outcome: string; value?: { doubled: number; pid: number } }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeItems(dir: string, n: number, ms: number): void {
  writeFileSync(join(dir, 'items.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ item: i, ms })).join('\n'));
}

/** Every item has one result, the right one. */
function expectAllDone(lines: ItemLine[], n: number): void {
  expect(lines.map((l) => l.itemIndex)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const l of lines) expect(l, `item ${l.itemIndex}`).toMatchObject({ status: 'completed', outcome: 'success', value: { doubled: 2 * l.itemIndex } });
}

const parseLines = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as ItemLine);

describe.skipIf(!postgresAvailable)('a cluster of weft processes on one PostgreSQL', () => {
  const running: WeftProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) { p.child.kill('SIGCONT'); p.child.kill('SIGKILL'); await p.exited; }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const worker = (ws: ReturnType<typeof clusterWorkspace>) => {
    const w = ws.start(['worker', '--capacity', '8']);
    running.push(w);
    return w;
  };

  it('3 workers share a 2,000-item run: every item executed once with one result, maxConcurrency held across processes', async () => {
    const ws = clusterWorkspace(await shared!.database());
    dirs.push(ws.dir);
    writeItems(ws.dir, 2000, 2);
    const workers = [worker(ws), worker(ws), worker(ws)];
    await until(() => workers.every(workerJoined), 30_000, 'three workers joined');
    // `weft run` (capacity 0 in this config) submits and waits: the workers execute everything.
    const run = await new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
      const p = ws.start(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '12', '--output', 'jsonl']);
      void p.exited.then((code) => resolve({ code, stdout: p.stdout(), stderr: p.stderr() }));
    });
    expect(run.code, run.stderr).toBe(0);
    expectAllDone(parseLines(run.stdout), 2000);

    const execs = ws.executions();
    expect(execs).toHaveLength(2000);
    expect(new Set(execs.map((e) => e.item)).size).toBe(2000);
    const byPid = new Map<number, number>();
    for (const e of execs) byPid.set(e.pid, (byPid.get(e.pid) ?? 0) + 1);
    expect(byPid.size, JSON.stringify([...byPid])).toBe(3);
    expect(maxOverlap(execs)).toBeLessThanOrEqual(12);
    expect(maxOverlap(execs)).toBeGreaterThan(8); // more than one process's capacity: they really shared it

    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
  }, 120_000);

  it('survives 5 kill -9 of random workers and a worker paused past its lease: nothing lost, late results refused', async () => {
    const url = await shared!.database();
    const ws = clusterWorkspace(url);
    dirs.push(ws.dir);
    writeItems(ws.dir, 2000, 40);
    let workers = [worker(ws), worker(ws), worker(ws)];
    await until(() => workers.every(workerJoined), 30_000, 'three workers joined');
    const submit = ws.start(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '12', '--output', 'jsonl']);
    running.push(submit);
    await until(() => ws.executions().length > 50, 30_000, 'the run under way');

    const kills: number[] = [];
    for (let k = 0; k < 5; k++) {
      const victim = workers[Math.floor(Math.random() * workers.length)];
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills.push(ws.executions().length);
      const replacement = worker(ws);
      workers = workers.map((w) => (w === victim ? replacement : w));
      await until(() => workerJoined(replacement), 30_000, `worker ${k + 1} restarted`);
      await sleep(300);
    }

    // A zombie: paused well past its 1 s lease while its component server finishes the calls in flight.
    const zombie = workers[0];
    const zombieComponent = componentPid(zombie);
    const stoppedAt = performance.timeOrigin + performance.now();
    zombie.child.kill('SIGSTOP');
    await sleep(3000);
    const resumedAt = performance.timeOrigin + performance.now();
    zombie.child.kill('SIGCONT');
    await until(() => /declared dead while it was paused/.test(zombie.stdout()), 20_000, 'the zombie told it was fenced')
      .catch((error: Error) => { throw new Error(`${error.message}; its log:\n${zombie.stdout()}${zombie.stderr()}`); });

    expect(await submit.exited, submit.stderr()).toBe(0);
    const lines = parseLines(submit.stdout());
    expectAllDone(lines, 2000);

    const execs = ws.executions();
    const perItem = new Map<number, Execution[]>();
    for (const e of execs) perItem.set(e.item, [...(perItem.get(e.item) ?? []), e]);
    // Every item ran; an item ran again only when it was in flight at a kill or in the zombie.
    expect(perItem.size).toBe(2000);
    const again = [...perItem.values()].filter((list) => list.length > 1).length;
    expect(again).toBeLessThanOrEqual((kills.length + 1) * 8);
    // What the zombie's component finished while the zombie was paused was never recorded as a result.
    const lateByZombie = execs.filter((e) => e.pid === zombieComponent && e.end > stoppedAt && e.end < resumedAt);
    expect(lateByZombie.length).toBeGreaterThan(0);
    for (const e of lateByZombie) expect(lines[e.item].value!.pid, `item ${e.item}`).not.toBe(zombieComponent);
    // The zombie joined again as a new executor and went on working.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM weft.executors WHERE pid = $1 ORDER BY started_at', [zombie.child.pid]);
      expect(rows.map((r) => r.status)).toEqual(['dead', 'alive']);
      const { rows: open } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM weft.items WHERE status IN ('pending', 'running', 'paused')");
      expect(open[0].n).toBe(0);
    } finally {
      await db.end();
    }
  }, 180_000);
});
