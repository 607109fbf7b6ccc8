import { afterEach, describe, expect, it } from 'vitest';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';

// Issue 12, guarantees 9 and 10. A sub-run's parent (and so its depth) came from the
// observability object the component server echoes: a server that omits it created
// 20,143 nested runs in 45 s. It now comes from the executions weft serves on that
// connection. And a runs/submit without subflowKey started a duplicate sub-run when its
// step ran again after a crash; it now gets an implicit key and re-attaches.
describe('callbacks belong to the execution weft serves (real component servers, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>> | undefined;
  afterEach(async () => { await fx?.close(); fx = undefined; });

  it('a server that sends no observability cannot nest without end', async () => {
    fx = await openTestRuntime(configWithServers({ raw: 'raw-server.mjs' }, { maxNestingDepth: 3 }));
    const flowId = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'r', component: '/raw/recurse', input: { $input: '$' } }], output: { $step: 'r' } });
    const run = await fx.rt.submit(flowId, [{ flow_id: flowId }]);
    await fx.rt.runs.waitForRun(run.id, 10_000);
    const status = await fx.rt.runs.get({ runId: run.id, includeResults: true });
    expect(status.status).toBe('success');
    const runs = await fx.rt.listRuns({ limit: 1000 });
    expect(runs.length).toBeLessThanOrEqual(5); // at most depth + 2, not thousands
    // Somewhere down the chain a runs/submit was refused, saying why.
    expect(JSON.stringify(status.results)).toMatch(/nesting depth limit|names none of them/);
  });

  it('a runs/submit without subflowKey re-attaches when its step runs again after a crash', async () => {
    fx = await openTestRuntime(configWithServers({ runs: 'runs-server.mjs' }));
    const child = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'e', component: '/runs/echo', input: { ok: true } }], output: { $step: 'e' } });
    const flowId = await fx.rt.putFlow({
      schema: FLOW_SCHEMA, steps: [{ id: 'spawn', component: '/runs/submit_then_crash', input: { flow_id: child } }], output: { $step: 'spawn' },
    });
    const final = await fx.rt.run(flowId, [{}]);
    expect(final.status).toBe('success');
    const subRuns = await fx.rt.listRuns({ parentRunId: final.runId });
    expect(subRuns).toHaveLength(1);
    expect(final.results![0].result).toMatchObject({ value: { runId: subRuns[0].runId, status: 'success' } });
  });
});
