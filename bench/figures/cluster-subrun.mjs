// Issue 15, cross-process sub-run round trip: a component on process A (this script's
// runtime) calls runs/submit wait:true on a 1-item flow (/bench/where: it returns the pid of
// the weft process executing it) n times; process B is a `weft worker`. Three phases:
//   alone   A alone (capacity 1): every sub-run runs on A (the same-process figure, same store)
//   idle    A capacity 1 + B: A's slot is free while it waits, so A and B race for each child
//   busy    A capacity 16 with 15 slots held by long items + B: A does not claim for one free
//           slot (it claims when an eighth of its capacity is free), so the children run on B
//   node --expose-gc figures/cluster-subrun.mjs [--url postgres://…] [--n 500] [--warmup 100]
// Prints one JSON line: p50/p99 per phase, and where the sub-runs ran (on B: the share).
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterSettings, freshDatabase, startWorker } from '../lib/cluster.mjs';
import { args, benchConfig, emit, flows, openRuntime, percentile } from '../lib/common.mjs';
import { benchPostgres } from '../lib/postgres.mjs';

const opt = args({ url: process.env.WEFT_DATABASE_URL ?? '', n: 500, warmup: 100 });
const server = opt.url ? { url: opt.url, stop: async () => {} } : await benchPostgres();
if (!server.url) throw new Error(server.reason);
const db = await freshDatabase(server.url);
const cluster = clusterSettings();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds (polling every 10 ms), else throws naming `what`. */
async function until(pred, what, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms`);
    await sleep(10);
  }
}

/** One phase: A (capacity `capacity`, `held` slots taken by long items), then B when `withB`. */
async function phase(name, { capacity, held = 0, withB }) {
  const a = await openRuntime('postgres', benchConfig(), db.url, { cluster: { ...cluster, capacity }, role: `bench-${name}` });
  const gate = join(tmpdir(), `weft-bench-gate-${process.pid}-${name}`);
  let b;
  try {
    const innerId = await a.rt.putFlow(flows.one('/bench/where'));
    const driverId = await a.rt.putFlow(flows.one('/bench/submit_loop'));
    const me = a.rt.executorId;
    const holds = async (runId, n) => (await a.rt.runHolders(runId)).find((h) => h.executorId === me)?.items === n;
    // A alone claims the driver (and the long items) before B exists: it is A's.
    const driver = await a.rt.submit(driverId, [{ flow_id: innerId, n: opt.n, warmup: opt.warmup, ...(withB ? { gate } : {}) }]);
    await until(() => holds(driver.id, 1), `${name}: A claimed the driver`);
    let long;
    if (held > 0) {
      const sleepId = await a.rt.putFlow(flows.one('/bench/sleep'));
      long = await a.rt.submit(sleepId, Array.from({ length: held }, () => ({ ms: 600_000 })), { maxConcurrency: held });
      await until(() => holds(long.id, held), `${name}: A claimed the ${held} long items`);
    }
    if (withB) {
      b = startWorker(db.url, { capacity: 64, cluster });
      await b.joined();
      writeFileSync(gate, '');
    }
    const status = await driver.wait();
    const r = status.results?.[0]?.result;
    if (status.status !== 'success' || r?.outcome !== 'success') throw new Error(`${name}: driver ended ${status.status}: ${JSON.stringify(r).slice(0, 500)}`);
    if (long) await a.rt.cancel(long.id);
    const { us, where } = r.value;
    const onB = us.filter((_, k) => b && where[k] === b.pid);
    const onA = us.filter((_, k) => where[k] === process.pid);
    const ms = (xs, p) => (xs.length ? +(percentile(xs, p) / 1000).toFixed(2) : null);
    return { p50Ms: ms(us, 50), p99Ms: ms(us, 99), onB: +(onB.length / us.length).toFixed(3), p50MsOnB: ms(onB, 50), p50MsOnA: ms(onA, 50) };
  } finally {
    rmSync(gate, { force: true });
    await b?.stop();
    await a.close();
  }
}

try {
  const alone = await phase('alone', { capacity: 1, withB: false });
  const idle = await phase('idle', { capacity: 1, withB: true });
  const busy = await phase('busy', { capacity: 16, held: 15, withB: true });
  emit({ ...opt, url: opt.url ? '(given)' : '', alone, idle, busy });
} finally {
  await db.drop();
  await server.stop();
}
