import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../../protocol/index.js';
import { createOtelTracer } from '../../../runtime/telemetry/otel-tracer.js';
import { setActiveTracer } from '../../../runtime/telemetry/tracer.js';
import { openTestRuntime } from '../../helpers/runtime-fixture.js';
import { PARENT_FLOW } from '../../helpers/sdk-trace-flows.js';
import { stepflowPython, stepflowSdkConfig } from '../../helpers/stepflow-python.js';

const py = stepflowPython();

// The span tree of a 2-item run whose steps run on Stepflow's own Python SDK (a real
// stdio server): a crash on each item's first attempt of `b`, and a sub-run submitted
// through the SDK's context, which echoes the span it was called under.
describe.skipIf('skip' in py)(`spans of a run with a sub-run and a crash (${'skip' in py ? py.skip : 'Stepflow Python SDK'})`, () => {
  const exporter = new InMemorySpanExporter();
  let fixture: Awaited<ReturnType<typeof openTestRuntime>>;
  let status: RunStatus;
  let spans: ReadableSpan[];

  beforeAll(async () => {
    setActiveTracer(await createOtelTracer({ exporter, simple: true }));
    fixture = await openTestRuntime(stepflowSdkConfig((py as { python: string }).python));
    const flowId = await fixture.rt.putFlow(PARENT_FLOW);
    status = await fixture.rt.run(flowId, [0, 1].map((x) => ({ x, marker: join(fixture.dir, `crashed-${x}`) })), { maxConcurrency: 1 });
    spans = exporter.getFinishedSpans();
  }, 60_000);
  afterAll(async () => {
    await fixture?.close();
    setActiveTracer(undefined);
  });

  const byName = (name: string) => spans.filter((s) => s.name === name);
  const parentOf = (s: ReadableSpan) => spans.find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId);
  const attr = (s: ReadableSpan, key: string) => s.attributes[key];

  it('is one trace whose id is the run id, with the run span as its only root', () => {
    expect(status.status).toBe('success');
    const traceId = status.runId.replace(/-/g, '');
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    const roots = spans.filter((s) => !s.parentSpanContext);
    expect(roots.map((s) => s.name)).toEqual(['run parent']);
    expect(roots[0].attributes).toMatchObject({ 'weft.run.id': status.runId, 'weft.flow.name': 'parent', 'weft.flow.id': status.flowId, 'weft.outcome': 'success' });
  });

  it('has one span per item under the run, and the step attempts under their item', () => {
    const [run] = byName('run parent');
    const items = spans.filter((s) => s.name.startsWith('item ') && attr(s, 'weft.run.id') === status.runId);
    expect(items.map((s) => attr(s, 'weft.item.index')).sort()).toEqual([0, 1]);
    for (const item of items) {
      expect(parentOf(item)).toBe(run);
      const steps = spans.filter((s) => s.name.startsWith('step ') && parentOf(s) === item);
      expect(steps.map((s) => `${attr(s, 'weft.step.id')}#${attr(s, 'weft.step.attempt')}`).sort()).toEqual(['a#1', 'b#1', 'b#2', 'c#1']);
      for (const step of steps) expect(step.attributes).toMatchObject({ 'weft.run.id': status.runId, 'weft.item.index': attr(item, 'weft.item.index'), 'weft.plugin': 'py' });
    }
  });

  it('gives the crashed attempt and its retry a span each, the first one failed UNREACHABLE', () => {
    const b = byName('step b').filter((s) => attr(s, 'weft.item.index') === 0);
    const [first, second] = [1, 2].map((n) => b.find((s) => attr(s, 'weft.step.attempt') === n)!);
    expect(first.spanContext().spanId).not.toBe(second.spanContext().spanId);
    expect(first.status.code).toBe(2); // ERROR
    expect(first.attributes['error.type']).toBe('UNREACHABLE');
    expect(first.events.map((e) => e.name)).toContain('exception');
    expect(second.attributes['weft.outcome']).toBe('success');
    // The span the server saw on attempt 2 is that attempt's component call (it wrote it back).
    const out = (status.results![0].result as { value: { b: { ids: { span_id: string } } } }).value;
    const call = spans.find((s) => s.name === 'components/execute' && parentOf(s) === second)!;
    expect(call.kind).toBe(2); // CLIENT
    expect(call.attributes).toMatchObject({ 'rpc.system.name': 'jsonrpc', 'rpc.method': 'components/execute', 'weft.component': '/py/crash_once' });
    expect(out.b.ids.span_id).toBe(call.spanContext().spanId);
    // The crashed attempt's call got its own span id on the wire too (the server wrote it down before dying).
    const crashedCall = spans.find((s) => s.name === 'components/execute' && parentOf(s) === first)!;
    expect(readFileSync(join(fixture.dir, 'crashed-0'), 'utf8')).toBe(crashedCall.spanContext().spanId);
  });

  it('hangs each sub-run under the runs/submit callback made from the calling step', () => {
    const submits = byName('runs/submit');
    expect(submits).toHaveLength(2);
    for (const submit of submits) {
      expect(submit.kind).toBe(1); // SERVER
      // The SDK echoed the span of the component call it was serving.
      const call = parentOf(submit)!;
      expect(call.name).toBe('components/execute');
      const step = parentOf(call)!;
      expect(step.name).toBe('step c');
      const childRun = spans.find((s) => s.name === 'run child' && parentOf(s) === submit)!;
      expect(childRun.attributes['weft.run.parent_id']).toBe(status.runId);
      const childItem = spans.find((s) => s.name === 'item 0' && parentOf(s) === childRun)!;
      expect(spans.some((s) => s.name === 'step w' && parentOf(s) === childItem)).toBe(true);
      expect(byName('blobs/put').some((s) => parentOf(s) === call)).toBe(true);
    }
  });
});
