// Tracing's cost, measured in one session, alternating so the machine's noise spreads
// evenly: the 1-step batch (memory store, figure 1) and `weft run` cold start (figure 7a)
// with tracing off and on (OTEL_EXPORTER_OTLP_ENDPOINT at a local OTLP/HTTP sink that
// answers 200), and, with --base DIR, the same figures of another built checkout (the
// previous main) with tracing off: "off" must not move against it.
//   node bench/tracing.mjs [--rounds 3] [--n 10000] [--reps 5] [--base /tmp/weft-base]
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { BENCH_DIR, args, median } from './lib/common.mjs';

const opt = args({ rounds: 3, n: 10000, reps: 5, base: '' });
const sink = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')); });
await new Promise((ok) => sink.listen(0, '127.0.0.1', ok));
const endpoint = `http://127.0.0.1:${sink.address().port}`;

const clean = { ...process.env };
for (const k of Object.keys(clean)) if (k.startsWith('OTEL_')) delete clean[k];
// The figure scripts run as children; the sink must keep answering meanwhile, so not execFileSync.
const figure = (dir, script, argv, env) => new Promise((ok, fail) => {
  execFile(process.execPath, ['--expose-gc', join(dir, 'figures', script), ...argv.map(String)], { env, maxBuffer: 1 << 24 },
    (error, stdout) => (error ? fail(error) : ok(JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()))));
});
const variants = [
  ...(opt.base ? [{ name: 'base (off)', dir: join(opt.base, 'bench'), env: clean }] : []),
  { name: 'off', dir: BENCH_DIR, env: clean },
  { name: 'on', dir: BENCH_DIR, env: { ...clean, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } },
];
const got = Object.fromEntries(variants.map((v) => [v.name, { batch: [], cold: [] }]));
for (let round = 1; round <= opt.rounds; round++) {
  for (const v of variants) {
    const b = await figure(v.dir, 'batch.mjs', ['--flow', 'one', '--store', 'memory', '--window', 64, '--n', opt.n, '--runs', 1, '--warmup', 3000], v.env);
    const c = await figure(v.dir, 'cold_start.mjs', ['--reps', opt.reps], v.env);
    got[v.name].batch.push(b.itemsPerS);
    got[v.name].cold.push(c.medianMs);
    process.stderr.write(`round ${round} ${v.name}: batch ${b.itemsPerS} items/s, cold start ${c.medianMs} ms\n`);
  }
}
sink.close();
const off = got.off;
const rows = variants.map((v) => {
  const b = median(got[v.name].batch); const c = median(got[v.name].cold);
  return { variant: v.name, batch_items_per_s: b, batch_vs_off: +(b / median(off.batch)).toFixed(2), cold_start_ms: c, cold_vs_off: +(c / median(off.cold)).toFixed(2) };
});
console.log('| variant | batch items/s (median) | ÷ off | cold start ms (median) | ÷ off |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.variant} | ${r.batch_items_per_s} | ${r.batch_vs_off} | ${r.cold_start_ms} | ${r.cold_vs_off} |`);
