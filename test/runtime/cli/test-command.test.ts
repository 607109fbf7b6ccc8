import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCommand } from '../../../runtime/cli/commands/test.js';
import type { CliIo } from '../../../runtime/cli/print-status.js';

const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: echo
steps:
  - id: msg
    component: /builtin/create_messages
    input: {user_prompt: {$input: prompt}}
output: {$step: msg, path: "$.messages[0].content"}
test:
  cases:
    - name: echoes
      input: {prompt: hi}
      output: {outcome: success, result: hi}
`;

function capture() {
  let out = '';
  const io = { stdout: { write: (s: string) => { out += s; } }, stderr: { write: () => undefined } } as unknown as CliIo;
  return { io, out: () => out };
}

// A Stepflow project folder: flows beside Kubernetes manifests, multi-document YAML and data files.
describe('weft test DIR on a Stepflow project layout', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-test-dir-'));
    mkdirSync(join(dir, 'deploy'));
    writeFileSync(join(dir, 'echo.yaml'), FLOW);
    writeFileSync(join(dir, 'deploy', 'stack.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'deploy', 'service.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: weft}\nspec: {replicas: 1}\n');
    writeFileSync(join(dir, 'data.yaml'), 'items: [1, 2, 3]\n');
    writeFileSync(join(dir, 'list.json'), '[1, 2]\n');
    writeFileSync(join(dir, 'stepflow-config.yml'), 'plugins:\n  builtin: {type: builtin}\nroutes:\n  "/builtin/{component}": [{plugin: builtin}]\n');
  });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('skips what is not a flow with one line each, and runs the flows', async () => {
    const c = capture();
    expect(await testCommand([dir], {}, c.io)).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines).toContain(`- ${rel(dir, 'data.yaml')}: skipped (not a flow: no flow \`schema\` key and no \`steps\`)`);
    expect(lines).toContain(`- ${rel(dir, 'deploy/service.yaml')}: skipped (not a flow: a Kubernetes Deployment manifest)`);
    expect(lines).toContain(`- ${rel(dir, 'deploy/stack.yaml')}: skipped (not a flow: 2 YAML documents)`);
    expect(lines).toContain(`- ${rel(dir, 'list.json')}: skipped (not a flow: not a mapping)`);
    expect(lines).toContain(`✓ ${rel(dir, 'echo.yaml')} > echoes`);
    expect(lines.filter((l) => l.includes('data.yaml'))).toHaveLength(1);
    expect(lines.at(-1)).toBe('1 passed, 0 failed');
  });

  it('still fails a file that is a flow but invalid, and one that is not valid YAML', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'no-schema.yaml'), 'name: x\nsteps:\n  - id: a\n    component: /builtin/eval\n    input: {}\n');
    writeFileSync(join(bad, 'wrong-step.yaml'), 'schema: https://stepflow.org/schemas/v1/flow.json\nsteps:\n  - component: /builtin/eval\n');
    writeFileSync(join(bad, 'broken.yaml'), 'steps: [\n');
    const c = capture();
    expect(await testCommand([bad], {}, c.io)).toBe(1);
    const out = c.out();
    expect(out).toMatch(/✗ .*no-schema\.yaml: invalid flow\n.*schema/);
    expect(out).toMatch(/✗ .*wrong-step\.yaml: invalid flow\n.*steps\[0\]/);
    expect(out).toMatch(/✗ .*broken\.yaml: not valid YAML\/JSON/);
    expect(out.trim().split('\n').at(-1)).toBe('0 passed, 3 failed');
  });
});

const rel = (dir: string, file: string) => relative(process.cwd(), join(dir, file));
