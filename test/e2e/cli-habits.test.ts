import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { writeRunsServerConfig } from '../helpers/runs-server-config.js';
import { runWeft, startWeft, until, WEFT_BIN } from '../helpers/weft-process.js';

// Issue #18 §4, "CLI habits": each one against the real `weft` binary.

const ECHO_FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: echo
steps:
  - id: msg
    component: /builtin/create_messages
    input: {user_prompt: {$input: prompt}}
output: {$step: msg, path: "$.messages[0].content"}
test:
  cases:
    - name: says hi
      input: {prompt: hi}
      output: {outcome: success, result: hi}
    - name: says bye
      input: {prompt: bye}
      output: {outcome: success, result: bye}
`;

const RECORD_FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: recorded
steps:
  - id: rec
    component: /runs/record
    input: {item: {$input: item}, hang_attempt: {$input: hang}, ms: {$input: ms}}
output: {$step: rec}
`;

const SLEEP_FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: sleepy
steps:
  - id: s
    component: /runs/sleep
    input: {ms: {$input: ms}, fail: {$input: fail}}
output: {$step: s}
`;

// Each test runs the weft binary several times in a row: 120 s each on a loaded machine.
describe('weft CLI habits (#18)', { timeout: 120_000 }, () => {
  let dir: string;
  let record: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-habits-'));
    record = join(dir, 'record.jsonl');
    writeFileSync(record, '');
    writeRunsServerConfig(dir, record);
    writeFileSync(join(dir, 'flow.yaml'), ECHO_FLOW);
    writeFileSync(join(dir, 'record.yaml'), RECORD_FLOW);
    writeFileSync(join(dir, 'sleep.yaml'), SLEEP_FLOW);
    writeFileSync(join(dir, 'bad.yaml'), 'schema: https://stepflow.org/schemas/v1/flow.json\nname: x\nsteps: [\n  - id: a\n');
    writeFileSync(join(dir, 'bad-config.yml'), 'plugins: [\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('weft run without --input or --input-file is a usage error naming both, and runs nothing', async () => {
    const r = await runWeft(['run', 'flow.yaml', '--store', 'memory'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--input\b/);
    expect(r.stderr).toMatch(/--input-file/);
    expect(r.stderr).not.toMatch(/started/);
    expect(r.stdout).toBe('');
  });

  it('--input-file - reads stdin: a JSON array is a batch, other text is JSON Lines; empty stdin is a usage error', async () => {
    const values = (r: { stdout: string }) => (JSON.parse(r.stdout) as RunStatus).results!.map((x) => (x.result as { value: unknown }).value);
    const array = await runWeft(['run', 'flow.yaml', '--input-file', '-', '--store', 'memory'], dir, {}, '[{"prompt":"a"},{"prompt":"b"}]');
    expect(array.code, array.stderr).toBe(0);
    expect(values(array)).toEqual(['a', 'b']);
    const lines = await runWeft(['run', 'flow.yaml', '--input-file', '-', '--store', 'memory'], dir, {}, '{"prompt":"x"}\n\n{"prompt":"y"}\n{"prompt":"z"}\n');
    expect(lines.code, lines.stderr).toBe(0);
    expect(values(lines)).toEqual(['x', 'y', 'z']);
    const bad = await runWeft(['run', 'flow.yaml', '--input-file', '-', '--store', 'memory'], dir, {}, '{"prompt":"x"}\n{oops\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/stdin:2: not valid JSON/);
    const empty = await runWeft(['run', 'flow.yaml', '--input-file', '-', '--store', 'memory'], dir, {}, '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/stdin is empty/);
  });

  it('--output json|jsonl|summary print each result once; the default stays the RunStatus', async () => {
    const batch = Array.from({ length: 200 }, (_, i) => ({ prompt: `p${i}` }));
    writeFileSync(join(dir, 'batch.json'), JSON.stringify(batch));
    const run = (output?: string) => runWeft(['run', 'flow.yaml', '--input-file', 'batch.json', '--store', 'memory', ...(output ? ['--output', output] : [])], dir);
    const [status, json, jsonl, summary] = await Promise.all([run(), run('json'), run('jsonl'), run('summary')]);
    for (const r of [status, json, jsonl, summary]) expect(r.code, r.stderr).toBe(0);

    const full = JSON.parse(status.stdout) as RunStatus;
    expect(full.results![0].result).toEqual({ outcome: 'success', value: 'p0', result: 'p0' });

    const compact = JSON.parse(json.stdout) as { status: string; items: { total: number }; results: unknown[] };
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    expect(compact.status).toBe('success');
    expect(compact.items.total).toBe(200);
    expect(compact.results[7]).toEqual({ itemIndex: 7, status: 'completed', outcome: 'success', value: 'p7' });
    expect(json.stdout.length).toBeLessThan(status.stdout.length / 2);

    const lines = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { itemIndex: number; value: string });
    expect(lines).toHaveLength(200);
    expect(lines.map((l) => l.value)).toEqual(batch.map((b) => b.prompt));

    expect(summary.stdout).toMatch(/^weft: run [0-9a-f-]{36} success: 200 succeeded, 0 failed of 200 items in .*\n$/);

    const bad = await run('yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output must be json, jsonl or summary/);
  });

  it('runs list --json prints run statuses; runs list and runs get have help text', async () => {
    const ran = await runWeft(['run', 'flow.yaml', '--input', '{"prompt":"listed"}'], dir);
    expect(ran.code, ran.stderr).toBe(0);
    const runId = (JSON.parse(ran.stdout) as RunStatus).runId;
    const list = await runWeft(['runs', 'list', '--json', '--limit', '5'], dir);
    expect(list.code, list.stderr).toBe(0);
    const runs = JSON.parse(list.stdout) as RunStatus[];
    expect(runs[0]).toMatchObject({ runId, status: 'success', flowName: 'echo', items: { total: 1, success: 1 } });

    const listHelp = await runWeft(['runs', 'list', '--help'], dir);
    expect(listHelp.code).toBe(0);
    expect(listHelp.stdout).toMatch(/list runs, newest first/);
    expect(listHelp.stdout).toMatch(/--json/);
    const getHelp = await runWeft(['runs', 'get', '--help'], dir);
    expect(getHelp.code).toBe(0);
    expect(getHelp.stdout).toMatch(/print one run's status as JSON/);
  });

  it('weft test --case NAME that matches nothing exits 2 naming the cases that exist', async () => {
    const none = await runWeft(['test', 'flow.yaml', '--case', 'says hello'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--case "says hello" matches no test case; the cases are: says hi, says bye/);
    const one = await runWeft(['test', 'flow.yaml', '--case', 'says bye'], dir);
    expect(one.code, one.stdout).toBe(0);
    expect(one.stdout).toMatch(/1 passed, 0 failed/);
  });

  it('usage errors exit 2: a config that is missing or not valid YAML, for weft components too', async () => {
    for (const args of [['components', '--config', 'missing.yml'], ['components', '--config', 'bad-config.yml'], ['runs', 'list', '--config', 'missing.yml']]) {
      const r = await runWeft(args, dir);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/(missing|bad-config)\.yml/);
    }
  });

  it('usage errors exit 2: bad --overrides (unknown step, bad $type)', async () => {
    for (const overrides of ['{"nope":{"value":{}}}', '{"msg":{"$type":"weird","value":{}}}']) {
      const r = await runWeft(['run', 'flow.yaml', '--input', '{"prompt":"a"}', '--overrides', overrides, '--store', 'memory'], dir);
      expect(r.code, overrides).toBe(2);
      expect(r.stderr).toMatch(/overrides/);
      expect(r.stdout).toBe('');
    }
  });

  it('a YAML error names the file: flow (run, validate, test), config, input file', async () => {
    const cases: [string[], RegExp][] = [
      [['run', 'bad.yaml', '--input', '{}'], /bad\.yaml: line 4/],
      [['validate', 'bad.yaml'], /bad\.yaml: line 4/],
      [['test', 'bad.yaml'], /bad\.yaml: not valid YAML/],
      [['run', 'flow.yaml', '--input', '{}', '--config', 'bad-config.yml'], /bad-config\.yml:2/],
      [['run', 'flow.yaml', '--input-file', 'bad-config.yml'], /bad-config\.yml: not valid YAML/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runWeft(args, dir);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`, args.join(' ')).toMatch(pattern);
    }
  });

  it('the progress bar (on a terminal) shows an ETA and the failures so far', () => {
    const items = Array.from({ length: 6 }, (_, i) => ({ ms: 150, fail: i % 3 === 0 }));
    writeFileSync(join(dir, 'sleep-items.json'), JSON.stringify(items));
    // `script` gives weft a pseudo-terminal, as a user's shell would (util-linux, on every Debian).
    const cmd = `stty cols 200; ${JSON.stringify(process.execPath)} ${JSON.stringify(WEFT_BIN)} run sleep.yaml --input-file sleep-items.json --max-concurrency 1 --store memory --output summary`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout).toBe(1); // two items failed
    // Each redraw starts with "cursor to column 1" (ESC [1G).
    const frames = r.stdout.split(/\r|\n/).flatMap((l) => l.split('\u001b[1G')).filter((l) => l.includes('items |'));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.some((f) => /\| ETA \d+s \|/.test(f))).toBe(true);
    expect(frames.at(-1)).toMatch(/6\/6 items .*\| 2 failed \|/);
    expect(frames.some((f) => /[1-5]\/6 items .*\| [12] failed \|/.test(f))).toBe(true);
  });

  it('SIGINT leaves the run pending (not running), marked interrupted, and prints the resume command, which finishes it', async () => {
    writeFileSync(join(dir, 'record-items.jsonl'), '{"item":0,"hang":0,"ms":0}\n{"item":1,"hang":1,"ms":0}\n');
    const p = startWeft(['run', 'record.yaml', '--input-file', 'record-items.jsonl'], dir);
    const executions = () => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { item: number; attempt: number });
    await until(() => executions().some((e) => e.item === 1 && e.attempt === 1), 30_000, 'item 1 hanging');
    await until(() => /started/.test(p.stderr()), 10_000, 'run started');
    const runId = /run ([0-9a-f-]{36}) started/.exec(p.stderr())![1];
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    // Item 0 may or may not have committed its result when the signal came.
    expect(p.stderr()).toMatch(new RegExp(`weft: SIGINT: run ${runId} interrupted \\([01] of 2 items done\\); it is pending and resumable: weft resume ${runId}\n`));
    expect(p.stdout()).toBe('');

    const got = await runWeft(['runs', 'get', runId], dir);
    expect((JSON.parse(got.stdout) as RunStatus).status).toBe('pending');
    const events = await runWeft(['events', runId], dir);
    const marker = events.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data?: Record<string, unknown> }).at(-1);
    expect(marker).toMatchObject({ type: 'run_status', data: { status: 'pending', interrupted: 'SIGINT' } });

    const resumed = await runWeft(['resume', runId], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const final = JSON.parse(resumed.stdout) as RunStatus;
    expect(final.status).toBe('success');
    expect(final.results![1].result).toMatchObject({ outcome: 'success', value: { item: 1, attempt: 2 } });
  });
});
