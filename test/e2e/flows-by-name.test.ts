import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { writeRunsServerConfig } from '../helpers/runs-server-config.js';
import { runWeft } from '../helpers/weft-process.js';
import { startWeftServer } from '../helpers/weft-server.js';
import { httpCall } from '../helpers/http-call.js';

// Issue #18 §2: a stored flow's name keeps working after the flow is edited, and
// `weft validate` asks the component servers whether each component exists.

const V1 = `schema: https://stepflow.org/schemas/v1/flow.json
name: greet
steps:
  - id: a
    component: /builtin/create_messages
    input: {user_prompt: {$input: who}}
output: {$step: a, path: "$.messages[0].content"}
`;
const V2 = `schema: https://stepflow.org/schemas/v1/flow.json
name: greet
steps:
  - id: a
    component: /builtin/create_messages
    input: {user_prompt: {$input: who}}
  - id: b
    component: /builtin/create_messages
    input: {user_prompt: {$step: a, path: "$.messages[0].content"}, system_instructions: v2}
output: {$step: b, path: "$.messages[0].content"}
`;

const TYPO = `schema: https://stepflow.org/schemas/v1/flow.json
name: typo
description: a misspelt component
steps:
  - id: ok
    component: /runs/echo
    input: {$input: "$"}
  - id: typo
    component: /runs/slep
    input: {ms: 1}
output: {a: {$step: ok}, b: {$step: typo}}
`;

// Each test runs the weft binary several times in a row: 120 s each on a loaded machine.
describe('flows by name, and weft validate against the servers (#18 §2)', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-flows-'));
    writeRunsServerConfig(dir, join(dir, 'record.jsonl'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a name runs its newest version; flows list shows the versions; old ones run by id; runs keep theirs', async () => {
    writeFileSync(join(dir, 'greet.yaml'), V1);
    const first = await runWeft(['run', 'greet.yaml', '--input', '{"who":"one"}'], dir);
    expect(first.code, first.stderr).toBe(0);
    const v1 = JSON.parse(first.stdout) as RunStatus;
    writeFileSync(join(dir, 'greet.yaml'), V2);
    const second = await runWeft(['run', 'greet.yaml', '--input', '{"who":"two"}'], dir);
    expect(second.code, second.stderr).toBe(0);
    const v2 = JSON.parse(second.stdout) as RunStatus;
    expect(v2.flowId).not.toBe(v1.flowId);

    // Before: `2 flows are named "greet" ...; use a flow id`.
    const byName = await runWeft(['run', 'greet', '--input', '{"who":"three"}'], dir);
    expect(byName.code, byName.stderr).toBe(0);
    expect(JSON.parse(byName.stdout)).toMatchObject({ flowId: v2.flowId, flowName: 'greet' });

    const list = await runWeft(['flows', 'list'], dir);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^greet  2 versions\\n  ${v2.flowId}  \\S+  2 steps  newest: runs by name\\n  ${v1.flowId}  \\S+  1 step\\n`, 'm'));
    const json = JSON.parse((await runWeft(['flows', 'list', '--json'], dir)).stdout) as { name: string; versions: { flowId: string; steps: number; createdAt: string }[] }[];
    expect(json.find((f) => f.name === 'greet')!.versions.map((v) => [v.flowId, v.steps])).toEqual([[v2.flowId, 2], [v1.flowId, 1]]);

    const old = await runWeft(['run', v1.flowId, '--input', '{"who":"old"}'], dir);
    expect(old.code, old.stderr).toBe(0);
    expect(JSON.parse(old.stdout)).toMatchObject({ flowId: v1.flowId, results: [{ result: { value: 'old' } }] });

    const kept = JSON.parse((await runWeft(['runs', 'get', v1.runId], dir)).stdout) as RunStatus;
    expect(kept.flowId).toBe(v1.flowId);

    const missing = await runWeft(['run', 'nope', '--input', '{}'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope/);
  });

  it('over HTTP too: POST /runs with a name runs the newest version', async () => {
    const server = await startWeftServer(dir, ['--store', 'memory']);
    try {
      const put = async (text: string) => (await httpCall(server.url, 'POST', '/flows', { body: text, contentType: 'application/yaml' })).json as { flowId: string };
      const old = await put(V1.replace('name: greet', 'name: greet_http'));
      const newest = await put(V2.replace('name: greet', 'name: greet_http'));
      const run = await httpCall(server.url, 'POST', '/runs', { body: { flowId: 'greet_http', inputs: [{ who: 'h' }], wait: true } });
      expect(run.status, run.text).toBe(200);
      expect(run.json).toMatchObject({ flowId: newest.flowId, status: 'success' });
      expect(old.flowId).not.toBe(newest.flowId);
    } finally {
      await server.stop();
    }
  });

  it('validate asks the servers: a misspelt component is an error with a line number and a "did you mean"', async () => {
    writeFileSync(join(dir, 'typo.yaml'), TYPO);
    const r = await runWeft(['validate', 'typo.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: typo.yaml:9: steps[1].component: plugin "runs" has no component "/slep"; did you mean "/runs/sleep"? (UnknownComponent)');
    expect(r.stderr).not.toMatch(/steps\[0\]/);
    expect(r.stdout).toBe('typo.yaml: 1 error, 0 warnings\n');

    writeFileSync(join(dir, 'fixed.yaml'), TYPO.replace('/runs/slep', '/runs/sleep'));
    const fixed = await runWeft(['validate', 'fixed.yaml'], dir);
    expect(fixed.code, fixed.stderr).toBe(0);

    // Nothing close: the listed components are named instead.
    writeFileSync(join(dir, 'far.yaml'), TYPO.replace('/runs/slep', '/runs/completely_different'));
    const far = await runWeft(['validate', 'far.yaml'], dir);
    expect(far.stderr).toMatch(/has no component "\/completely_different" \(it has: .*\/sleep/);

    const offline = await runWeft(['validate', 'typo.yaml', '--no-servers'], dir);
    expect(offline.code, offline.stderr).toBe(0);
  });

  it('validate reports a component server that cannot start, once, as an error', async () => {
    writeFileSync(join(dir, 'broken.config.yml'), [
      'plugins:',
      '  builtin: {type: builtin}',
      '  runs: {type: stepflow, transport: stdio, command: /nonexistent/server}',
      'routes:',
      '  "/runs/{component}": [{plugin: runs}]',
      '  "/builtin/{*component}": [{plugin: builtin}]',
    ].join('\n'));
    writeFileSync(join(dir, 'fixed.yaml'), TYPO.replace('/runs/slep', '/runs/sleep'));
    const r = await runWeft(['validate', 'fixed.yaml', '--config', 'broken.config.yml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/ComponentServerUnavailable/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/error: fixed\.yaml:6: steps\[0\]\.component: cannot check component "\/runs\/echo": plugin "runs" did not list its components/);
  });
});
