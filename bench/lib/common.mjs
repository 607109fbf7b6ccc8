// Shared helpers for the figure scripts (each figure runs in its own process, see run.mjs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Runtime } from 'weft';

export const BENCH_DIR = resolve(import.meta.dirname, '..');
export const REPO_DIR = resolve(BENCH_DIR, '..');
export const SERVER = join(BENCH_DIR, 'servers', 'bench-server.mjs');
/** Node flags for the component server (profiling): WEFT_BENCH_CHILD_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'. */
const CHILD_NODE_ARGS = (process.env.WEFT_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean);
export const FLOW_SCHEMA = 'https://stepflow.org/schemas/v1/flow.json';

/** `--key value` / `--key=value` / `--flag` against typed defaults (as the baselines' args()). */
export function args(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    let val = m[2] ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : 'true');
    if (typeof defaults[m[1]] === 'number') val = Number(val);
    if (typeof defaults[m[1]] === 'boolean') val = val === 'true';
    out[m[1]] = val;
  }
  return out;
}

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
export const percentile = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };

/** Builtins plus the bench component server as plugin `bench` (routes /bench/{component}). */
export function benchConfig({ instances = 1, env } = {}) {
  return {
    workingDirectory: BENCH_DIR,
    plugins: {
      builtin: { type: 'builtin' },
      bench: { type: 'stepflow', transport: 'stdio', command: process.execPath, args: [...CHILD_NODE_ARGS, SERVER], instances, ...(env ? { env } : {}) },
    },
    routes: { '/builtin/{*component}': [{ plugin: 'builtin' }], '/bench/{component}': [{ plugin: 'bench' }] },
  };
}

/** Opens a Runtime on `memory` or on SQLite in a fresh temp dir (removed by close()). */
/** `store`: memory, sqlite (default durability: full, an fsync per group commit) or sqlite-normal. */
/** `extra`: more Runtime.open options (the cluster figures: `cluster`, `role`). */
export async function openRuntime(store, config, url, extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  if (store === 'sqlite-normal') config = { ...config, stateStore: { type: 'sqlite', durability: 'normal' } };
  if (store === 'postgres' && !url) throw new Error('--store postgres needs --url postgres://... (or WEFT_DATABASE_URL)');
  const rt = await Runtime.open({
    config, store: store === 'postgres' ? url : store.startsWith('sqlite') ? { type: 'sqlite', path: join(dir, 'weft.db') } : 'memory', cwd: dir, resume: false, ...extra,
  });
  return { rt, dir, close: async () => { await rt.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export const flows = {
  /** One step on a component. */
  one: (component) => ({ schema: FLOW_SCHEMA, name: `bench one ${component}`, steps: [{ id: 'work', component, input: { $input: '$' } }], output: { $step: 'work' } }),
  /** a → b on the component server, then c, a builtin. */
  chain: () => ({
    schema: FLOW_SCHEMA, name: 'bench chain',
    steps: [
      { id: 'a', component: '/bench/inc', input: { i: { $input: '$.i' } } },
      { id: 'b', component: '/bench/inc', input: { $step: 'a' } },
      { id: 'c', component: '/builtin/create_messages', input: { user_prompt: 'done', system_instructions: 'bench' } },
    ],
    output: { n: { $step: 'b', path: '$.n' }, c: { $step: 'c', path: '$.messages[0].role' } },
  }),
  /** a and b in parallel from the input, c joins them. */
  fanout: () => ({
    schema: FLOW_SCHEMA, name: 'bench fan-out fan-in',
    steps: [
      { id: 'a', component: '/bench/inc', input: { i: { $input: '$.i' } } },
      { id: 'b', component: '/bench/inc', input: { i: { $input: '$.i' }, n: 10 } },
      { id: 'c', component: '/bench/join', input: { a: { $step: 'a' }, b: { $step: 'b' } } },
    ],
    output: { $step: 'c' },
  }),
};

/**
 * Submits `n` items and waits for the run (without reading its results back: memory
 * stays what the runtime holds); returns items/s. Checks the run succeeded and spot-checks
 * item results through the store so a broken build cannot look fast.
 */
export async function timedRun(rt, flowId, inputs, maxConcurrency) {
  const t0 = performance.now();
  const run = await rt.submit(flowId, inputs, { maxConcurrency });
  await rt.runs.waitForRun(run.id);
  const ms = performance.now() - t0;
  const status = await run.status();
  if (status.status !== 'success') throw new Error(`run ${run.id} ended ${status.status}: ${JSON.stringify(status.items)}`);
  return { ms, itemsPerS: inputs.length / (ms / 1000), runId: run.id };
}

/** Warm-up, then `runs` timed runs with GC between: median items/s (and the spread). */
export async function measureRuns({ rt, flowId, makeInputs, n, warmup, runs, maxConcurrency, check }) {
  if (warmup > 0) await timedRun(rt, flowId, makeInputs(warmup), maxConcurrency);
  const rates = [];
  const child0 = childCpuMs(rt);
  const cpu0 = process.cpuUsage();
  let wall = 0;
  for (let r = 0; r < runs; r++) {
    const inputs = makeInputs(n);
    globalThis.gc?.();
    const res = await timedRun(rt, flowId, inputs, maxConcurrency);
    wall += res.ms;
    rates.push(res.itemsPerS);
    if (check) await check(res.runId);
  }
  const cpu = process.cpuUsage(cpu0);
  const child1 = childCpuMs(rt);
  return {
    parentCpuUsPerItem: +((cpu.user + cpu.system) / (n * runs)).toFixed(1),
    childCpu: child0 === undefined ? undefined : +((child1 - child0) / wall).toFixed(2),
    itemsPerS: median(rates), min: Math.min(...rates), max: Math.max(...rates),
    parentCpu: +((cpu.user + cpu.system) / 1000 / wall).toFixed(2),
    rssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  };
}

export function emit(obj) { process.stdout.write(`${JSON.stringify(obj)}\n`); }

/** CPU milliseconds used so far by the component-server processes (Linux /proc), if readable. */
export function childCpuMs(rt) {
  try {
    let ticks = 0;
    for (const plugin of rt.router.plugins()) {
      for (const pid of plugin.pids?.() ?? []) {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        ticks += Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
      }
    }
    return ticks * 10; // USER_HZ = 100
  } catch {
    return undefined;
  }
}
