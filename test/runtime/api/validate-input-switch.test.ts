import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../runtime/api/load-config.js';
import { Runtime } from '../../../runtime/api/runtime.js';
import { configureLogging } from '../../../runtime/telemetry/logger.js';
import { FLOW_SCHEMA } from '../../helpers/runtime-fixture.js';

const FLOW = {
  schema: FLOW_SCHEMA, name: 'typed',
  schemas: { type: 'object', properties: { input: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } },
  steps: [{ id: 'eval', component: '/builtin/eval', input: { flow: { $literal: { schema: FLOW_SCHEMA, steps: [], output: { $input: 'n' } } }, input: { $input: '' } } }],
  output: { n: { $step: 'eval', path: '$.result.result' } },
};
const BAD = [{ n: 'one' }, { n: null }, { n: 2.5 }];

async function runWith(configYaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-validate-input-'));
  writeFileSync(join(dir, 'weft.config.yml'), configYaml);
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (b: Buffer) => lines.push(...b.toString().trim().split('\n')));
  configureLogging({ stream, level: 'warn' });
  const rt = await Runtime.open({ config: loadConfig(join(dir, 'weft.config.yml')), store: 'memory', cwd: dir });
  try {
    const status = await rt.run(await rt.putFlow(FLOW as never), BAD);
    await new Promise((r) => setImmediate(r));
    return { status, warnings: lines.map((l) => JSON.parse(l) as { msg: string; runId?: string }) };
  } finally {
    await rt.close();
    configureLogging();
    rmSync(dir, { recursive: true, force: true });
  }
}

const CONFIG = 'plugins:\n  builtin: {type: builtin}\nroutes:\n  "/builtin/{component}": [{plugin: builtin}]\n';

describe('config validateInput', () => {
  let strict: Awaited<ReturnType<typeof runWith>>;
  let lax: Awaited<ReturnType<typeof runWith>>;
  beforeAll(async () => {
    strict = await runWith(CONFIG);
    lax = await runWith(`${CONFIG}validateInput: false\n`);
  });
  afterAll(() => configureLogging());

  it('fails items whose input breaks schemas.input by default (INVALID_INPUT, naming the field)', () => {
    expect(strict.status.status).toBe('failed');
    for (const r of strict.status.results!) expect(r.result).toMatchObject({ outcome: 'failed', error: { kind: 'INVALID_INPUT', message: expect.stringContaining("input does not match the flow's input schema") } });
    expect((strict.status.results![0].result as { error: { message: string } }).error.message).toContain('n: must be integer');
  });

  it('with validateInput: false runs them anyway and warns once for the run, naming the rule', () => {
    expect(lax.status.status, JSON.stringify(lax.status.results)).toBe('success');
    expect(lax.status.results!.map((r) => r.result)).toEqual([
      { outcome: 'success', value: { n: 'one' }, result: { n: 'one' } },
      { outcome: 'success', value: { n: null }, result: { n: null } },
      { outcome: 'success', value: { n: 2.5 }, result: { n: 2.5 } },
    ]);
    const warned = lax.warnings.filter((w) => w.msg.includes("the flow's input schema"));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ runId: lax.status.runId, msg: expect.stringContaining('running it anyway (validateInput: false') });
  });
});
