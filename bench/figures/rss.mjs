// Figure 6: peak RSS of the runtime process while `n` items go through a 1-step flow
// (the echo component), maxConcurrency 64. SQLite store in a temp dir: results live
// in the store, not in memory, so the figure shows what the runtime itself holds.
//   node figures/rss.mjs --n 100000 [--store sqlite|memory] [--window 64]
// RSS is process.resourceUsage().maxRSS of this process (the component server not included).
import { args, benchConfig, emit, flows, openRuntime } from '../lib/common.mjs';
import { performance } from 'node:perf_hooks';

const opt = args({ n: 100000, store: 'sqlite', window: 64 });
const rssAtOpen = process.resourceUsage().maxRSS / 1024;
const fx = await openRuntime(opt.store, benchConfig());
try {
  const flowId = await fx.rt.putFlow(flows.one('/bench/echo'));
  // A generator, as a caller streaming a file would pass: the runtime writes the items to
  // the store in chunks, so the batch never exists in memory at once.
  function* inputs() { for (let i = 0; i < opt.n; i++) yield { i }; }
  const t0 = performance.now();
  const run = await fx.rt.submit(flowId, inputs(), { maxConcurrency: opt.window });
  await fx.rt.runs.waitForRun(run.id);
  const ms = performance.now() - t0;
  const status = await run.status();
  if (status.status !== 'success' || status.items.success !== opt.n) throw new Error(`run ended ${status.status}: ${JSON.stringify(status.items)}`);
  emit({ ...opt, peakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1), rssAtStartMiB: +rssAtOpen.toFixed(1), itemsPerS: Math.round(opt.n / (ms / 1000)) });
} finally {
  await fx.close();
}
