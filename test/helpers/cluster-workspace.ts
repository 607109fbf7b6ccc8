import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVERS_DIR } from './runtime-fixture.js';
import { startWeft, type WeftProcess } from './weft-process.js';

/** One execution of /cluster/work, as the component server recorded it (its own file per process). */
export interface Execution { run: string; item: number; step: string; attempt: number; pid: number; start: number; end: number }

/** A flow of one step, `component` of the cluster test server, with `input`. */
function oneStep(name: string, component: string, input: string): string {
  return `schema: https://stepflow.org/schemas/v1/flow.json
name: ${name}
steps:
  - id: ${component}
    component: /cluster/${component}
    input: ${input}
output: {$step: ${component}}
`;
}

export const WORK_FLOW = oneStep('cluster-work', 'work', '{item: {$input: item}, ms: {$input: ms}}');
/** The other flows of the workspace, by file: one step of the component each is named after (see cluster-server.mjs). */
const FLOWS: Record<string, string> = {
  'nest.yaml': oneStep('cluster-nest', 'nest', '{depth: {$input: depth}, hold_ms: {$input: hold_ms}}'),
  'hold.yaml': oneStep('cluster-hold', 'hold', '{item: {$input: item}, ms: {$input: ms}}'),
  'ask.yaml': oneStep('cluster-ask', 'ask', '{item: {$input: item}}'),
};

/** Any record of the cluster test server (`kind` names it; none for /work's executions). */
export interface ComponentRecord { kind?: string; run: string; item: number; pid: number; attempt?: number; at?: number; start?: number; end?: number; depth?: number; child?: string; value?: unknown }

/**
 * A workspace several weft processes share on one PostgreSQL database: a config with the
 * cluster test server and short leases (TTL 1 s, heartbeat 100 ms), and a directory where
 * each component server process records what it executed.
 */
export function clusterWorkspace(url: string, opts: { capacity?: number | null; leaseTtlSecs?: number } = {}): {
  dir: string; execDir: string; env: Record<string, string>;
  /** Executions of /work that finished (the component recorded their end). */
  executions(): Execution[];
  /** Everything the component servers recorded. */
  records(): ComponentRecord[];
  /** Executions of /work by component server `pid` started and not finished (yet, or ever: killed, aborted). */
  unfinished(pid: number): number;
  start(args: string[], env?: Record<string, string>): WeftProcess;
} {
  const dir = mkdtempSync(join(tmpdir(), 'weft-cluster-'));
  const execDir = join(dir, 'exec');
  mkdirSync(execDir);
  writeFileSync(join(dir, 'weft.config.yml'), [
    'plugins:',
    '  builtin: {type: builtin}',
    '  cluster:',
    '    type: stepflow',
    '    transport: stdio',
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(join(SERVERS_DIR, 'cluster-server.mjs'))}]`,
    `    env: {WEFT_EXEC_DIR: ${JSON.stringify(execDir)}}`,
    'routes:',
    '  "/cluster/{component}": [{plugin: cluster}]',
    '  "/builtin/{*component}": [{plugin: builtin}]',
    // Capacity 0 by default: the process that submits only waits (workers pass --capacity).
    `cluster: {${opts.capacity === null ? '' : `capacity: ${opts.capacity ?? 0}, `}leaseTtlSecs: ${opts.leaseTtlSecs ?? 1}, heartbeatSecs: 0.1, pollSecs: 0.05}`,
  ].join('\n'));
  writeFileSync(join(dir, 'flow.yaml'), WORK_FLOW);
  for (const [file, flow] of Object.entries(FLOWS)) writeFileSync(join(dir, file), flow);
  const env = { WEFT_DATABASE_URL: url };
  const records = () => readdirSync(execDir).flatMap((f) => readFileSync(join(execDir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ComponentRecord));
  return {
    dir, execDir, env, records,
    executions: () => records().filter((r) => r.kind === undefined) as unknown as Execution[],
    unfinished: (pid) => {
      const mine = records().filter((r) => r.pid === pid);
      const key = (r: ComponentRecord) => `${r.run}:${r.item}:${r.attempt}`;
      const ended = new Set(mine.filter((r) => r.kind === undefined).map(key));
      return mine.filter((r) => r.kind === 'started' && !ended.has(key(r))).length;
    },
    start: (args, extra = {}) => startWeft(args, dir, { ...env, ...extra }),
  };
}

/** A `weft worker` has joined its cluster (it says so once it executes runs). */
export const workerJoined = (w: WeftProcess): boolean => /executing runs of/.test(w.stdout());

/** The component server a weft process spawned (its only child). */
export function componentPid(w: WeftProcess): number {
  return Number(readFileSync(`/proc/${w.child.pid}/task/${w.child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
}

/** The most executions of one run that overlapped in time, across every process (an independent count). */
export function maxOverlap(executions: ReadonlyArray<{ start: number; end: number }>): number {
  // At one instant an end counts before a start: a slot freed then taken is not an overlap.
  const points = executions.flatMap((e) => [[e.start, 1], [e.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0; let max = 0;
  for (const [, d] of points) { now += d; max = Math.max(max, now); }
  return max;
}
