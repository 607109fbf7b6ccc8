// Peer figure for issue 15: DBOS Transact (bench/peers/dbos, installed only for the bench)
// running weft's no-op one-step batch durably on PostgreSQL: n workflows of one step each.
//   node --expose-gc figures/dbos.mjs [--url postgres://…] [--mode queue|direct] [--n 10000]
//        [--runs 3] [--warmup 2000] [--concurrency 64] [--poll 10] [--pool 10] [--timeout 600]
// --mode queue (default): all n enqueued on a DBOS queue with workerConcurrency --concurrency
//   (the DBOS way to run a batch with bounded concurrency), polled every --poll ms.
// --mode direct: DBOS.startWorkflow without a queue, --concurrency workflows in flight.
// Without --url (or WEFT_DATABASE_URL) a throwaway cluster is started (lib/postgres.mjs).
// Prints one JSON line: median items/s of the runs, min/max. Exits 1 when DBOS cannot be
// installed or launched, or a run does not complete all n items, counted in DBOS's own tables.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { preparePeer } from '../lib/baselines.mjs';
import { args, emit, median } from '../lib/common.mjs';
import { benchPostgres } from '../lib/postgres.mjs';

const opt = args({ url: process.env.WEFT_DATABASE_URL ?? '', mode: 'queue', n: 10000, runs: 3, warmup: 2000, concurrency: 64, poll: 10, pool: 10, timeout: 600 });
const log = (line) => process.stderr.write(`${line}\n`);
const SCHEMA = 'weft_bench_dbos';
const QUEUE = 'weft_bench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class FigureError extends Error {}
const fail = (message) => { throw new FigureError(message); };

const cleanup = [];
try {
  await main();
} catch (error) {
  log(`dbos figure failed: ${error instanceof FigureError ? error.message : error.stack}`);
  process.exitCode = 1;
} finally {
  for (const step of cleanup.reverse()) await step().catch((error) => log(`# cleanup: ${error.message}`));
}

