import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../runtime/store/open-store.js';
import { SERVERS_DIR } from '../helpers/runtime-fixture.js';
import { runWeft, startWeft, until, type WeftProcess } from '../helpers/weft-process.js';

// Issue 12, guarantee 6: a run did not remember the config it was submitted with, so
// `weft resume` / `weft fork` without that --config (from another directory) failed its
// items COMPONENT_NOT_FOUND for good (1,670 of 2,000; a fork all 20); a route missing at
// resume failed items instead of leaving the run resumable; `weft resume RUN_ID` resumed
// every unfinished run and abandoned the others' in-flight steps at close.
const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: recorded
steps:
  - id: work
    component: /runs/record
    input: {item: {$input: item}, ms: 150}
output: {$step: work}
`;

describe('resume and fork continue with the config a run was submitted with (weft CLI, SQLite store, real component server)', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** The config lives in its own directory, its server given by a path relative to it; runs start from `work/`. */
  function setUp() {
    root = mkdtempSync(join(tmpdir(), 'weft-12-config-'));
    const configDir = join(root, 'config');
    const work = join(root, 'work');
    mkdirSync(configDir);
    mkdirSync(work);
    const record = join(root, 'record.jsonl');
    writeFileSync(record, '');
    writeFileSync(join(configDir, 'server.mjs'), `import ${JSON.stringify(join(SERVERS_DIR, 'runs-server.mjs'))};\n`);
    writeFileSync(join(configDir, 'weft.config.yml'), [
      'plugins:',
      '  runs:',
      '    type: stepflow',
      '    transport: stdio',
      `    command: ${JSON.stringify(process.execPath)}`,
      '    args: [./server.mjs]',
      `    env: {WEFT_RECORD: ${JSON.stringify(record)}}`,
      'routes:',
      '  "/runs/{component}": [{plugin: runs}]',
    ].join('\n'));
    writeFileSync(join(work, 'flow.yaml'), FLOW);
    const config = relative(work, join(configDir, 'weft.config.yml'));
    const executed = () => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { item: number });
    return { configDir, work, config, executed };
  }

  /** `weft run --config …` from work/, killed with SIGKILL once `after` steps ran: an unfinished run. */
  async function killedRun(ws: ReturnType<typeof setUp>, items: number[], after: number): Promise<string> {
    writeFileSync(join(ws.work, 'items.jsonl'), items.map((item) => JSON.stringify({ item })).join('\n'));
    const p: WeftProcess = startWeft(['run', '--config', ws.config, 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '2'], ws.work);
    const ran = () => ws.executed().filter((e) => items.includes(e.item)).length;
    await until(() => /run ([0-9a-f-]{36}) started/.test(p.stderr()) && ran() >= after, 30_000, 'the run started');
    p.child.kill('SIGKILL');
    await p.exited;
    return /run ([0-9a-f-]{36}) started/.exec(p.stderr())![1];
  }
  const runOf = (work: string, runId: string) => {
    const store = openStore({ type: 'sqlite', path: join(work, '.weft', 'weft.db') });
    try { return store.state.getRun(runId)!; } finally { store.close(); }
  };
  const items = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  it('`weft resume RUN_ID` and `weft fork` without --config use the run\'s own config and working directory', async () => {
    const ws = setUp();
    const runId = await killedRun(ws, items(0, 12), 2);
    const resumed = await runWeft(['resume', runId], ws.work);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runId, status: 'success', items: { success: 12, failed: 0 } });

    const fork = await runWeft(['fork', runId, '--from-step', 'work'], ws.work);
    expect(fork.code, fork.stderr).toBe(0);
    expect(JSON.parse(fork.stdout)).toMatchObject({ status: 'success', items: { success: 12, failed: 0 } });
  }, 120_000);

  it('a config whose server is gone at resume leaves the run resumable, saying so; it resumes once the server is back', async () => {
    const ws = setUp();
    const runId = await killedRun(ws, items(0, 12), 2);
    renameSync(join(ws.configDir, 'server.mjs'), join(ws.configDir, 'gone.mjs'));
    const held = await runWeft(['resume', runId], ws.work);
    expect(held.code).toBe(1);
    expect(held.stderr).toMatch(new RegExp(`run ${runId} not resumed: .*it stays resumable`));
    const after = runOf(ws.work, runId);
    expect(['running', 'pending']).toContain(after.status);
    expect(after.items).toMatchObject({ failed: 0, cancelled: 0 });

    renameSync(join(ws.configDir, 'gone.mjs'), join(ws.configDir, 'server.mjs'));
    const resumed = await runWeft(['resume', runId], ws.work);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'success', items: { success: 12 } });
  }, 120_000);

  it('`weft resume RUN_ID` continues that run only: another unfinished run is not touched', async () => {
    const ws = setUp();
    const first = await killedRun(ws, items(0, 8), 2);
    const other = await killedRun(ws, items(100, 8), 2);
    const otherBefore = ws.executed().filter((e) => e.item >= 100).length;
    const resumed = await runWeft(['resume', first], ws.work);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runId: first, status: 'success' });
    expect(ws.executed().filter((e) => e.item >= 100).length).toBe(otherBefore); // none of its steps ran
    expect(runOf(ws.work, other).status).not.toMatch(/success|failed|cancelled/);

    const later = await runWeft(['resume', other], ws.work);
    expect(JSON.parse(later.stdout)).toMatchObject({ runId: other, status: 'success', items: { success: 8 } });
  }, 120_000);
});
