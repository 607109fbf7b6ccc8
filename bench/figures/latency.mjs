// Figure 5: runs/submit with wait: true of a 1-item 1-step flow, called from a component
// server (the SDK's ctx.submitRun) `n` times in a row; latency as the component sees it.
//   node --expose-gc figures/latency.mjs [--n 2000] [--warmup 200] [--inner builtin|server] [--store memory|sqlite|postgres --url postgres://…]
// --inner: the sub-flow's one step is a builtin (/builtin/create_messages: the cost of
// runs/submit itself) or the echo component on the same server (one more round trip).
import { args, benchConfig, emit, flows, openRuntime, percentile } from '../lib/common.mjs';

const opt = args({ n: 2000, warmup: 200, inner: 'builtin', store: 'memory', url: process.env.WEFT_DATABASE_URL ?? '' });
const fx = await openRuntime(opt.store, benchConfig(), opt.url);
try {
  const inner = opt.inner === 'server' ? flows.one('/bench/echo')
    : { ...flows.one('/builtin/create_messages'), steps: [{ id: 'work', component: '/builtin/create_messages', input: { user_prompt: 'hi' } }] };
  const innerId = await fx.rt.putFlow(inner);
  const driverId = await fx.rt.putFlow(flows.one('/bench/submit_loop'));
  const status = await fx.rt.run(driverId, [{ flow_id: innerId, n: opt.n, warmup: opt.warmup }]);
  const r = status.results?.[0]?.result;
  if (status.status !== 'success' || r?.outcome !== 'success') throw new Error(`driver run ended ${status.status}: ${JSON.stringify(r).slice(0, 500)}`);
  const us = r.value.us;
  emit({ ...opt, url: opt.url ? '(given)' : '', p50: +percentile(us, 50).toFixed(1), p99: +percentile(us, 99).toFixed(1), mean: +(us.reduce((a, b) => a + b, 0) / us.length).toFixed(1) });
} finally {
  await fx.close();
}