async function main() {
  if (!['queue', 'direct'].includes(opt.mode)) fail(`--mode must be queue or direct, not ${opt.mode}`);
  let peerDir;
  try {
    peerDir = preparePeer('dbos', log);
  } catch (error) {
    fail(`could not install bench/peers/dbos (@dbos-inc/dbos-sdk): ${error.message}`);
  }
  const requirePeer = createRequire(join(peerDir, 'package.json'));
  const { DBOS } = requirePeer('@dbos-inc/dbos-sdk');
  const dbosVersion = JSON.parse(readFileSync(join(peerDir, 'node_modules', '@dbos-inc', 'dbos-sdk', 'package.json'), 'utf8')).version;

  const server = opt.url ? { url: opt.url, stop: async () => {} } : await benchPostgres();
  if (!server.url) fail(server.reason);
  cleanup.push(() => server.stop());
  // A schema of its own, so a given WEFT_DATABASE_URL keeps its tables; dropped at the end.
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  cleanup.push(() => admin.end());
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  cleanup.push(() => admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`));

  // The batch: one workflow per item, its one step a no-op returning its input, as /bench/echo.
  let returned = 0;
  const work = DBOS.registerStep(async (i) => ({ i }), { name: 'work' });
  const item = DBOS.registerWorkflow(async (i) => {
    const out = await work(i);
    returned++;
    return out;
  }, { name: 'weft_bench_item' });

  // DBOS parses the URL with WHATWG URL, which wants a host name; for a Unix socket, the
  // host= parameter still decides where pg connects.
  const dbosUrl = server.url.replace(/^(postgres(?:ql)?:\/\/[^/]*@)\//, '$1localhost/');
  try {
    DBOS.setConfig({
      name: 'weft-bench', applicationVersion: '0.1.0', systemDatabaseUrl: dbosUrl, systemDatabaseSchemaName: SCHEMA,
      systemDatabasePoolSize: opt.pool, logLevel: 'error',
    });
    await DBOS.launch();
    cleanup.push(() => DBOS.shutdown());
    if (opt.mode === 'queue') await DBOS.registerQueue(QUEUE, { workerConcurrency: opt.concurrency, minPollingIntervalMs: opt.poll });
  } catch (error) {
    fail(`DBOS ${dbosVersion} did not launch on ${server.url.replace(/\/\/[^@]*@/, '//…@')}: ${error.message}`);
  }

  /** Rows DBOS itself wrote for run `tag`: workflows in SUCCESS, and recorded outputs of step `work`. */
  const counted = async (tag) => {
    const q = (sql) => admin.query(sql, [`${tag}-%`]).then((r) => r.rows[0].n);
    return {
      workflows: await q(`SELECT count(*)::int AS n FROM ${SCHEMA}.workflow_status WHERE workflow_uuid LIKE $1 AND status = 'SUCCESS'`),
      steps: await q(`SELECT count(*)::int AS n FROM ${SCHEMA}.operation_outputs WHERE workflow_uuid LIKE $1 AND function_name = 'work'`),
    };
  };

  /** Runs n items as run `tag`, until DBOS's table holds n SUCCESS rows for it: ms. */
  const timedRun = async (tag, n) => {
    returned = 0;
    const id = (i) => `${tag}-${i}`;
    const deadline = Date.now() + opt.timeout * 1000;
    const t0 = performance.now();
    let next = 0;
    // --concurrency callers: in queue mode they enqueue (the queue bounds execution), in
    // direct mode each runs its workflow to the end before starting the next.
    const caller = async () => {
      while (next < n) {
        const i = next++;
        if (opt.mode === 'queue') await DBOS.startWorkflow(item, { workflowID: id(i), queueName: QUEUE })(i);
        else await (await DBOS.startWorkflow(item, { workflowID: id(i) })(i)).getResult();
      }
    };
    await Promise.all(Array.from({ length: Math.min(opt.concurrency, n) }, caller));
    // Bodies return before DBOS writes SUCCESS: wait for them cheaply, then for the rows.
    while (returned < n && Date.now() < deadline) await sleep(2);
    let c;
    while ((c = await counted(tag)).workflows < n && Date.now() < deadline) await sleep(2);
    const ms = performance.now() - t0;
    if (c.workflows !== n || c.steps !== n) {
      fail(`run ${tag}: ${c.workflows} of ${n} workflows in SUCCESS and ${c.steps} step outputs recorded after ${(ms / 1000).toFixed(1)} s (${returned} bodies returned)`);
    }
    for (const i of [0, n >> 1, n - 1]) {
      const got = await DBOS.retrieveWorkflow(id(i)).getResult();
      if (!isDeepStrictEqual(got, { i })) fail(`run ${tag}, item ${i}: got ${JSON.stringify(got)}, want ${JSON.stringify({ i })}`);
    }
    return ms;
  };

  // Commits and WAL fsyncs per item, from the server's statistics (flushed by backends within
  // a second, hence the pauses, outside the timed runs): where a durable item's time goes.
  const serverStats = async () => {
    await sleep(1100);
    const { rows: [r] } = await admin.query('SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::float8 AS commits, (SELECT wal_sync FROM pg_stat_wal)::float8 AS syncs');
    return r;
  };
  if (opt.warmup > 0) await timedRun('warmup', opt.warmup);
  const stats0 = await serverStats();
  const rates = [];
  const cpu0 = process.cpuUsage();
  let wall = 0;
  for (let r = 0; r < opt.runs; r++) {
    globalThis.gc?.();
    const ms = await timedRun(`r${r}`, opt.n);
    wall += ms;
    rates.push(opt.n / (ms / 1000));
  }
  const cpu = process.cpuUsage(cpu0);
  const stats1 = await serverStats();
  const perItem = (k) => +((stats1[k] - stats0[k]) / (opt.n * opt.runs)).toFixed(2);
  emit({
    ...opt, url: opt.url ? '(given)' : '', dbos: dbosVersion,
    itemsPerS: Math.round(median(rates)), min: Math.round(Math.min(...rates)), max: Math.round(Math.max(...rates)),
    parentCpuUsPerItem: +((cpu.user + cpu.system) / (opt.n * opt.runs)).toFixed(1),
    parentCpu: +((cpu.user + cpu.system) / 1000 / wall).toFixed(2),
    rssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    commitsPerItem: perItem('commits'), walSyncsPerItem: perItem('syncs'),
  });
}
