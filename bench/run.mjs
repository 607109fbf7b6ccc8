// weft's benchmark: every figure of issue 5 in its own child process (fair, isolated GC),
// beside the baselines of ../shared/bench/baselines measured in the same session.
//   npm run bench                    full run, one Markdown table (about 5 minutes)
//   npm run bench -- --quick         smaller N, one run each: under 60 s (peak_rss_mb_1m at 250k items)
//   npm run bench -- --json          one JSON object per figure instead of the table
//   npm run bench -- --only batch,latency   a subset (figure groups: batch sqlite postgres dbos
//                                    cluster three_step instances latency rss cold_start payload stream)
// Figures are ratios to baselines measured side by side: the machine is noisy, absolute
// numbers are not comparable across sessions. Progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR, args } from './lib/common.mjs';
import { prepareBaselines, preparePeer } from './lib/baselines.mjs';
import { benchPostgres } from './lib/postgres.mjs';

const opt = args({ quick: false, json: false, only: '' });
const only = opt.only ? new Set(opt.only.split(',')) : undefined;
const want = (group) => !only || only.has(group);
const log = (line) => process.stderr.write(`${line}\n`);
const started = Date.now();

if (!existsSync(join(REPO_DIR, 'dist', 'runtime', 'api', 'index.js'))) {
  log('# dist/ is missing: npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
}

const Q = opt.quick;
const N = Q ? 10000 : 20000;
const tput = ['--n', N, '--runs', Q ? 1 : 3, '--warmup', Q ? 3000 : 5000];
const big = ['--n', Q ? 40 : 200, '--runs', Q ? 1 : 3, '--warmup', Q ? 5 : 20, '--bytes', 1000000];
const P = {
  // cluster: 1 weft worker, then 2 (then 1 again), the submitter executing nothing.
  cluster: ['--n', Q ? 3000 : 10000, '--runs', Q ? 1 : 3, '--warmup', Q ? 1000 : 2000],
  clusterCpu: ['--flow', 'cpu', '--n', Q ? 1000 : 4000, '--runs', Q ? 1 : 3, '--warmup', Q ? 200 : 500],
  // The same with 5 ms of CPU per item: the component's work dwarfs weft's and PostgreSQL's (~0.4 ms per item).
  clusterCpu5: ['--flow', 'cpu', '--ms', 5, '--n', Q ? 600 : 2000, '--runs', Q ? 1 : 3, '--warmup', Q ? 100 : 200],
  cpu: ['--n', Q ? 600 : 3000, '--runs', Q ? 1 : 3, '--warmup', Q ? 100 : 300],
  three: ['--n', Q ? 5000 : N, '--runs', Q ? 1 : 3, '--warmup', Q ? 2000 : 2000],
  latency: ['--n', 2000, '--warmup', Q ? 100 : 200],
  rss1m: Q ? 250000 : 1000000,
  coldReps: Q ? 5 : 10,
  spawnReps: Q ? 5 : 20,
};

// ---- baselines -----------------------------------------------------------------------
let baseDir;
let baseNote;
try {
  const b = prepareBaselines(log);
  baseDir = b.dir;
  baseNote = b.reason;
} catch (error) {
  baseNote = `baselines unavailable (${error.message.split('\n')[0]}): weft figures are printed with baseline: null`;
}
if (baseNote) log(`# ${baseNote}`);

function runScript(cwd, script, argv, { gc = true } = {}) {
  const t0 = Date.now();
  const out = execFileSync(process.execPath, [...(gc ? ['--expose-gc'] : []), script, ...argv.map(String)], {
    cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
  });
  const rows = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  log(`  ${script} ${argv.join(' ')} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${rows.map((r) => JSON.stringify(r)).join(' ')}`);
  return rows;
}
const baseline = (script, argv) => (baseDir ? runScript(baseDir, script, argv) : undefined);
const weft = (figure, argv, o) => runScript(BENCH_DIR, join('figures', `${figure}.mjs`), argv, o)[0];

// ---- figures ---------------------------------------------------------------------------
const rows = [];
const row = (name, value, unit, base, against, target, better = 'higher', note) => {
  const ratio = base === undefined || base === null || !value ? null : +(value / base).toFixed(2);
  // undefined (not null): a baseline was wanted but could not be measured; say why.
  if (base === undefined && baseNote) note = note ? `${note}; ${baseNote}` : baseNote;
  rows.push({
    name, value: value === undefined ? null : value, unit, baseline: base ?? null, ratio,
    against: base === undefined || base === null ? null : against, target: target ?? null, better, ...(note ? { note } : {}),
  });
};
const rps = (r) => r?.[0]?.rps;

log(`# weft bench${Q ? ' --quick' : ''}: node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}, load ${os.loadavg()[0].toFixed(2)}`);
let batchMem;
if (want('batch') || want('sqlite') || want('three_step')) {
  log('# 1. batch_items_per_s');
  const raw = rps(baseline('raw-ndjson.mjs', ['--window', 64, ...tput]));
  const lsp = rps(baseline('jsonrpc.mjs', ['--window', 64, ...tput]));
  const nd = rps(baseline('jsonrpc.mjs', ['--window', 64, '--transport', 'ndjson', ...tput]));
  const mcp = rps(baseline('mcp.mjs', ['--window', 64, ...tput]));
  batchMem = weft('batch', ['--flow', 'one', '--store', 'memory', '--window', 64, ...tput]).itemsPerS;
  row('batch_items_per_s', batchMem, 'items/s', lsp, 'vscode-jsonrpc (Content-Length) req/s', '≥ 1.1×');
  row('batch_items_per_s_vs_mcp_sdk', batchMem, 'items/s', mcp, 'MCP SDK callTool req/s', '≥ 1.1×');
  row('batch_items_per_s_vs_jsonrpc_ndjson', batchMem, 'items/s', nd, 'vscode-jsonrpc + NDJSON req/s', '≥ 0.75×');
  row('batch_items_per_s_vs_raw_ndjson', batchMem, 'items/s', raw, 'raw NDJSON req/s', '≥ 0.4×');
}
let batchSqlite;
if (want('sqlite')) {
  log('# 2. batch_items_per_s_sqlite');
  const v = batchSqlite = weft('batch', ['--flow', 'one', '--store', 'sqlite', '--window', 64, ...tput]).itemsPerS;
  row('batch_items_per_s_sqlite', v, 'items/s', batchMem, 'batch_items_per_s (memory store)', '≥ 0.8×');
  // The default fsyncs every group commit (a power cut loses nothing acknowledged);
  // durability: normal survives a process crash only.
  const n = weft('batch', ['--flow', 'one', '--store', 'sqlite-normal', '--window', 64, ...tput]).itemsPerS;
  row('batch_items_per_s_sqlite_normal', n, 'items/s', batchMem, 'batch_items_per_s (memory store)', '');
}
let pgServer;
let batchPg;
if (want('postgres')) {
  log('# 2b. batch_items_per_s_pg, submit_wait_latency_p50_us_pg (PostgreSQL: WEFT_DATABASE_URL, else a throwaway cluster)');
  pgServer = await benchPostgres();
  if (pgServer.url) {
    const url = ['--url', pgServer.url];
    // The same flow and window as the SQLite figure, measured next to it.
    batchSqlite ??= weft('batch', ['--flow', 'one', '--store', 'sqlite', '--window', 64, ...tput]).itemsPerS;
    const v = batchPg = weft('batch', ['--flow', 'one', '--store', 'postgres', ...url, '--window', 64, ...tput]).itemsPerS;
    row('batch_items_per_s_pg', v, 'items/s', batchSqlite, 'batch_items_per_s_sqlite', '≥ 0.33×');
    const sqliteLatency = weft('latency', [...P.latency, '--store', 'sqlite']).p50;
    const l = weft('latency', [...P.latency, '--store', 'postgres', ...url]).p50;
    row('submit_wait_latency_p50_us_pg', l, 'µs', sqliteLatency, 'submit_wait_latency_p50_us on SQLite', null, 'lower');
  } else {
    log(`# PostgreSQL figures skipped: ${pgServer.reason}`);
    row('batch_items_per_s_pg', undefined, 'items/s', null, null, '≥ 0.33×', 'higher', pgServer.reason);
  }
  await pgServer.stop?.();
}
if (want('dbos')) {
  log('# 2c. batch_items_per_s_pg_vs_dbos (DBOS Transact from bench/peers/dbos: the same 1-step batch, durable on the same PostgreSQL)');
  let note;
  try {
    preparePeer('dbos', log);
  } catch (error) {
    note = `DBOS could not be installed (${error.message.split('\n')[0]})`;
  }
  pgServer = await benchPostgres();
  if (!pgServer.url) note = pgServer.reason;
  if (note) {
    log(`# DBOS figures skipped: ${note}`);
    row('batch_items_per_s_pg_vs_dbos', batchPg, 'items/s', null, null, '> 1×', 'higher', note);
  } else {
    const url = ['--url', pgServer.url];
    batchPg ??= weft('batch', ['--flow', 'one', '--store', 'postgres', ...url, '--window', 64, ...tput]).itemsPerS;
    // weft's window 64 is the queue's workerConcurrency; DBOS polls its queue every 1 s by
    // default (64 items/s at most), so the peer polls every 10 ms.
    const dbos = ['--n', Q ? 2000 : 5000, '--runs', Q ? 1 : 3, '--warmup', Q ? 300 : 1000, '--concurrency', 64, '--poll', 10, ...url];
    const d = weft('dbos', ['--mode', 'queue', ...dbos]);
    row('batch_items_per_s_pg_vs_dbos', batchPg, 'items/s', d.itemsPerS, `DBOS ${d.dbos}: a workflow of 1 step per item on a queue, workerConcurrency 64`, '> 1×');
    // weft's cluster on the same server: 2 workers sharing one run, the submitter executing nothing.
    const c = weft('cluster', [...P.cluster, ...url]);
    row('cluster_items_per_s_vs_dbos', c.itemsPerS2, 'items/s', d.itemsPerS, `DBOS ${d.dbos} (queue, one process) on the same server`, '> 1×', 'higher', `2 weft workers; 1 worker: ${c.itemsPerS1} items/s`);
    if (!Q) {
      const direct = weft('dbos', ['--mode', 'direct', ...dbos]);
      row('batch_items_per_s_pg_vs_dbos_direct', batchPg, 'items/s', direct.itemsPerS, `DBOS ${direct.dbos}: DBOS.startWorkflow without a queue, 64 in flight`, '> 1×');
    }
  }
  await pgServer.stop?.();
}
if (want('cluster')) {
  log('# 2d. cluster (issue 15): 2 weft workers vs 1 on one run, cross-process sub-runs, failover (PostgreSQL)');
  pgServer = await benchPostgres();
  if (pgServer.url) {
    const url = ['--url', pgServer.url];
    const tp = weft('cluster', [...P.cluster, ...url]);
    row('cluster_items_per_s', tp.itemsPerS2, 'items/s', tp.itemsPerS1, '1 weft worker, the same run (submitter: capacity 0)', '≥ 0.9×', 'higher',
      `no-op 1-step items, window 64; 1 worker ${tp.oneAfter ? `${tp.one.itemsPerS} before, ${tp.oneAfter.itemsPerS} after` : tp.one.itemsPerS}; items per worker with 2: ${tp.two.shares.join(' + ')}`);
    // 2 workers of capacity 32 against 1 of 64 (the same slots): with 64 each, the worker that
    // claims the run's 64-item window first keeps it (see RESULTS.md, "Cluster figures").
    const cpu = weft('cluster', [...P.clusterCpu, '--capacity2', 32, ...url]);
    // What the machine allows now: the same items in one process with 2 component-server instances.
    const inst = [1, 2].map((k) => weft('batch', ['--flow', 'cpu', '--store', 'postgres', ...url, '--instances', k, '--window', 64, ...P.clusterCpu.slice(2)]).itemsPerS);
    row('cluster_items_per_s_cpu', cpu.itemsPerS2, 'items/s', cpu.itemsPerS1, '1 weft worker (capacity 64), the same run', '≥ 1.6×', 'higher',
      `~1 ms of CPU per item in the component server; 2 workers of capacity 32, items each: ${cpu.two.shares.join(' + ')}; `
      + `one process with 2 component instances instead of 1, same store: ${(inst[1] / inst[0]).toFixed(2)}× (${inst.join(' → ')} items/s)`);
    const cpu5 = weft('cluster', [...P.clusterCpu5, '--capacity2', 32, ...url]);
    const inst5 = [1, 2].map((k) => weft('batch', ['--flow', 'cpu', '--store', 'postgres', ...url, '--instances', k, '--window', 64, ...P.clusterCpu5.slice(2)]).itemsPerS);
    row('cluster_items_per_s_cpu_5ms', cpu5.itemsPerS2, 'items/s', cpu5.itemsPerS1, '1 weft worker (capacity 64), the same run', '≥ 1.6×', 'higher',
      `5 ms of CPU per item in the component server; 2 workers of capacity 32, items each: ${cpu5.two.shares.join(' + ')}; `
      + `one process with 2 component instances instead of 1, same store: ${(inst5[1] / inst5[0]).toFixed(2)}× (${inst5.join(' → ')} items/s)`);
    if (!Q) {
      const mono = weft('cluster', [...P.clusterCpu, ...url]);
      row('cluster_items_per_s_cpu_capacity_64', mono.itemsPerS2, 'items/s', mono.itemsPerS1, '1 weft worker (capacity 64), the same run', null, 'higher',
        `2 workers of capacity 64 on a window of 64, items each: ${mono.two.shares.join(' + ')}`);
    }
    const sub = weft('cluster-subrun', ['--n', Q ? 80 : 500, '--warmup', Q ? 10 : 100, ...url]);
    row('cluster_subrun_round_trip_p50_ms', sub.busy.p50MsOnB, 'ms', sub.alone.p50Ms, 'the same sub-run executed on A itself (A alone)', '≤ 10 ms', 'lower',
      `a component on A submits a 1-item sub-run with wait: true, executed on B (${Math.round(sub.busy.onB * 100)} % on B: A busy, 15 of 16 slots held); p99 ${sub.busy.p99Ms} ms`);
    row('cluster_subrun_round_trip_p50_ms_idle_a', sub.idle.p50Ms, 'ms', sub.alone.p50Ms, 'the same sub-run executed on A itself (A alone)', null, 'lower',
      `A capacity 1, idle while it waits: ${Math.round(sub.idle.onB * 100)} % of the sub-runs ran on B${sub.idle.p50MsOnB ? ` (p50 ${sub.idle.p50MsOnB} ms there)` : ''}, the rest on A`);
    const fail = (signal, ttl, reps) => weft('cluster-failover', ['--signal', signal, '--ttl', ttl, '--reps', reps, ...url]);
    const kill = fail('SIGKILL', 2, Q ? 1 : 3);
    row('cluster_failover_ms_sigkill', kill.allMs, 'ms', null, null, '≤ TTL + 5 s (7,000)', 'lower',
      `leaseTtlSecs 2; all 8 items of the killed worker held by the other one; same host: a gone pid is dead at the next sweep (≤ 1.2 s), not after the lease; each ${kill.each.map((r) => r.allMs).join(', ')}`);
    const stop = fail('SIGSTOP', 2, Q ? 1 : 3);
    row('cluster_failover_ms_sigstop', stop.allMs, 'ms', null, null, '≤ TTL + 5 s (7,000)', 'lower',
      `leaseTtlSecs 2, heartbeat 0.5 s; a silent process (as a remote host): dead when its lease expires; each ${stop.each.map((r) => r.allMs).join(', ')}`);
    if (!Q) {
      const slow = fail('SIGSTOP', 10, 1);
      row('cluster_failover_ms_sigstop_default_ttl', slow.allMs, 'ms', null, null, '≤ TTL + 5 s (15,000)', 'lower', 'the default leaseTtlSecs 10 (heartbeat 0.5 s)');
    }
  } else {
    log(`# cluster figures skipped: ${pgServer.reason}`);
    row('cluster_items_per_s', undefined, 'items/s', null, null, '≥ 0.9×', 'higher', pgServer.reason);
  }
  await pgServer.stop?.();
}
if (want('three_step')) {
  log('# 3. three_step_items_per_s');
  for (const flow of ['chain', 'fanout']) {
    const v = weft('batch', ['--flow', flow, '--store', 'memory', '--window', 64, ...P.three]).itemsPerS;
    row(`three_step_items_per_s_${flow}`, v, 'items/s', batchMem, 'batch_items_per_s (1 step)', null);
    row(`three_step_us_per_step_${flow}`, +(1e6 / v / 3).toFixed(1), 'µs/step', batchMem ? +(1e6 / batchMem).toFixed(1) : null, 'µs per 1-step item', null, 'lower');
  }
}
if (want('instances')) {
  log('# 4. instances_scaling (~1 ms CPU per item)');
  const one = weft('batch', ['--flow', 'cpu', '--instances', 1, '--window', 64, ...P.cpu]).itemsPerS;
  const two = weft('batch', ['--flow', 'cpu', '--instances', 2, '--window', 64, ...P.cpu]).itemsPerS;
  row('instances_scaling', two, 'items/s', one, 'instances: 1', '≥ 1.5×');
}
if (want('latency')) {
  log('# 5. submit_wait_latency');
  const rtt = baseline('raw-ndjson.mjs', ['--window', 1, '--n', 2000, '--runs', Q ? 1 : 3, '--warmup', 500])?.[0]?.usPerReq;
  const r = weft('latency', [...P.latency]);
  row('submit_wait_latency_p50_us', r.p50, 'µs', rtt, 'raw NDJSON round trip, window 1', '≤ 3×', 'lower');
  row('submit_wait_latency_p99_us', r.p99, 'µs', rtt, 'raw NDJSON round trip, window 1', null, 'lower');
}
if (want('rss')) {
  log('# 6. peak_rss (SQLite store)');
  const a = weft('rss', ['--n', 100000], { gc: false }).peakRssMiB;
  const b = weft('rss', ['--n', P.rss1m], { gc: false }).peakRssMiB;
  row('peak_rss_mb_100k', a, 'MiB', null, null, '≤ 200', 'lower');
  row('peak_rss_mb_1m', b, 'MiB', a, 'peak_rss_mb_100k', '≤ 300', 'lower', Q ? `quick: ${P.rss1m.toLocaleString('en-US')} items (1,000,000 take over a minute)` : undefined);
}
if (want('cold_start')) {
  log('# 7. cold_start_ms, spawn + handshake');
  const c = weft('cold_start', ['--reps', P.coldReps], { gc: false });
  row('cold_start_ms', c.medianMs, 'ms', null, null, '≤ 300', 'lower');
  const base = baseline('spawn-latency.mjs', ['--via', 'jsonrpc', '--reps', P.spawnReps])?.[0]?.medianMs;
  const s = weft('spawn', ['--reps', P.spawnReps], { gc: false });
  row('spawn_handshake_ms', s.medianMs, 'ms', base, 'vscode-jsonrpc spawn + first round trip', '≤ 1.2×', 'lower');
}
if (want('payload')) {
  log('# 8. payload_mb_per_s (1 MB items)');
  const base = baseline('raw-ndjson.mjs', ['--window', 64, ...big])?.[0]?.mbps;
  const r = weft('batch', ['--flow', 'one', '--store', 'memory', '--window', 64, ...big]);
  row('payload_mb_per_s', r.mbps, 'MB/s', base, 'raw NDJSON, same message size', '≥ 0.9×');
}

if (want('stream')) {
  log('# 9. streamed step output (SQLite store): chunks/s, and other items beside a 10,000 chunks/s stream');
  const r = weft('stream', ['--store', 'sqlite', '--chunks', Q ? 20000 : 50000, '--n', Q ? 5000 : 10000, '--pairs', Q ? 1 : 3, '--rate', 10000]);
  row('stream_chunks_persisted_per_s', r.chunksPersistedPerS, 'chunks/s', null, null, '', 'higher', `one step writing small chunks through ctx.writable; ${r.runtimeCpuUsPerChunk} µs of runtime CPU per chunk`);
  row('stream_chunks_delivered_per_s', r.chunksDeliveredPerS, 'chunks/s', r.chunksPersistedPerS, 'stream_chunks_persisted_per_s', '', 'higher', 'to a live run.readable reader');
  row('batch_items_per_s_beside_stream', r.itemsPerSBesideStream, 'items/s', r.itemsPerSAlone, `the same batch alone (SQLite, N = ${Q ? '5,000' : '10,000'})`, '≥ 0.9×', 'higher',
    `another run's step emitting ${r.streamChunksPerSDuringBatch.toLocaleString('en-US')} chunks/s meanwhile; alone ${r.alone.join(', ')}, beside ${r.beside.join(', ')}`);
}

// ---- output -----------------------------------------------------------------------------
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (opt.json) {
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const fmt = (x) => (x === null || x === undefined ? '–' : typeof x === 'number' ? x.toLocaleString('en-US', { maximumFractionDigits: x < 100 ? 1 : 0 }) : x);
  console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${Q ? 'quick (N = 10,000, one run)' : `N = ${N.toLocaleString('en-US')}, median of 3 runs`}; ${seconds} s${baseNote ? `; ${baseNote}` : ''}\n`);
  console.log('| figure | weft | unit | baseline | against | ratio | target |');
  console.log('|---|--:|---|--:|---|--:|---|');
  for (const r of rows) console.log(`| ${r.name}${r.note ? ` (${r.note})` : ''} | ${fmt(r.value)} | ${r.unit} | ${fmt(r.baseline)} | ${r.against ?? ''} | ${r.ratio === null ? '' : `${r.ratio}×`} | ${r.target ?? ''} |`);
}
log(`# done in ${seconds} s`);
