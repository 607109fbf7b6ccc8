import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { runWeft } from '../helpers/weft-process.js';

// The weft CLI as a user runs it: `node bin/weft.js ...` in a working directory,
// checking stdout, stderr and exit codes (0 success, 1 an item failed, 2 usage/validation).

const FLOWS = resolve(import.meta.dirname, '../fixtures/flows');

const MESSAGES_FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: messages
description: builds a chat message from the input
schemas:
  type: object
  properties:
    input:
      type: object
      required: [prompt]
      properties:
        prompt: {type: string}
    variables:
      type: object
      properties:
        system: {type: string, default: be brief}
steps:
  - id: msg
    component: /builtin/create_messages
    input:
      system_instructions: {$variable: system}
      user_prompt: {$input: prompt}
output:
  system: {$step: msg, path: "$.messages[0].content"}
  user: {$step: msg, path: "$.messages[1].content"}
`;

describe('weft CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
    writeFileSync(join(dir, 'flow.yaml'), MESSAGES_FLOW);
    writeFileSync(join(dir, 'batch.json'), JSON.stringify([{ prompt: 'a' }, { prompt: 'b' }]));
    writeFileSync(join(dir, 'batch.jsonl'), '{"prompt":"a"}\n\n{"prompt":"b"}\n{"prompt":"c"}\n');
    writeFileSync(join(dir, 'batch.yaml'), '- prompt: y1\n- prompt: y2\n');
    writeFileSync(join(dir, 'mixed.jsonl'), '{"prompt":"ok"}\n{"nope":1}\n');
    writeFileSync(join(dir, 'broken.jsonl'), '{"prompt":"ok"}\n\n{"prompt": oops}\n');
    writeFileSync(join(dir, 'bad-flow.yaml'), `schema: https://stepflow.org/schemas/v1/flow.json
name: bad
steps:
  - id: a
    component: builtin/create_messages
    input: {user_prompt: {$step: later}}
  - id: later
    component: /builtin/create_messages
    input: {user_prompt: x}
  - id: unused
    component: /builtin/create_messages
    input: {user_prompt: y}
