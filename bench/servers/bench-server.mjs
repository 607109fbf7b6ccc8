// Component server (weft SDK) for the benchmarks.
//   /echo       any                      returns its input (the trivial component of figures 1, 2, 6, 8)
//   /inc        {i, n?}                   returns {i, n: n + 1} (steps of the 3-step chain and fan-out)
//   /join       {a, b}                    returns {i: a.i, n: a.n + b.n} (the fan-in step)
//   /cpu        {i, ms?}                  spins ms (default 1) of CPU, then returns {i} (figure 4)
//   /submit_loop {flow_id, n, gate?}      calls runs/submit wait:true on a 1-item flow n times (after
//                                         a warm-up) and returns the latency of each call in µs (figure 5);
//                                         with `gate` (a file), once it exists; `where`: each sub-run's
//                                         result's `ppid` (the cluster figure's /where: which process ran it)
//   /where      {i}                       returns {i, ppid}: the weft process that executes it (cluster)
//   /sleep      {ms}                      sleeps ms (or until cancelled): an item holding a slot (cluster)
//   /stream     {n}                       writes n small chunks ({i}) through ctx.writable as fast as the
//                                         window lets them go (figure 9)
//   /paced_stream {rate}                  emits `rate` small chunks per second until cancelled (figure 9)
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'weft/sdk';

const CPU_MS = Number(process.env.WEFT_BENCH_CPU_MS ?? 1);

createServer()
  .component('echo', {}, async (input) => input)
  .component('inc', {}, async (input) => ({ i: input.i, n: (input.n ?? 0) + 1 }))
  .component('join', {}, async (input) => ({ i: input.a.i, n: input.a.n + input.b.n }))
  .component('cpu', {}, async (input) => {
    const end = performance.now() + (input.ms ?? CPU_MS);
    let x = 0;
    while (performance.now() < end) x++;
    return { i: input.i, spins: x > 0 };
  })
  .component('where', {}, async (input) => ({ i: input.i, ppid: process.ppid }))
  .component('sleep', {}, async (input, ctx) => {
    await sleep(input.ms, undefined, { signal: ctx.signal }).catch(() => undefined);
    return { slept: true };
  })
  .component('submit_loop', {}, async (input, ctx) => {
    while (input.gate && !existsSync(input.gate)) await sleep(10);
    const where = [];
    const call = async (k) => {
      const t0 = performance.now();
      const status = await ctx.submitRun({ flowId: input.flow_id, inputs: [{ i: k }], wait: true });
      const us = (performance.now() - t0) * 1000;
      const r = status.results?.[0]?.result;
      if (status.status !== 'success' || r?.outcome !== 'success') throw new Error(`sub-run ${status.runId} ended ${status.status}: ${JSON.stringify(r)}`);
      const value = r.value ?? r.result;
      if (value?.ppid !== undefined) where.push(value.ppid);
      return us;
    };
    for (let k = 0; k < (input.warmup ?? 200); k++) await call(k);
    const us = [];
    where.length = 0;
    for (let k = 0; k < input.n; k++) us.push(await call(k));
    return { us, ...(where.length ? { where } : {}) };
  })
  .component('stream', {}, async (input, ctx) => {
    const writer = ctx.writable.getWriter();
    for (let i = 0; i < input.n; i++) await writer.write({ i });
    await writer.close();
    return { n: input.n };
  })
  .component('paced_stream', {}, async (input, ctx) => {
    const t0 = performance.now();
    let sent = 0;
    try {
      while (!ctx.signal.aborted) {
        const due = Math.floor(((performance.now() - t0) / 1000) * input.rate);
        while (sent < due) await ctx.emit({ i: sent++ });
        await sleep(1);
      }
    } catch (error) {
      if (!ctx.signal.aborted) throw error;
    }
    return { sent };
  })
  .serveStdio();
