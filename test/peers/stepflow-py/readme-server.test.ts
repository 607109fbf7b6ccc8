import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_SCHEMA, openTestRuntime } from '../../helpers/runtime-fixture.js';
import { readmeSnippets } from '../../helpers/readme-snippets.js';
import { STEPFLOW_PY, stepflowPython } from '../../helpers/stepflow-python.js';

const py = stepflowPython();
const DOUBLE = { schema: FLOW_SCHEMA, name: 'double', steps: [{ id: 'd', component: '/py/double', input: { x: { $input: 'x' } } }], output: { $step: 'd' } };

// The README's "With Stepflow's Python SDK" server, as printed, on the real SDK.
describe.skipIf('skip' in py)(`the README's Python SDK server (${'skip' in py ? py.skip : 'real SDK'})`, () => {
  let fixture: Awaited<ReturnType<typeof openTestRuntime>>;
  const dir = mkdtempSync(join(tmpdir(), 'weft-readme-py-'));
  beforeAll(async () => {
    writeFileSync(join(dir, 'double.py'), readmeSnippets().get('double.py')!);
    fixture = await openTestRuntime({
      workingDirectory: dir,
      plugins: { py: { type: 'stepflow', transport: 'stdio', command: (py as { python: string }).python, args: ['double.py'], env: { PYTHONPATH: `${STEPFLOW_PY}/src:${STEPFLOW_PY}/otel-shim` } } },
      routes: { '/py/{component}': [{ plugin: 'py' }] },
    });
  });
  afterAll(async () => { await fixture?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('runs double, and double_all submitting a sub-run through the SDK that has a failed item', async () => {
    const flowId = await fixture.rt.putFlow(DOUBLE as never);
    expect((await fixture.rt.run(flowId, [{ x: 21 }])).results![0].result).toMatchObject({ outcome: 'success', value: { y: 42 } });
    const all = { schema: FLOW_SCHEMA, name: 'all', steps: [{ id: 'a', component: '/py/double_all', input: { flow: { $literal: DOUBLE }, items: { $input: 'items' } } }], output: { $step: 'a' } };
    const failing = await fixture.rt.run(await fixture.rt.putFlow(all as never), [{ items: [{ x: 1 }, { y: 0 }, { x: 3 }] }]);
    expect(failing.results![0].result).toMatchObject({ outcome: 'success', value: { failed: 1, results: [{ y: 2 }, { y: 6 }] } });
  });
});
