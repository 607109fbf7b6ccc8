// Figure 9: streamed step output (issue 17).
//   node --expose-gc figures/stream.mjs --store sqlite|memory [--chunks 50000] [--n 10000] [--rate 10000] [--pairs 3]
// 1. One step writes `chunks` small chunks through ctx.writable; an in-process reader
//    (run.readable) follows them live. chunks/s persisted = chunks / time until the run is done
//    (every chunk committed); delivered = chunks / time until the reader has the last one.
// 2. A batch of `n` trivial items (window 64), alone and while another run's step emits `rate`
//    chunks/s, alternated `pairs` times: the ratio of the medians says whether the stream slows
//    other items. Prints one JSON line.
import { performance } from 'node:perf_hooks';
import { args, benchConfig, emit, flows, median, openRuntime, timedRun } from '../lib/common.mjs';

const opt = args({ store: 'sqlite', chunks: 50000, n: 10000, rate: 10000, pairs: 3, warmup: 3000 });
// The streaming component runs on a server of its own (plugin `streamer`), as a model wrapper would.
const config = benchConfig();
config.plugins.streamer = config.plugins.bench;
config.routes['/streamer/{component}'] = [{ plugin: 'streamer' }];
const fx = await openRuntime(opt.store, config);
try {
  const { rt } = fx;
  const streamFlow = await rt.putFlow(flows.one('/streamer/stream'));
  const pacedFlow = await rt.putFlow(flows.one('/streamer/paced_stream'));
  const echoFlow = await rt.putFlow(flows.one('/bench/echo'));

  // 1. Throughput of one streaming step, persisted and delivered to a live reader.
  const measure = async (chunks) => {
    const t0 = performance.now();
    const run = await rt.submit(streamFlow, [{ n: chunks }]);
    let received = 0;
    let deliveredMs = 0;
    const read = (async () => {
      for await (const c of run.readable) {
        if (c.index !== received) throw new Error(`chunk ${received} arrived as index ${c.index}`);
        if (++received === chunks) deliveredMs = performance.now() - t0;
      }
    })();
    await rt.runs.waitForRun(run.id);
    const persistedMs = performance.now() - t0;
    await read;
    if (received !== chunks) throw new Error(`the reader got ${received} of ${chunks} chunks`);
    return { persisted: chunks / (persistedMs / 1000), delivered: chunks / (deliveredMs / 1000) };
  };
  await measure(Math.min(5000, opt.chunks));
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const one = await measure(opt.chunks);
  const cpu = process.cpuUsage(cpu0);

  // 2. Other items, with and without a step streaming `rate` chunks/s beside them.
  const items = (n) => Array.from({ length: n }, (_, i) => ({ i }));
  await timedRun(rt, echoFlow, items(opt.warmup), 64);
  const alone = [];
  const beside = [];
  const streamRates = [];
  for (let p = 0; p < opt.pairs; p++) {
    globalThis.gc?.();
    alone.push((await timedRun(rt, echoFlow, items(opt.n), 64)).itemsPerS);
    globalThis.gc?.();
    const stream = await rt.submit(pacedFlow, [{ rate: opt.rate }]);
    // Let it reach its pace first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = (await rt.runs.listEvents(stream.id)).filter((e) => e.type === 'step_output').length;
    const t0 = performance.now();
    beside.push((await timedRun(rt, echoFlow, items(opt.n), 64)).itemsPerS);
    const s = (performance.now() - t0) / 1000;
    const after = (await rt.runs.listEvents(stream.id)).filter((e) => e.type === 'step_output').length;
    streamRates.push((after - before) / s);
    await stream.cancel();
  }
  const aloneMedian = median(alone);
  const besideMedian = median(beside);
  emit({
    ...opt,
    chunksPersistedPerS: Math.round(one.persisted),
    chunksDeliveredPerS: Math.round(one.delivered),
    runtimeCpuUsPerChunk: +((cpu.user + cpu.system) / opt.chunks).toFixed(1),
    itemsPerSAlone: Math.round(aloneMedian),
    itemsPerSBesideStream: Math.round(besideMedian),
    ratioBesideStream: +(besideMedian / aloneMedian).toFixed(2),
    streamChunksPerSDuringBatch: Math.round(median(streamRates)),
    alone: alone.map(Math.round),
    beside: beside.map(Math.round),
  });
} finally {
  await fx.close();
}
