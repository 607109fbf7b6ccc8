import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobIdOf } from '../../../protocol/index.js';
import type { RunStatus } from '../../../protocol/index.js';
import { FLOW_SCHEMA, SERVERS_DIR, openTestRuntime } from '../../helpers/runtime-fixture.js';
import { STEPFLOW_PY, stepflowPython, stepflowSdkConfig } from '../../helpers/stepflow-python.js';

const py = stepflowPython();

type Item = { index: number; status: string; value?: unknown; code?: unknown; message?: string };
type Summary = { run_id: string; status: string; items: Record<string, number>; results: Item[] | null };

/** A flow of one step on the SDK server, its input the item's input. */
const oneStep = (name: string, component: string) => ({
  schema: FLOW_SCHEMA, name, steps: [{ id: 's', component, input: { $input: '' } }], output: { $step: 's' },
});
/** A flow whose step hands the item's input to `component` with `extra` beside it. */
const withInput = (name: string, component: string, extra: Record<string, unknown>) => ({
  schema: FLOW_SCHEMA, name,
  steps: [{ id: 's', component, input: { ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { $literal: v }])), items: { $input: 'items' } } }],
  output: { $step: 's' },
});
const DOUBLE = oneStep('double', '/py/double');
/** Doubles `x`, or raises when the item has `boom: true`. */
const SOMETIMES = oneStep('sometimes', '/py/double');

