import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../../runtime/api/runtime.js';
import { FLOW_SCHEMA, configWithServers } from '../../helpers/runtime-fixture.js';

// Fork (Spectra's ForkAndRun): steps upstream of `fromStep` reuse the source run's
// journaled results; `fromStep` and its downstream run again. A recording component
// shows exactly what executed.

interface Execution { item: number; step: string; attempt: number }

const CHAIN = {
  schema: FLOW_SCHEMA, name: 'chain',
  steps: [
    { id: 'extract', component: '/runs/record', input: { item: { $input: 'item' } } },
    { id: 'side', component: '/runs/record', input: { item: { $input: 'item' } } },
    { id: 'transform', component: '/runs/record', input: { item: { $step: 'extract', path: 'item' } } },
    { id: 'load', component: '/runs/record', input: { item: { $step: 'transform', path: 'item' } } },
  ],
  output: { side: { $step: 'side' }, load: { $step: 'load' }, label: { $input: 'label' } },
};

describe('fork and store faults', () => {
  let dir: string;
  let record: string;
  let rt: Runtime;
  const executions = (): Execution[] => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Execution);
  const config = () => configWithServers({ runs: { script: 'runs-server.mjs', env: { WEFT_RECORD: record } } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-fork-'));
    record = join(dir, 'record.jsonl');
    writeFileSync(record, '');
    rt = await Runtime.open({ config: config(), store: { type: 'sqlite', path: join(dir, 'weft.db') }, cwd: dir });
  });
  afterAll(async () => { await rt?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('re-runs the forked step and its downstream only, reusing upstream results', async () => {
    const flowId = await rt.putFlow(CHAIN);
    const source = await rt.run(flowId, [{ item: 1, label: 'a' }, { item: 2, label: 'b' }]);
    expect(source.status).toBe('success');
    writeFileSync(record, '');

    const fork = await rt.fork(source.runId, { fromStep: 'transform' });
    const forked = await fork.wait();
    expect(forked.status).toBe('success');
    expect(forked.runId).not.toBe(source.runId);
    const ran = executions().map((e) => `${e.item}:${e.step}`).sort();
    // extract and side are upstream (or independent) of transform: reused, not executed.
    expect(ran).toEqual(['1:load', '1:transform', '2:load', '2:transform']);
    // The reused results are the source run's: same values in the fork's output.
    expect(forked.results!.map((r) => (r.result as { value: { side: unknown } }).value.side))
      .toEqual(source.results!.map((r) => (r.result as { value: { side: unknown } }).value.side));
  });

  it('applies overrides to the fork only; the source run is untouched', async () => {
    const flowId = await rt.putFlow(CHAIN);
    const source = await rt.run(flowId, [{ item: 7, label: 'x' }]);
    writeFileSync(record, '');
    const fork = await rt.fork(source.runId, { fromStep: 'load', overrides: { load: { value: { input: { item: 700 } } } } });
    const forked = await fork.wait();
    expect(forked.results![0].result).toMatchObject({ value: { load: { item: 700 } } });
    expect(executions().map((e) => `${e.item}:${e.step}`)).toEqual(['700:load']);
    const again = await (await rt.getRun(source.runId)).wait();
    expect(again.results![0].result).toMatchObject({ value: { load: { item: 7 } } });
    expect((await rt.store.state.listSteps(source.runId, 0)).find((s) => s.stepId === 'load')?.result).toMatchObject({ result: { item: 7 } });
  });

  it('rejects a fork from an unknown step or run', async () => {
    const flowId = await rt.putFlow(CHAIN);
    const source = await rt.run(flowId, [{ item: 1 }]);
    await expect(rt.fork(source.runId, { fromStep: 'nope' })).rejects.toThrow(/no step "nope"/);
    await expect(rt.fork('no-such-run', { fromStep: 'load' })).rejects.toThrow(/no-such-run/);
  });

  it('fails an unfinished run whose flow blob has disappeared, with a message naming it', async () => {
    const path = join(dir, 'missing-flow.db');
    const first = await Runtime.open({ config: config(), store: { type: 'sqlite', path }, cwd: dir });
    const flowId = await first.putFlow({ ...CHAIN, name: 'doomed', steps: [{ id: 'h', component: '/runs/hang', input: {} }], output: { $step: 'h' } });
    const run = await first.submit(flowId, [{}]);
    await first.close(); // the run stays unfinished in the store
    const db = new Database(path);
    db.prepare('DELETE FROM blobs WHERE id = ?').run(flowId);
    db.close();

    const second = await Runtime.open({ config: config(), store: { type: 'sqlite', path }, cwd: dir });
    try {
      const status = await (await second.getRun(run.id)).wait({ timeoutSecs: 10 });
      expect(status.status).toBe('failed');
      const record = (await second.store.state.getRun(run.id))!;
      expect(record.error?.message).toMatch(new RegExp(`cannot resume run ${run.id}: .*${flowId.slice(7, 20)}`));
      // What was committed stays readable.
      expect(record.items.total).toBe(1);
    } finally {
      await second.close();
    }
  });
});
