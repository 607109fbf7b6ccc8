// Diagnostic (not an issue figure): how long the runtime's event loop is held up while a
// batch runs: the lateness of a 1 ms timer (monitorEventLoopDelay) during one timed run of
// the 1-step echo flow, after a warm-up run. With SQLite `durability: full` this shows what
// the fsyncs cost the rest of the process (HTTP, event streams, other runs).
//   node --expose-gc figures/loop-delay.mjs [--store sqlite|sqlite-normal|memory] [--n 20000] [--window 64]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { args, benchConfig, emit, flows, openRuntime } from '../lib/common.mjs';

const opt = args({ store: 'sqlite', n: 20000, window: 64, warmup: 5000 });
const fx = await openRuntime(opt.store, benchConfig());
try {
  const flowId = await fx.rt.putFlow(flows.one('/bench/echo'));
  const inputs = (n) => Array.from({ length: n }, (_, i) => ({ i }));
  await fx.rt.run(flowId, inputs(opt.warmup), { maxConcurrency: opt.window });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  h.enable();
  const status = await fx.rt.run(flowId, inputs(opt.n), { maxConcurrency: opt.window });
  h.disable();
  if (status.status !== 'success') throw new Error(`run ended ${status.status}`);
  const us = (ns) => Math.round(ns / 1e3);
  emit({ ...opt, itemsPerS: Math.round(opt.n / ((performance.now() - t0) / 1000)), delayP50Us: us(h.percentile(50)), delayP99Us: us(h.percentile(99)), delayMaxUs: us(h.max) });
} finally {
  await fx.close();
}
