import { afterEach, describe, expect, it } from 'vitest';
import { validatorFor } from '../../protocol/index.js';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';

// Issue 12, guarantee 13. `runs/submit` with `wait: false` answered `status: "pending"`,
// where the seed's sequence diagram (seeds/001) shows `"running"` once the run is started;
// and params were checked twice, by schemas/protocol.json and by a hand-written checker
// that disagreed: the schema allowed `maxConcurrency: 0`, the checker refused it. The
// schema is now the one statement, checked once, on the wire and in the embedding API.
describe('runs/submit as the seed words it (an SDK-free server over stdio, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>> | undefined;
  afterEach(async () => { await fx?.close(); fx = undefined; });

  /** Runs one step of the raw server's /call_runtime: it calls `method` on weft and returns {result} or {error}. */
  const callFromComponent = async (method: string, params: unknown): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }> => {
    const flowId = await fx!.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'c', component: '/raw/call_runtime', input: { method, params } }], output: { $step: 'c' } });
    const status = await fx!.rt.run(flowId, [{}]);
    const r = status.results![0].result!;
    expect(r.outcome, JSON.stringify(r)).toBe('success');
    return (r as { value: { result?: Record<string, unknown>; error?: { code: number; message: string } } }).value;
  };

  it('wait: false answers status "running" once the run is started', async () => {
    fx = await openTestRuntime(configWithServers({ raw: 'raw-server.mjs' }));
    const child = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 's', component: '/raw/sleep', input: { ms: 200 } }], output: { $step: 's' } });
    const out = await callFromComponent('runs/submit', { flowId: child, inputs: [{}, {}], wait: false });
    expect(out.error).toBeUndefined();
    expect(out.result).toMatchObject({ status: 'running', items: { total: 2 } });
    expect(out.result).not.toHaveProperty('results');
  });

  it('params are refused by the schema, one message, whoever submits: maxConcurrency 0, a flowId that is no blob id', async () => {
    fx = await openTestRuntime(configWithServers({ raw: 'raw-server.mjs' }));
    const child = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 's', component: '/raw/echo', input: {} }], output: { $step: 's' } });
    const zero = { flowId: child, inputs: [{}], maxConcurrency: 0 };
    expect(validatorFor('protocol', 'SubmitRunParams')(zero)).toBe(false);

    const wire = await callFromComponent('runs/submit', zero);
    expect(wire.error).toMatchObject({ code: -32602, message: expect.stringContaining('params.maxConcurrency: must be >= 1 (minimum)') });
    const api = await fx.rt.runs.submit(zero).then(() => undefined, (e: Error) => e.message);
    expect(api).toBe(wire.error!.message); // the same check, the same words

    const notABlob = await callFromComponent('runs/submit', { flowId: 'my-flow', inputs: [] });
    expect(notABlob.error).toMatchObject({ code: -32602, message: expect.stringMatching(/params\.flowId: must match pattern .*\(pattern\)/) });
    expect((await fx.rt.listRuns({ parentRunId: null })).filter((r) => r.flowId === child)).toEqual([]);
  });

  it('overrides and flowLabel sent by a component apply to its sub-run', async () => {
    fx = await openTestRuntime(configWithServers({ raw: 'raw-server.mjs' }));
    const child = await fx.rt.putFlow({
      schema: FLOW_SCHEMA, steps: [{ id: 'msg', component: '/builtin/create_messages', input: { user_prompt: 'original' } }],
      output: { $step: 'msg', path: '$.messages[0].content' },
    });
    const overrides = { steps: { msg: { $type: 'json_patch', value: [{ op: 'replace', path: '/input/user_prompt', value: 'patched' }] } } };
    const out = await callFromComponent('runs/submit', { flowId: child, inputs: [{}], wait: true, overrides, flowLabel: 'from-a-component' });
    expect(out.error).toBeUndefined();
    expect(out.result).toMatchObject({ status: 'success', flowLabel: 'from-a-component', results: [{ result: { outcome: 'success', value: 'patched' } }] });
  });

  it('observability sent with runs/submit is accepted (null too); the sub-run hangs under the step weft serves', async () => {
    fx = await openTestRuntime(configWithServers({ raw: 'raw-server.mjs' }));
    const child = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 's', component: '/raw/echo', input: {} }], output: { $step: 's' } });
    const traced = { trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), run_id: null, flow_id: null, step_id: null, item_index: null };
    for (const observability of [traced, null]) {
      const out = await callFromComponent('runs/submit', { flowId: child, inputs: [{}], wait: true, observability });
      expect(out.error, JSON.stringify(observability)).toBeUndefined();
      const sub = (await fx.rt.store.state.getRun(out.result!.runId as string))!;
      expect(sub).toMatchObject({ depth: 1, parentStepId: 'c', parentItemIndex: 0 });
      expect((await fx.rt.store.state.getRun(sub.parentRunId!))!.flowId).not.toBe(child);
    }
  });
});
