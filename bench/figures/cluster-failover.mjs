// Issue 15, failover: a `weft worker` (the victim) holds all 8 items of a run (each sleeps
// until cancelled) when it is stopped by --signal; a second worker (the survivor) is idle. The
// figure is the time from the signal to the survivor holding the items (claimed by it: they run
// again there), read from the store every 5 ms, and when the victim was declared dead.
//   SIGKILL  the victim's pid is gone: a process of the same host sees it at its next sweep,
//            without waiting for the lease (sweeps every min(TTL/2, 2 s), jittered ±20 %)
//   SIGSTOP  a process that went silent (as a remote host would): dead once its lease expires
//   node --expose-gc figures/cluster-failover.mjs [--url postgres://…] [--signal SIGKILL|SIGSTOP]
//        [--ttl 2] [--heartbeat 0.5] [--reps 3]
// Every process (the submitter, this script, with capacity 0; both workers) has leaseTtlSecs
// --ttl. Prints one JSON line: the median and each repetition, in ms.
import pg from 'pg';
import { clusterSettings, freshDatabase, startWorker } from '../lib/cluster.mjs';
import { args, benchConfig, emit, flows, median, openRuntime } from '../lib/common.mjs';
import { benchPostgres } from '../lib/postgres.mjs';

const opt = args({ url: process.env.WEFT_DATABASE_URL ?? '', signal: 'SIGKILL', ttl: 2, heartbeat: 0.5, reps: 3 });
if (!['SIGKILL', 'SIGSTOP'].includes(opt.signal)) throw new Error(`--signal must be SIGKILL or SIGSTOP, not ${opt.signal}`);
const ITEMS = 8;
const server = opt.url ? { url: opt.url, stop: async () => {} } : await benchPostgres();
if (!server.url) throw new Error(server.reason);
const db = await freshDatabase(server.url);
const cluster = clusterSettings({ leaseTtlSecs: opt.ttl, heartbeatSecs: opt.heartbeat });
const fx = await openRuntime('postgres', benchConfig(), db.url, { cluster: { ...cluster, capacity: 0 }, role: 'bench-submitter' });
const sql = new pg.Client({ connectionString: db.url });
await sql.connect();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How many of the run's items `executor` holds, and whether `victim` is still alive. */
async function state(runId, executor, victim) {
  const { rows: [r] } = await sql.query(`SELECT
      (SELECT count(*)::int FROM weft.items i JOIN weft.runs r ON r.run_key = i.run_key WHERE r.id = $1 AND i.owner = $2 AND i.status = 'running') AS held,
      (SELECT status FROM weft.executors WHERE id = $3) AS victim`, [runId, executor, victim]);
  return r;
}

async function rep(flowId) {
  const victim = startWorker(db.url, { capacity: ITEMS, cluster });
  let survivor;
  let run;
  try {
    const victimId = await victim.joined();
    run = await fx.rt.submit(flowId, Array.from({ length: ITEMS }, () => ({ ms: 600_000 })), { maxConcurrency: ITEMS });
    for (const end = Date.now() + 30_000; (await state(run.id, victimId, victimId)).held < ITEMS;) {
      if (Date.now() > end) throw new Error('the victim did not claim the items');
      await sleep(10);
    }
    survivor = startWorker(db.url, { capacity: ITEMS, cluster });
    const survivorId = await survivor.joined();
    await sleep(200);
    const t0 = performance.now();
    victim.child.kill(opt.signal);
    let deadMs; let firstMs;
    for (const end = Date.now() + (opt.ttl + 30) * 1000; ;) {
      const s = await state(run.id, survivorId, victimId);
      const t = performance.now() - t0;
      if (deadMs === undefined && s.victim !== 'alive') deadMs = t;
      if (firstMs === undefined && s.held > 0) firstMs = t;
      if (s.held === ITEMS) return { deadMs: Math.round(deadMs ?? t), firstMs: Math.round(firstMs), allMs: Math.round(t) };
      if (Date.now() > end) throw new Error(`the survivor holds ${s.held} of ${ITEMS} items ${Math.round(t)} ms after ${opt.signal}`);
      await sleep(5);
    }
  } finally {
    if (run) await fx.rt.cancel(run.id).catch(() => undefined);
    await victim.kill();
    await survivor?.stop();
  }
}

try {
  const flowId = await fx.rt.putFlow(flows.one('/bench/sleep'));
  const each = [];
  for (let r = 0; r < opt.reps; r++) each.push(await rep(flowId));
  emit({
    ...opt, url: opt.url ? '(given)' : '',
    allMs: median(each.map((r) => r.allMs)), firstMs: median(each.map((r) => r.firstMs)), deadMs: median(each.map((r) => r.deadMs)), each,
  });
} finally {
  await fx.close();
  await sql.end();
  await db.drop();
  await server.stop();
}
