import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRunsServerConfig } from '../helpers/runs-server-config.js';
import { startWeft, until, WEFT_BIN, type WeftProcess } from '../helpers/weft-process.js';

// Issue 12, guarantee 7: an owner record was a pid, so a dead owner whose pid was in use
// again kept its runs: `weft resume` right after `kill -9` (the killed process not yet
// reaped: a zombie, whose pid still answers kill 0) and a container restarted with weft
// as PID 1 again both said "being executed by another weft process" forever.
const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: recorded
steps:
  - id: work
    component: /runs/record
    input: {item: {$input: item}, ms: 100}
output: {$step: work}
`;

/** A new PID namespace (weft is PID 1 in it, as in a container) needs unshare and the right to use it. */
const pidNamespaces = spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0;
if (!pidNamespaces && process.env.CI === 'true') throw new Error('CI=true: unshare --pid (util-linux, as root) is needed for the PID 1 test');
if (!pidNamespaces) console.warn('skipping the PID 1 test: unshare --pid is not available here');

describe('a dead owner is recognised even when its pid is in use (weft CLI, SQLite store, real component server)', () => {
  let dir: string;
  const started: WeftProcess[] = [];
  afterEach(async () => {
    for (const p of started.splice(0)) { p.child.kill('SIGKILL'); await p.exited; }
    rmSync(dir, { recursive: true, force: true });
  });
  const workspace = () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-12-owner-'));
    const record = join(dir, 'record.jsonl');
    writeFileSync(record, '');
    writeRunsServerConfig(dir, record);
    writeFileSync(join(dir, 'flow.yaml'), FLOW);
    writeFileSync(join(dir, 'items.jsonl'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ item: i })).join('\n'));
    return { record, executed: () => readFileSync(record, 'utf8').split('\n').filter(Boolean).length };
  };
  const runIdOf = (p: WeftProcess) => /run ([0-9a-f-]{36}) started/.exec(p.stderr())?.[1];
  const run = ['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '2'];

  it('`weft resume` right after kill -9 takes the run over while the killed process is still a zombie', async () => {
    const ws = workspace();
    const p = startWeft(run, dir);
    started.push(p);
    await until(() => runIdOf(p) !== undefined && ws.executed() >= 2, 30_000, 'the run started');
    process.kill(p.child.pid!, 'SIGKILL');
    // Synchronously: this process does not reap its killed child meanwhile, so it stays a zombie.
    const resume = spawnSync(process.execPath, [WEFT_BIN, 'resume', runIdOf(p)!], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(resume.status, resume.stderr).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({ runId: runIdOf(p), status: 'success', items: { success: 30 } });
  }, 90_000);

  it.skipIf(!pidNamespaces)('a restarted "container" with weft as PID 1 again takes over the run its predecessor, also PID 1, held', async () => {
    const ws = workspace();
    // --kill-child: killing unshare kills weft (PID 1 in its namespace), and with it the namespace.
    const ns = ['-p', '-f', '--mount-proc', '--kill-child=SIGKILL', process.execPath, WEFT_BIN];
    const child = spawn('unshare', [...ns, ...run], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise((resolve) => child.on('close', resolve));
    started.push({ child, stdout: () => '', stderr: () => stderr, exited: exited as Promise<number> });
    await until(() => /run ([0-9a-f-]{36}) started/.test(stderr) && ws.executed() >= 2, 30_000, 'the run started');
    const runId = /run ([0-9a-f-]{36}) started/.exec(stderr)![1];
    child.kill('SIGKILL');
    await exited;

    const resume = spawnSync('unshare', [...ns, 'resume', runId], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(resume.status, resume.stderr).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({ runId, status: 'success', items: { success: 30 } });
  }, 90_000);
});
