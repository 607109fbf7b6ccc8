import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVERS_DIR } from './runtime-fixture.js';
import { startWeft, type WeftProcess } from './weft-process.js';

/** One execution of /cluster/work, as the component server recorded it (its own file per process). */
export interface Execution { run: string; item: number; step: string; attempt: number; pid: number; start: number; end: number }

export const WORK_FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: cluster-work
steps:
  - id: work
    component: /cluster/work
    input: {item: {$input: item}, ms: {$input: ms}}
output: {$step: work}
`;

/**
 * A workspace several weft processes share on one PostgreSQL database: a config with the
 * cluster test server and short leases (TTL 1 s, heartbeat 100 ms), and a directory where
 * each component server process records what it executed.
 */
export function clusterWorkspace(url: string, opts: { capacity?: number | null; leaseTtlSecs?: number } = {}): {
  dir: string; execDir: string; env: Record<string, string>;
  /** Executions that finished (the component recorded their end). */
  executions(): Execution[];
  /** Executions of component server `pid` started and not finished (yet, or ever: killed, aborted). */
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
  const env = { WEFT_DATABASE_URL: url };
  return {
    dir, execDir, env,
    executions: () => records(execDir).filter((r) => !('started' in r)) as Execution[],
    unfinished: (pid) => {
      const lines = records(execDir).filter((r) => r.pid === pid);
      const key = (r: { run: string; item: number; attempt: number }) => `${r.run}:${r.item}:${r.attempt}`;
      const ended = new Set(lines.filter((r) => !('started' in r)).map(key));
      return lines.filter((r) => 'started' in r && !ended.has(key(r))).length;
    },
    start: (args, extra = {}) => startWeft(args, dir, { ...env, ...extra }),
  };
}

function records(execDir: string): Array<Execution | { started: true; run: string; item: number; attempt: number; pid: number }> {
  return readdirSync(execDir).flatMap((f) => readFileSync(join(execDir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

/** The most executions of one run that overlapped in time, across every process (an independent count). */
export function maxOverlap(executions: Execution[]): number {
  // At one instant an end counts before a start: a slot freed then taken is not an overlap.
  const points = executions.flatMap((e) => [[e.start, 1], [e.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0; let max = 0;
  for (const [, d] of points) { now += d; max = Math.max(max, now); }
  return max;
}
