// Figures 1, 2, 3, 4, 8: items/s of a batch run through a flow on the bench component server.
//   node --expose-gc figures/batch.mjs --flow one|chain|fanout|cpu --store memory|sqlite|sqlite-normal|postgres [--url postgres://…]
//        [--n 20000] [--window 64] [--bytes 0] [--instances 1] [--runs 3] [--warmup 5000] [--ms 0]
// --ms: the CPU milliseconds /bench/cpu spins per item (default 1, the server's).
// Prints one JSON line: median items/s of the runs and their min/max.
import { isDeepStrictEqual } from 'node:util';
import { args, benchConfig, emit, flows, measureRuns, openRuntime } from '../lib/common.mjs';

const opt = args({ flow: 'one', store: 'memory', url: process.env.WEFT_DATABASE_URL ?? '', n: 20000, window: 64, bytes: 0, instances: 1, runs: 3, warmup: 5000, ms: 0 });
const fx = await openRuntime(opt.store, benchConfig({ instances: opt.instances }), opt.url);
try {
  const flow = opt.flow === 'chain' ? flows.chain() : opt.flow === 'fanout' ? flows.fanout() : flows.one(opt.flow === 'cpu' ? '/bench/cpu' : '/bench/echo');
  const flowId = await fx.rt.putFlow(flow);
  const pad = opt.bytes > 0 ? 'x'.repeat(Math.max(0, opt.bytes - 100)) : undefined;
  const makeInputs = (n) => Array.from({ length: n }, (_, i) => (pad !== undefined ? { i, pad } : opt.ms ? { i, ms: opt.ms } : { i }));
  const expected = (i) => (opt.flow === 'chain' ? { n: 2, c: 'system' } : opt.flow === 'fanout' ? { i, n: 12 } : opt.flow === 'cpu' ? { i, spins: true } : pad === undefined ? { i } : { i, pad });
  const check = async (runId) => {
    for (const i of [0, opt.n >> 1, opt.n - 1]) {
      const item = await fx.rt.store.state.getItem(runId, i);
      const want = { outcome: 'success', result: expected(i) };
      if (!isDeepStrictEqual(item?.result, want)) throw new Error(`item ${i} of run ${runId}: got ${JSON.stringify(item?.result)?.slice(0, 200)}, want ${JSON.stringify(want).slice(0, 200)}`);
    }
  };
  const r = await measureRuns({ rt: fx.rt, flowId, makeInputs, n: opt.n, warmup: opt.warmup, runs: opt.runs, maxConcurrency: opt.window, check });
  const inputBytes = Buffer.byteLength(JSON.stringify(makeInputs(1)[0]));
  emit({ ...opt, url: opt.url ? '(given)' : '', ...r, itemsPerS: Math.round(r.itemsPerS), min: Math.round(r.min), max: Math.round(r.max), mbps: +((r.itemsPerS * inputBytes) / 1e6).toFixed(1), inputBytes });
} finally {
  await fx.close();
}