// Stepflow's own Python SDK (../shared/peers/stepflow-py, unmodified) as a component server
// spawned by weft over stdio: one server process for the whole file, and a log of whether
// the SDK's decoder accepted each line weft sent it (sdk_wire_log.py).
describe.skipIf('skip' in py)(`Stepflow's Python SDK against weft (${'skip' in py ? py.skip : 'real SDK'})`, () => {
  let fixture: Awaited<ReturnType<typeof openTestRuntime>>;
  let wireLog: string;
  let logDir: string;
  const value = async (flow: object, input: unknown) => {
    const status = await fixture.rt.run(await fixture.rt.putFlow(flow as never), [input]);
    return status.results![0].result!;
  };
  const ok = async <T>(flow: object, input: unknown): Promise<T> => {
    const result = await value(flow, input);
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'success' });
    return (result as { value: T }).value;
  };

  beforeAll(async () => {
    const { python } = py as { python: string };
    logDir = mkdtempSync(join(tmpdir(), 'weft-sdk-wire-'));
    wireLog = join(logDir, 'wire.jsonl');
    fixture = await openTestRuntime(stepflowSdkConfig(python, { WEFT_SDK_WIRE_LOG: wireLog }, 'stepflow_conformance_server.py'));
  });
  afterAll(async () => { await fixture?.close(); rmSync(logDir, { recursive: true, force: true }); });

  it("lists the SDK's components with the schemas its msgspec types declare, and none for a plain dict", async () => {
    const listed = await fixture.rt.components();
    const add = listed.find((c) => c.path === '/py/add');
    expect(add?.description).toBe('Adds two integers (declares its schemas through msgspec types).');
    expect(add?.input_schema).toMatchObject({ $ref: expect.any(String) });
    expect(JSON.stringify(add?.input_schema)).toContain('"required":["a","b"]');
    expect(JSON.stringify(add?.output_schema)).toContain('"sum"');
    expect(listed.find((c) => c.path === '/py/double')?.input_schema).toEqual({ type: 'object' });
  });

  it('runs a component with schemas and one without, on values', async () => {
    expect(await ok(oneStep('add', '/py/add'), { a: 2, b: 40 })).toEqual({ sum: 42 });
    expect(await ok(DOUBLE, { x: 21 })).toEqual({ y: 42 });
  });

  it("fails a step whose input breaks the component's schema, naming the field, before the SDK sees it", async () => {
    const result = await value(oneStep('add', '/py/add'), { a: 2, b: 'forty' });
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 500, kind: 'INVALID_INPUT' } });
    expect((result as { error: { message: string } }).error.message).toMatch(/b/);
  });

  it('reports a component that raises as a failed step with the exception message and integer code 500', async () => {
    const result = await value(oneStep('explode', '/py/explode'), { x: 7 });
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED', message: expect.stringContaining('exploded on 7') } });
  });

  it('round-trips put_blob/get_blob for JSON and for bytes, with the ids weft computes', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    const out = await ok<{ json_id: string; json: unknown; bytes_id: string; bytes_b64: string }>(
      oneStep('blobs', '/py/blobs'), { value: { b: [1, 'two', null], a: { n: 1.5 } }, bytes_b64: bytes.toString('base64') });
    expect(out.json).toEqual({ b: [1, 'two', null], a: { n: 1.5 } });
    expect(out.json_id).toBe(blobIdOf({ a: { n: 1.5 }, b: [1, 'two', null] }));
    expect((await fixture.rt.getBlob(out.json_id))?.data).toEqual(out.json);
    // The SDK's JSON carries bytes as a base64 string (msgspec's encoding); they come back intact.
    expect(Buffer.from(out.bytes_b64, 'base64')).toEqual(bytes);
    expect(out.bytes_id).toBe(blobIdOf(bytes.toString('base64')));
  });

  it("hands the SDK a binary blob stored by weft as its base64 string (the SDK knows no binary type)", async () => {
    const bytes = new Uint8Array([1, 2, 3, 0, 255]);
    const id = await fixture.rt.putBlob(bytes, 'binary');
    expect(await ok(oneStep('read', '/py/read_blob'), { id })).toEqual({ data: Buffer.from(bytes).toString('base64') });
  });

  it('submit_run_by_id(wait: true) returns every item with its value, in input order', async () => {
    const out = await ok<Summary>(withInput('submit', '/py/submit_wait', { flow: DOUBLE }), { items: [{ x: 1 }, { x: 2 }, { x: 3 }] });
    expect(out.status).toBe('success');
    expect(out.items).toMatchObject({ total: 3, completed: 3, failed: 0, cancelled: 0, running: 0 });
    expect(out.results).toEqual([0, 1, 2].map((i) => ({ index: i, status: 'completed', value: { y: 2 * (i + 1) } })));
  });

  it('submit_run_by_id(wait: false), then get_run(wait: true, include_results: true)', async () => {
    const out = await ok<{ submitted: Summary; final: Summary }>(withInput('later', '/py/submit_then_get', { flow: DOUBLE }), { items: [{ x: 5 }, { x: 6 }] });
    expect(out.submitted.run_id).toBe(out.final.run_id);
    expect(out.submitted.results).toBeNull();
    expect(out.final).toMatchObject({ status: 'success', items: { total: 2, completed: 2 } });
    expect(out.final.results).toEqual([{ index: 0, status: 'completed', value: { y: 10 } }, { index: 1, status: 'completed', value: { y: 12 } }]);
  });

  it('hands a sub-run with a failed item back to the SDK as a failed result (integer code), without hanging', async () => {
    const out = await ok<Summary>(withInput('mixed', '/py/submit_wait', { flow: SOMETIMES }), { items: [{ x: 1 }, { x: 2, boom: true }] });
    expect(out).toMatchObject({ status: 'failed', items: { total: 2, completed: 1, failed: 1 } });
    expect(out.results![0]).toEqual({ index: 0, status: 'completed', value: { y: 2 } });
    expect(out.results![1]).toMatchObject({ index: 1, status: 'failed', code: 500, message: expect.stringContaining('exploded on 2') });
  });

  it('hands back a sub-run cancelled while the SDK waits in get_run: its items cancelled', async () => {
    const ready = join(fixture.dir, 'cancel-me');
    const NAP = oneStep('nap', '/py/nap');
    const pending = ok<{ final: Summary }>(withInput('cancel', '/py/submit_then_get', { flow: NAP, ready }), { items: [{ secs: 30 }] });
    const childId = await waitForFile(ready);
    await fixture.rt.cancel(childId);
    const out = await pending;
    expect(out.final).toMatchObject({ run_id: childId, status: 'cancelled', items: { total: 1, cancelled: 1, completed: 0 } });
    expect(out.final.results![0]).toMatchObject({ index: 0, status: 'cancelled' });
  });

  it('evaluate_flow_by_id returns the value, and raises StepflowFailed with the integer code for a failure', async () => {
    const flow = withInput('evaluate', '/py/evaluate', { flow: SOMETIMES });
    flow.steps[0].input = { flow: { $literal: SOMETIMES }, input: { $input: '' } } as never;
    expect(await ok(flow, { x: 4 })).toEqual({ value: { y: 8 } });
    const failed = await ok<{ failed: { code: number; message: string } }>(flow, { x: 4, boom: true });
    expect(failed.failed.code).toBe(500);
    expect(failed.failed.message).toContain('exploded on 4');
  });

  it('keeps a sub-run submitted with max_concurrency to that many items at once', async () => {
    const TRACK = oneStep('track', '/py/track');
    const items = [0, 1, 2, 3, 4, 5].map((i) => ({ i }));
    await ok(oneStep('reset', '/py/most_concurrent'), {});
    const limited = await ok<Summary>(withInput('limited', '/py/submit_wait', { flow: TRACK, max: 2 }), { items });
    expect(limited.results!.map((r) => r.value)).toEqual(items);
    expect(await ok(oneStep('most', '/py/most_concurrent'), {})).toEqual({ most: 2 });
    // Without the limit the same six overlap further: the figure above is the limit's doing.
    await ok(withInput('unlimited', '/py/submit_wait', { flow: TRACK, max: 6 }), { items });
    expect((await ok<{ most: number }>(oneStep('most', '/py/most_concurrent'), {})).most).toBeGreaterThan(2);
  });

  it('nests two levels deep: an SDK step submits a run whose SDK step submits another', async () => {
    const middle = withInput('middle', '/py/submit_wait', { flow: DOUBLE });
    const out = await ok<Summary>(withInput('outer', '/py/submit_wait', { flow: middle }), { items: [{ items: [{ x: 3 }, { x: 4 }] }] });
    expect(out.status).toBe('success');
    const inner = out.results![0].value as Summary;
    expect(inner.results!.map((r) => r.value)).toEqual([{ y: 6 }, { y: 8 }]);
    const grandchild = (await fixture.rt.store.state.getRun(inner.run_id))!;
    expect(grandchild).toMatchObject({ depth: 2, parentRunId: out.run_id });
  });

  it('restarts a server that crashed mid-step and retries the step as attempt 2 on a new process', async () => {
    const marker = join(fixture.dir, 'crashed');
    const before = await ok<{ pid: number }>(oneStep('pid', '/py/where'), {});
    const out = await ok<{ attempt: number; pid: number }>(oneStep('crash', '/py/crash_once'), { marker });
    expect(existsSync(marker)).toBe(true);
    expect(out.attempt).toBe(2);
    expect(out.pid).not.toBe(before.pid);
    // The restarted server serves the next steps as before.
    expect(await ok(DOUBLE, { x: 8 })).toEqual({ y: 16 });
  });

  it("gives the SDK's context the step, run and flow ids and the attempt", async () => {
    const flow = { schema: FLOW_SCHEMA, name: 'ids', steps: [{ id: 'here', component: '/py/where', input: {} }], output: { $step: 'here' } };
    const flowId = await fixture.rt.putFlow(flow as never);
    const status: RunStatus = await fixture.rt.run(flowId, [{}]);
    expect(status.results![0].result).toMatchObject({ outcome: 'success', value: { run_id: status.runId, step_id: 'here', flow_id: flowId, attempt: 1 } });
  });

  // Last: everything above went through the SDK's decoder.
  it('sent nothing the SDK failed to decode with its own msgspec types, across every method used above', () => {
    const entries = readFileSync(wireLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; kind?: string; error?: string; line?: string });
    // $/cancelRequest included: the SDK does not announce it, so the cancelled sub-run above sent none.
    expect(entries.filter((e) => !e.ok)).toEqual([]);
    const kinds = new Set(entries.map((e) => e.kind));
    for (const kind of ['initialize', 'initialized', 'components/list', 'components/execute', 'PutBlobResult', 'GetBlobResult', 'RunStatusProtocol']) {
      expect(kinds, kind).toContain(kind);
    }
    // The check can fail: the shape weft sent before (a string code) is what the SDK rejects.
    const old = JSON.stringify({ jsonrpc: '2.0', id: 'x', result: {
      runId: 'r', flowId: `sha256:${'0'.repeat(64)}`, status: 'failed', createdAt: '2026-01-01T00:00:00Z',
      items: { total: 1, completed: 0, running: 0, failed: 1, cancelled: 0 },
      results: [{ itemIndex: 0, status: 'failed', result: { outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'm' } } }],
    } });
    const checked = JSON.parse(execFileSync((py as { python: string }).python, ['sdk_wire_log.py', 'runs/get'], {
      cwd: SERVERS_DIR, input: old, encoding: 'utf8', env: { ...process.env, PYTHONPATH: `${STEPFLOW_PY}/src:${STEPFLOW_PY}/otel-shim` },
    })) as { ok: boolean; error?: string };
    expect(checked).toEqual({ ok: false, error: expect.stringContaining('Expected `int`, got `str` - at `$.results[0].result.error.code`') });
  });
});

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(path)) { const text = readFileSync(path, 'utf8'); if (text) return text; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} never appeared`);
}
