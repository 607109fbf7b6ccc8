import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';

// Issue 12, guarantee 8: fork(..., {inputs}) reused the source run's step results for
// every item, so an item whose input changed got results computed from the old input.
const flow = {
  schema: FLOW_SCHEMA, name: 'two-steps',
  steps: [
    { id: 'first', component: '/runs/record', input: { item: { $input: 'item' } } },
    { id: 'second', component: '/runs/record', input: { item: { $step: 'first', path: 'item' } } },
  ],
  output: { first: { $step: 'first' }, second: { $step: 'second' } },
};

describe('fork with new inputs (real component server, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>> | undefined;
  afterEach(async () => { await fx?.close(); fx = undefined; });

  it('reuses a source step\'s result only for items whose input is unchanged; the others run it again', async () => {
    const record = join(tempDir(), 'record.jsonl');
    writeFileSync(record, '');
    fx = await openTestRuntime(configWithServers({ runs: { script: 'runs-server.mjs', env: { WEFT_RECORD: record } } }));
    const source = await fx.rt.run(await fx.rt.putFlow(flow), [{ item: 0 }, { item: 1 }, { item: 2 }]);
    expect(source.status).toBe('success');
    writeFileSync(record, '');

    const fork = await fx.rt.fork(source.runId, { fromStep: 'second', inputs: [{ item: 0 }, { item: 7 }] });
    const done = await fork.wait();
    expect(done.status).toBe('success');
    const values = done.results!.map((r) => (r.result as { value: { first: { item: number }; second: { item: number } } }).value);
    expect(values.map((v) => [v.first.item, v.second.item])).toEqual([[0, 0], [7, 7]]);
    const ran = readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { item: number; step: string })
      .map((e) => `${e.step}:${e.item}`).sort();
    // `first` runs again only for the changed item; `second` (the fork's step) for both.
    expect(ran).toEqual(['first:7', 'second:0', 'second:7']);
  }, 60_000);
});
