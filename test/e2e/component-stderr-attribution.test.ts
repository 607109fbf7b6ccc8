import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { SERVERS_DIR } from '../helpers/runtime-fixture.js';
import { runWeft } from '../helpers/weft-process.js';

const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: noisy
steps:
  - id: talk
    component: /raw/stderr_while_running
    input: {lines: 2}
output: {$step: talk}
`;

type Line = { level: number; msg: string; plugin?: string; runId?: string; itemIndex?: number; stepId?: string };

// Issue 16 item 3: a component server's stderr lines, when shown, carry the plugin, run and step.
describe("component stderr lines in weft's log", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-stderr-'));
    writeFileSync(join(dir, 'flow.yaml'), FLOW);
    writeFileSync(join(dir, 'weft.config.yml'), `plugins:\n  raw: {type: stepflow, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(join(SERVERS_DIR, 'raw-server.mjs'))}]}\nroutes:\n  "/raw/{component}": [{plugin: raw}]\n`);
  });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  const shown = async (args: string[], env: Record<string, string>) => {
    const r = await runWeft(['run', 'flow.yaml', '--store', 'memory', '--input-file', join(dir, 'inputs.jsonl'), ...args], dir, env);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as RunStatus;
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
    return { status, stderr: lines.filter((l) => l.msg.startsWith('[raw] working on')) };
  };

  for (const [how, args, env] of [
    ['WEFT_COMPONENT_STDERR=verbose', [], { WEFT_COMPONENT_STDERR: 'verbose' }],
    ['--log-level debug', ['--log-level', 'debug'], {}],
  ] as const) {
    it(`with ${how}: each line names the plugin, the run, the item and the step`, async () => {
      writeFileSync(join(dir, 'inputs.jsonl'), '{}\n');
      const { status, stderr } = await shown([...args], { ...env });
      expect(stderr.map((l) => l.msg)).toEqual(['[raw] working on 2 0', '[raw] working on 2 1']);
      for (const l of stderr) expect(l).toMatchObject({ plugin: 'raw', runId: status.runId, itemIndex: 0, stepId: 'talk' });
    });
  }

  it('without either, shows none of them', async () => {
    writeFileSync(join(dir, 'inputs.jsonl'), '{}\n');
    expect((await shown([], {})).stderr).toEqual([]);
  });
});