output: {$step: a}
`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one input and prints the final status with results; exit 0', async () => {
    const r = await runWeft(['run', 'flow.yaml', '--input', '{"prompt":"hello"}'], dir);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as RunStatus;
    expect(status.status).toBe('success');
    expect(status.results![0].result).toMatchObject({ outcome: 'success', value: { system: 'be brief', user: 'hello' } });
    expect(r.stderr).toMatch(new RegExp(`run ${status.runId} started`));
    expect(existsSync(join(dir, '.weft', 'weft.db'))).toBe(true);
  });

  it('reads batches from .json arrays, .jsonl and .yaml', async () => {
    for (const [file, expected] of [['batch.json', ['a', 'b']], ['batch.jsonl', ['a', 'b', 'c']], ['batch.yaml', ['y1', 'y2']]] as const) {
      const r = await runWeft(['run', 'flow.yaml', '--input-file', file, '--max-concurrency', '2', '--store', 'memory'], dir);
      expect(r.code, r.stderr).toBe(0);
      const status = JSON.parse(r.stdout) as RunStatus;
      expect(status.results!.map((x) => (x.result as { value: { user: string } }).value.user)).toEqual(expected);
    }
  });

  it('passes --variables to the flow', async () => {
    const r = await runWeft(['run', 'flow.yaml', '--input', '{"prompt":"p"}', '--variables', '{"system":"be kind"}', '--store', 'memory'], dir);
    expect(JSON.parse(r.stdout).results[0].result.value.system).toBe('be kind');
  });

  it('exits 1 when an item fails, naming the input schema violation', async () => {
    const r = await runWeft(['run', 'flow.yaml', '--input-file', 'mixed.jsonl', '--store', 'memory'], dir);
    expect(r.code).toBe(1);
    const status = JSON.parse(r.stdout) as RunStatus;
    expect(status.status).toBe('failed');
    expect(status.items).toMatchObject({ success: 1, failed: 1 });
    expect(status.results![1].result).toMatchObject({ outcome: 'failed', error: { code: 500, kind: 'INVALID_INPUT', message: expect.stringContaining('prompt') } });
    expect(r.stderr).toMatch(new RegExp(`run ${status.runId} failed: 1 succeeded, 1 failed of 2 items in (\\d+ ms|\\d+\\.\\d s)`));
  });

  it('exits 2 on usage and validation errors, with a message saying what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['run', 'flow.yaml', '--input', '{not json'], /--input: not valid JSON/],
      [['run', 'missing.yaml', '--input', '{}'], /missing\.yaml/],
      [['run', 'flow.yaml', '--input', '{}', '--max-concurrency', '0'], /--max-concurrency must be a positive integer/],
      [['run', 'flow.yaml', '--input-file', 'nope.jsonl'], /nope\.jsonl: no such file/],
      [['run', 'bad-flow.yaml', '--input', '{}'], /bad-flow\.yaml: steps\[0\]\.input\.user_prompt.*later/],
      [['run', 'flow.yaml', '--input', '{}', '--store', 'postgres'], /--store must be/],
      [['run'], /missing required argument/],
      [['run', 'flow.yaml', '--input-file', 'broken.jsonl'], /broken\.jsonl:3: not valid JSON/],
    ];
    for (const [args, message] of cases) {
      const r = await runWeft(args, dir);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('validate prints errors with file, path and rule, and warnings; exit codes follow', async () => {
    const bad = await runWeft(['validate', 'bad-flow.yaml'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: bad-flow\.yaml:5: steps\[0\]\.component: .*\(InvalidComponent\)/);
    expect(bad.stderr).toMatch(/error: bad-flow\.yaml:6: steps\[0\]\.input\.user_prompt: .*\(UndefinedStepReference\)/);
    expect(bad.stderr).toMatch(/warning: bad-flow\.yaml:10: steps\[2\].*\(UnreachableStep\)/);
    const good = await runWeft(['validate', 'flow.yaml'], dir);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/flow\.yaml: valid/);
  });

  it("weft test runs Stepflow's example flows unchanged and ends with exactly 'N passed, N failed'", async () => {
    const r = await runWeft(['test', FLOWS], dir);
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(Number(/^(\d+)/.exec(lines.at(-1)!)![1])).toBeGreaterThanOrEqual(17);
    expect(r.stdout).toContain("✓ ");
    expect(r.stdout).toMatch(/lazy_evaluation\.yaml > lazy_evaluation_false_branch/);
  });

  it('weft test fails a wrong expectation, says why, and exits 1', async () => {
    writeFileSync(join(dir, 'tested.yaml'), `${MESSAGES_FLOW}test:
  cases:
    - name: right
      input: {prompt: hi}
      output: {outcome: success, result: {user: hi}}
    - name: wrong
      input: {prompt: hi}
      output: {outcome: success, result: {user: bye}}
`);
    const r = await runWeft(['test', 'tested.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✓ tested\.yaml > right/);
    expect(r.stdout).toMatch(/✗ tested\.yaml > wrong/);
    expect(r.stdout).toMatch(/bye/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
  });

  it('lists and gets runs from the store', async () => {
    const run = await runWeft(['run', 'flow.yaml', '--input', '{"prompt":"listed"}', '--label', 'nightly'], dir);
    const runId = (JSON.parse(run.stdout) as RunStatus).runId;
    const list = await runWeft(['runs', 'list', '--limit', '3'], dir);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toContain(runId);
    const get = await runWeft(['runs', 'get', runId, '--results'], dir);
    const status = JSON.parse(get.stdout) as RunStatus;
    expect(status).toMatchObject({ runId, status: 'success', flowLabel: 'nightly' });
    expect(status.results).toHaveLength(1);
    const unknown = await runWeft(['runs', 'get', 'no-such-run'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no-such-run/);
  });

  it('forks a run from a step with overrides, leaving the source untouched', async () => {
    const run = await runWeft(['run', 'flow.yaml', '--input', '{"prompt":"orig"}'], dir);
    const source = JSON.parse(run.stdout) as RunStatus;
    const fork = await runWeft(['fork', source.runId, '--from-step', 'msg', '--overrides', '{"msg":{"value":{"input":{"user_prompt":"forked"}}}}'], dir);
    expect(fork.code, fork.stderr).toBe(0);
    const forked = JSON.parse(fork.stdout) as RunStatus;
    expect(forked.runId).not.toBe(source.runId);
    expect(forked.results![0].result).toMatchObject({ value: { user: 'forked' } });
    const again = JSON.parse((await runWeft(['runs', 'get', source.runId, '--results'], dir)).stdout) as RunStatus;
    expect(again.results![0].result).toMatchObject({ value: { user: 'orig' } });
    const bad = await runWeft(['fork', source.runId, '--from-step', 'nope'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no step "nope"/);
  });
});
