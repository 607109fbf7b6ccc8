// Issue 15, cluster_items_per_s: one run of 1-step items on PostgreSQL executed by 1 `weft
// worker`, then by 2 sharing it (then by 1 again when --runs > 1: the 1-process figure is
// measured before and after, so drift on a noisy machine shows). The submitter (this
// process) has cluster capacity 0: it submits and waits, it executes nothing.
//   node --expose-gc figures/cluster.mjs [--url postgres://…] [--flow one|cpu] [--n 10000]
//        [--runs 3] [--warmup 2000] [--window 64] [--capacity 64] [--capacity2 64]
// --window is the run's maxConcurrency, --capacity each worker's. --capacity2: the capacity of
// each of the 2 workers (default --capacity: the first worker stays, one more joins); another
// value replaces the first worker by 2 fresh ones, e.g. 2 × 32 against 1 × 64: the same slots.
// --flow one: /bench/echo (no-op); cpu: /bench/cpu (~1 ms of CPU in the component server, or
// --ms of it per item).
// Without --url (or WEFT_DATABASE_URL) a throwaway server is started (lib/postgres.mjs); the
// figure uses a database of its own on it. Prints one JSON line.
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { clusterSettings, freshDatabase, startWorker } from '../lib/cluster.mjs';
import { args, benchConfig, emit, flows, measureRuns, median, openRuntime } from '../lib/common.mjs';
import { benchPostgres } from '../lib/postgres.mjs';

const opt = args({ url: process.env.WEFT_DATABASE_URL ?? '', flow: 'one', n: 10000, runs: 3, warmup: 2000, window: 64, capacity: 64, capacity2: 0, ms: 0 });
opt.capacity2 ||= opt.capacity;
const server = opt.url ? { url: opt.url, stop: async () => {} } : await benchPostgres();
if (!server.url) throw new Error(server.reason);
const db = await freshDatabase(server.url);
const cluster = clusterSettings();
const fx = await openRuntime('postgres', benchConfig(), db.url, { cluster: { ...cluster, capacity: 0 }, role: 'bench-submitter' });
const sql = new pg.Client({ connectionString: db.url });
await sql.connect();
const workers = [];
try {
  const cpu = opt.flow === 'cpu';
  const flowId = await fx.rt.putFlow(flows.one(cpu ? '/bench/cpu' : '/bench/echo'));
  const makeInputs = (n) => Array.from({ length: n }, (_, i) => (opt.ms ? { i, ms: opt.ms } : { i }));
  let shares = [];
  const check = async (runId) => {
    for (const i of [0, opt.n >> 1, opt.n - 1]) {
      const item = await fx.rt.store.state.getItem(runId, i);
      const want = { outcome: 'success', result: cpu ? { i, spins: true } : { i } };
      if (!isDeepStrictEqual(item?.result, want)) throw new Error(`item ${i} of run ${runId}: got ${JSON.stringify(item?.result)}`);
    }
    // Which process executed what (items keep their owner): the workers' shares, the submitter's none.
    const { rows } = await sql.query(`SELECT e.role, e.pid, count(*)::int AS n FROM weft.items i JOIN weft.runs r ON r.run_key = i.run_key
      JOIN weft.executors e ON e.id = i.owner WHERE r.id = $1 GROUP BY e.role, e.pid ORDER BY n DESC`, [runId]);
    if (rows.some((r) => r.role !== 'worker')) throw new Error(`run ${runId}: items executed outside the workers: ${JSON.stringify(rows)}`);
    shares = rows.map((r) => r.n);
  };
  const measure = async (warmup) => {
    const r = await measureRuns({ rt: fx.rt, flowId, makeInputs, n: opt.n, warmup, runs: opt.runs, maxConcurrency: opt.window, check });
    return { itemsPerS: Math.round(r.itemsPerS), min: Math.round(r.min), max: Math.round(r.max), shares };
  };
  const start = async (capacity) => { const w = startWorker(db.url, { capacity, cluster }); workers.push(w); await w.joined(); return w; };
  const stop = async (w) => { workers.splice(workers.indexOf(w), 1); await w.stop(); };

  const first = await start(opt.capacity);
  const one = await measure(opt.warmup);
  const pair = opt.capacity2 === opt.capacity ? [first, await start(opt.capacity)] : [await start(opt.capacity2), await start(opt.capacity2)];
  if (!pair.includes(first)) await stop(first);
  const two = await measure(opt.warmup);
  let oneAfter;
  if (opt.runs > 1) {
    for (const w of pair) if (w !== first) await stop(w);
    if (!workers.includes(first)) await start(opt.capacity);
    oneAfter = await measure(pair.includes(first) ? 0 : opt.warmup);
  }
  const oneRate = oneAfter ? median([one.itemsPerS, oneAfter.itemsPerS]) : one.itemsPerS;
  emit({
    ...opt, url: opt.url ? '(given)' : '', one, two, ...(oneAfter ? { oneAfter } : {}),
    itemsPerS1: oneRate, itemsPerS2: two.itemsPerS, ratio: +(two.itemsPerS / oneRate).toFixed(2),
  });
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  await fx.close();
  await sql.end();
  await db.drop();
  await server.stop();
}
