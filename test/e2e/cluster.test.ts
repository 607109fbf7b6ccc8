import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/api/index.js';
import { clusterWorkspace, componentPid, maxOverlap, workerJoined, type Execution } from '../helpers/cluster-workspace.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../helpers/postgres-cluster.js';
import { until, type WeftProcess } from '../helpers/weft-process.js';
import { readmeSnippets, weftCommands } from '../helpers/readme-snippets.js';

warnIfNoPostgres('the cluster e2e');
const shared = postgresAvailable ? sharedPostgres() : undefined;

interface ItemLine { itemIndex: number; status: string; outcome: string; value?: { doubled: number; pid: number; end: number } }

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
  const clients: pg.Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
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
    expect(maxOverlap(execs)).toBeGreaterThan(4); // more than one process's share (12 over 3): they really shared it

    // Each worker's stdout is its log (JSON lines): it joined, started its component server,
    // took part in the run, and logged its end (seen in its own commit, or told by the others).
    const runId = /run ([0-9a-f-]{36}) started/.exec(run.stderr)![1];
    const logs = workers.map((w) => w.stdout().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg));
    for (const msgs of logs) {
      expect(msgs.some((m) => /^weft: joined the cluster as executor /.test(m)), msgs.join('\n')).toBe(true);
      expect(msgs.some((m) => /component server started/.test(m))).toBe(true);
      expect(msgs).toContain(`run ${runId}: executing its items here too (executor ${/executor (\S+) \(/.exec(msgs.find((m) => m.startsWith('weft: joined'))!)![1]})`);
    }
    for (const msgs of logs) expect(msgs).toContain(`run ${runId} success`);

    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    for (const w of workers) expect(w.stdout()).toMatch(/SIGTERM: leaving; the items it held go back to the queue/);
  }, 120_000);

  it('a run with affinity creator, or using a plugin with affinity: creator, executes only in its creator while workers are idle', async () => {
    const url = await shared!.database();
    const ws = clusterWorkspace(url, { capacity: 4 });
    dirs.push(ws.dir);
    const workers = [worker(ws), worker(ws)];
    await until(() => workers.every(workerJoined), 30_000, 'two workers joined');
    const config = readFileSync(join(ws.dir, 'weft.config.yml'), 'utf8');
    writeFileSync(join(ws.dir, 'pinned.yml'), config.replace('    transport: stdio\n', '    transport: stdio\n    affinity: creator\n'));
    const inputs = Array.from({ length: 40 }, (_, i) => ({ item: i, ms: 20 }));
    for (const [configFile, options] of [['weft.config.yml', { affinity: 'creator' as const }], ['pinned.yml', {}]] as const) {
      const rt = await Runtime.open({ config: join(ws.dir, configFile), store: url, role: 'test' });
      try {
        const flowId = await rt.putFlow(join(ws.dir, 'flow.yaml'));
        const run = await rt.submit(flowId, inputs, options);
        const status = await run.wait();
        expect(status.items.success, configFile).toBe(40);
        // Every execution in this process's one component server, none in the workers'.
        const pids = new Set(ws.executions().filter((e) => e.run === run.id).map((e) => e.pid));
        const workerComponents = new Set(workers.map(componentPid));
        expect(pids.size, configFile).toBe(1);
        expect(workerComponents.has([...pids][0]), configFile).toBe(false);
      } finally {
        await rt.close();
      }
    }
    // Without it the same run is shared (the workers take part).
    const rt = await Runtime.open({ config: join(ws.dir, 'weft.config.yml'), store: url, role: 'test', cluster: { capacity: 1 } });
    try {
      const run = await rt.submit(await rt.putFlow(join(ws.dir, 'flow.yaml')), inputs);
      await run.wait();
      const pids = new Set(ws.executions().filter((e) => e.run === run.id).map((e) => e.pid));
      expect(pids.size).toBeGreaterThan(1);
    } finally {
      await rt.close();
    }
  }, 120_000);

  it("the README's 3-process cluster: two workers and a server execute a run that weft run submits", async () => {
    const ws = clusterWorkspace(await shared!.database(), { capacity: null }); // the default capacity, as a reader gets it
    dirs.push(ws.dir);
    writeItems(ws.dir, 300, 20);
    const commands = weftCommands(readmeSnippets().get('cluster.sh')!);
    expect(commands.map((c) => c[1])).toEqual(['worker', 'worker', 'serve', 'run']);
    const servers = commands.slice(0, 3).map((args) => {
      const p = ws.start([...args.slice(1), ...(args[1] === 'serve' ? ['--port', '0'] : [])]);
      running.push(p);
      return p;
    });
    await until(() => servers.every((p) => /executing runs of|listening on/.test(p.stdout())), 30_000, 'the cluster up');
    const run = ws.start(commands[3].slice(1).concat(['--output', 'jsonl']));
    expect(await run.exited, run.stderr()).toBe(0);
    expectAllDone(parseLines(run.stdout()), 300);
    // The work was shared: items ran in more than one process's component server.
    expect(new Set(ws.executions().map((e) => e.pid)).size).toBeGreaterThan(1);
  }, 120_000);

  it('survives a worker paused past its lease and 5 kill -9 of random workers: nothing lost, late results refused', async () => {
    const url = await shared!.database();
    const ws = clusterWorkspace(url, { leaseTtlSecs: 2 });
    dirs.push(ws.dir);
    writeItems(ws.dir, 3000, 50);
    let workers = [worker(ws), worker(ws), worker(ws)];
    await until(() => workers.every(workerJoined), 30_000, 'three workers joined');
    const submit = ws.start(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '12', '--output', 'jsonl']);
    running.push(submit);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    clients.push(db);
    const holding = async (w: WeftProcess) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM weft.items i JOIN weft.executors e ON e.id = i.owner
      WHERE e.pid = $1 AND e.status = 'alive' AND i.status = 'running'`, [w.child.pid])).rows[0].n;

    // A zombie: paused well past its 2 s lease while its component server finishes the calls in flight.
    const zombie = workers[0];
    const zombieComponent = componentPid(zombie);
    // In full swing: its component has finished some items and it holds more.
    await until(async () => ws.executions().filter((e) => e.pid === zombieComponent).length >= 10 && (await holding(zombie)) > 0, 30_000, 'the zombie-to-be at work');
    // Stopped when its component has calls in flight (a stop between two calls is undone at once).
    let stoppedAt = 0;
    for (let tries = 0; ; tries++) {
      stoppedAt = performance.timeOrigin + performance.now();
      zombie.child.kill('SIGSTOP');
      if (ws.unfinished(zombieComponent) > 0) break;
      zombie.child.kill('SIGCONT');
      expect(tries, 'a moment when the zombie-to-be has calls in flight').toBeLessThan(50);
      await sleep(50 + Math.random() * 100);
    }
    await sleep(4500);
    const resumedAt = performance.timeOrigin + performance.now();
    zombie.child.kill('SIGCONT');
    await until(() => /declared dead while it was paused/.test(zombie.stdout()), 20_000, 'the zombie told it was fenced')
      .catch((error: Error) => { throw new Error(`${error.message}; its log:\n${zombie.stdout()}${zombie.stderr()}`); });

    const kills: number[] = [];
    for (let k = 0; k < 5; k++) {
      // Never the zombie: its own record (dead, then alive again) is checked below.
      const others = workers.filter((w) => w !== zombie);
      const victim = others[Math.floor(Math.random() * others.length)];
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills.push(ws.executions().length);
      const replacement = worker(ws);
      workers = workers.map((w) => (w === victim ? replacement : w));
      await until(() => workerJoined(replacement), 30_000, `worker ${k + 1} restarted`);
      await sleep(300);
    }
    // Every kill came while the run was going on.
    expect(submit.child.exitCode).toBeNull();

    expect(await submit.exited, submit.stderr()).toBe(0);
    const lines = parseLines(submit.stdout());
    expectAllDone(lines, 3000);

    const execs = ws.executions();
    const perItem = new Map<number, Execution[]>();
    for (const e of execs) perItem.set(e.item, [...(perItem.get(e.item) ?? []), e]);
    // Every item ran; an item ran again only when it was in flight at a kill or in the zombie.
    expect(perItem.size).toBe(3000);
    const again = [...perItem.values()].filter((list) => list.length > 1).length;
    expect(again).toBeLessThanOrEqual((kills.length + 1) * 8);
    // What the zombie's component finished while the zombie was paused was never recorded as a result.
    const lateByZombie = execs.filter((e) => e.pid === zombieComponent && e.end > stoppedAt && e.end < resumedAt);
    expect(lateByZombie.length).toBeGreaterThan(0);
    // (The rejoined zombie may run such an item again itself: a later execution, a result of its own.)
    for (const e of lateByZombie) expect(lines[e.item].value, `item ${e.item}`).not.toMatchObject({ pid: e.pid, end: e.end });
    // The zombie joined again as a new executor and went on working.
    // (A loaded machine can stall it past a lease again: more rows, still dead first and alive last.)
    const { rows } = await db.query<{ status: string }>('SELECT status FROM weft.executors WHERE pid = $1 ORDER BY started_at', [zombie.child.pid]);
    expect(rows[0].status).toBe('dead');
    expect(rows.at(-1)!.status).toBe('alive');
    const { rows: open } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM weft.items WHERE status IN ('pending', 'running', 'paused')");
    expect(open[0].n).toBe(0);
  }, 180_000);
});
