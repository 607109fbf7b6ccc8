import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../../protocol/index.js';
import { createHttpServer } from '../../../runtime/server/http-server.js';
import { activeTracer } from '../../../runtime/telemetry/tracer.js';
import { httpCall } from '../../helpers/http-call.js';
import { openTestRuntime } from '../../helpers/runtime-fixture.js';
import { CHILD_FLOW, PARENT_FLOW } from '../../helpers/sdk-trace-flows.js';
import { stepflowPython, stepflowSdkConfig } from '../../helpers/stepflow-python.js';

const py = stepflowPython();
type Ids = { trace_id: string; span_id: string };
type Where = { ids: Ids | null; run_id: string | null; step_id: string | null; flow_id: string | null; attempt: number };
type Out = { a: Where; b: { attempt: number; ids: Ids }; c: { run_id: string; status: string } };

// Tracing off: what Stepflow's own Python SDK receives in `observability` and echoes back
// in its callbacks, over real stdio.
describe.skipIf('skip' in py)(`observability on the wire, tracing off (${'skip' in py ? py.skip : 'Stepflow Python SDK'})`, () => {
  let fixture: Awaited<ReturnType<typeof openTestRuntime>>;
  let status: RunStatus;
  let outs: Out[];

  beforeAll(async () => {
    expect(activeTracer()).toBeUndefined();
    fixture = await openTestRuntime(stepflowSdkConfig((py as { python: string }).python));
    const flowId = await fixture.rt.putFlow(PARENT_FLOW);
    status = await fixture.rt.run(flowId, [0, 1].map((x) => ({ x, marker: join(fixture.dir, `crashed-${x}`) })), { maxConcurrency: 1 });
    outs = status.results!.map((r) => (r.result as { value: Out }).value);
  }, 60_000);
  afterAll(async () => { await fixture?.close(); });

  it("carries Stepflow's five fields: the run's trace id, a span id, and the run, flow and step ids", () => {
    expect(status.status).toBe('success');
    for (const out of outs) {
      expect(out.a.ids).toEqual({ trace_id: status.runId.replace(/-/g, ''), span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(out.a).toMatchObject({ run_id: status.runId, step_id: 'a', flow_id: status.flowId, attempt: 1 });
    }
  });

  it('gives every step attempt a span id of its own, the crashed one and its retry included', () => {
    const crashed = [0, 1].map((x) => readFileSync(join(fixture.dir, `crashed-${x}`), 'utf8'));
    expect(outs.map((o) => o.b.attempt)).toEqual([2, 2]);
    const all = [...crashed, ...outs.flatMap((o) => [o.a.ids!.span_id, o.b.ids.span_id])];
    expect(all.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });

  it("links the SDK's sub-runs to the calling run and step, in the same trace", async () => {
    const children = await fixture.rt.listRuns({ parentRunId: status.runId });
    expect(children.map((c) => c.runId).sort()).toEqual(outs.map((o) => o.c.run_id).sort());
    for (const out of outs) {
      const child = (await fixture.rt.store.state.getRun(out.c.run_id))!;
      expect(child).toMatchObject({ parentRunId: status.runId, parentStepId: 'c', rootRunId: status.runId, depth: 1 });
      const result = (await fixture.rt.runs.get({ runId: out.c.run_id, includeResults: true })).results![0].result as { value: Where };
      expect(result.value.ids?.trace_id).toBe(status.runId.replace(/-/g, ''));
      expect(result.value.run_id).toBe(out.c.run_id);
    }
  });

  it('joins the trace of a W3C traceparent sent with POST /runs', async () => {
    const server = createHttpServer(fixture.rt, { port: 0 });
    const url = await server.listen();
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const res = await httpCall(url, 'POST', '/runs', {
        body: { flow: CHILD_FLOW, inputs: [{ x: 7 }], wait: true },
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(res.status).toBe(200);
      expect(res.json.results[0].result.value.ids.trace_id).toBe(traceId);
      // Without one, a run's trace is its own id.
      const plain = await httpCall(url, 'POST', '/runs', { body: { flow: CHILD_FLOW, inputs: [{ x: 8 }], wait: true } });
      expect(plain.json.results[0].result.value.ids.trace_id).toBe((plain.json.runId as string).replace(/-/g, ''));
    } finally {
      await server.close();
    }
  });
});
