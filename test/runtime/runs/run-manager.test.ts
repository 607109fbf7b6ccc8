import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../runtime/api/index.js';
import { ErrorCodes } from '../../../protocol/index.js';
import { FLOW_SCHEMA, configWithServers, openTestRuntime } from '../../helpers/runtime-fixture.js';
import { until } from '../../helpers/weft-process.js';

const flowOf = (component: string, extra: Record<string, unknown> = {}) => ({
  schema: FLOW_SCHEMA, name: `one step ${component}`,
  steps: [{ id: 'work', component, input: { $input: '$' } }],
  output: { $step: 'work' },
  ...extra,
});


describe('RunManager through the embedding API (real SDK server over stdio, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>>;
  let record: string;
  beforeAll(async () => {
    record = join(mkdtempSync(join(tmpdir(), 'weft-record-')), 'record.jsonl');
    fx = await openTestRuntime(configWithServers({ runs: { script: 'runs-server.mjs', instances: 1, env: { WEFT_RECORD: record } } }, { maxNestingDepth: 4 }));
  });
  afterAll(async () => { await fx?.close(); });

  it('orders results by index or by completion', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/sleep'));
    const run = await fx.rt.submit(flowId, [{ ms: 300, value: 0 }, { ms: 10, value: 1 }, { ms: 150, value: 2 }], { maxConcurrency: 3 });
    const byIndex = await run.wait();
    expect(byIndex.results!.map((r) => r.itemIndex)).toEqual([0, 1, 2]);
    expect(byIndex.results!.map((r) => (r.result as { value: { value: number } }).value.value)).toEqual([0, 1, 2]);
    const byCompletion = await run.results({ order: 'byCompletion' });
    expect(byCompletion.map((r) => r.itemIndex)).toEqual([1, 2, 0]);
  });

  it('runs every item to the end when some fail, and reports the run failed', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/sleep'));
    const status = await fx.rt.run(flowId, [{ value: 'a' }, { fail: true, value: 'b' }, { ms: 50, value: 'c' }]);
    expect(status.status).toBe('failed');
    expect(status.items).toMatchObject({ total: 3, success: 2, completed: 2, failed: 1, pending: 0, running: 0 });
    const failed = status.results![1];
    expect(failed.status).toBe('failed');
    expect(failed.result).toMatchObject({ outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED' } });
    expect(JSON.stringify(failed.result)).toContain('failed on purpose');
    expect(status.results![2].result).toMatchObject({ outcome: 'success', value: { value: 'c' } });
  });

  it('returns the current status when a wait times out, without failing the run', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/sleep'));
    const run = await fx.rt.submit(flowId, [{ ms: 1200 }]);
    const early = await fx.rt.runs.get({ runId: run.id, wait: true, timeoutSecs: 0.1, includeResults: true });
    expect(['pending', 'running']).toContain(early.status);
    expect(early.results).toEqual([]);
    const final = await run.wait();
    expect(final.status).toBe('success');
  });

  it('takes inputs from any iterable (a generator is consumed once, in chunks)', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/echo'));
    let produced = 0;
    function* items() { for (let i = 0; i < 2500; i++) { produced++; yield { i }; } }
    const run = await fx.rt.submit(flowId, items(), { maxConcurrency: 64 });
    const status = await run.wait();
    expect(produced).toBe(2500);
    expect(status.items).toMatchObject({ total: 2500, success: 2500 });
    expect(status.results!.map((r) => (r.result as { value: { i: number } }).value.i)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
  });

  it('completes an empty batch at once', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/sleep'));
    const status = await fx.rt.run(flowId, []);
    expect(status.status).toBe('success');
    expect(status.items.total).toBe(0);
    expect(status.results).toEqual([]);
  });

  it('rejects an unknown flow id, a blob that is not a flow, and an unknown run id with errors naming them', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(fx.rt.runs.submit({ flowId: missing, inputs: [] })).rejects.toMatchObject({ code: ErrorCodes.NotFound, message: expect.stringContaining(missing) });
    const dataId = await fx.rt.putBlob({ not: 'a flow' });
    await expect(fx.rt.runs.submit({ flowId: dataId, inputs: [] })).rejects.toThrow(/not a flow/);
    await expect(fx.rt.runs.get({ runId: 'nope' })).rejects.toMatchObject({ message: expect.stringContaining('nope') });
    await expect(fx.rt.runs.submit({ flowId: dataId, inputs: [], maxConcurrency: 0 })).rejects.toThrow(/maxConcurrency/);
  });

  it('returns the existing sub-run for a repeated subflowKey under the same parent', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/echo'));
    // Sub-runs go under a running parent (a finished one refuses them).
    const parent = await fx.rt.submit(await fx.rt.putFlow(flowOf('/runs/hang')), [{}]);
    const caller = { runId: parent.id, itemIndex: 0, stepId: 'work' };
    const a = await fx.rt.runs.submit({ flowId, inputs: [{ x: 1 }], subflowKey: 'k1', wait: true }, { caller });
    const b = await fx.rt.runs.submit({ flowId, inputs: [{ x: 2 }], subflowKey: 'k1', wait: true }, { caller });
    const c = await fx.rt.runs.submit({ flowId, inputs: [{ x: 3 }], subflowKey: 'k2', wait: true }, { caller });
    expect(b.runId).toBe(a.runId);
    expect(b.results![0].result).toMatchObject({ value: { x: 1 } });
    expect(c.runId).not.toBe(a.runId);
    await fx.rt.cancel(parent.id);
  });

  it('refuses runs/submit from a run that has finished or been cancelled', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/echo'));
    const finished = await fx.rt.run(flowId, [{}]);
    const submitUnder = (runId: string) => fx.rt.runs.submit({ flowId, inputs: [{}] }, { caller: { runId, itemIndex: 0, stepId: 'work' } });
    await expect(submitUnder(finished.runId)).rejects.toThrow(new RegExp(`calling run ${finished.runId} is success: no sub-run may start`));
    const running = await fx.rt.submit(await fx.rt.putFlow(flowOf('/runs/hang')), [{}]);
    await fx.rt.cancel(running.id);
    await expect(submitUnder(running.id)).rejects.toThrow(/is cancelled: no sub-run may start/);
    expect(await fx.rt.listRuns({ parentRunId: finished.runId })).toEqual([]);
  });

  it('replaces a failed sub-run when the same subflowKey is submitted again (a retry), instead of re-attaching', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/sleep'));
    const parent = await fx.rt.submit(await fx.rt.putFlow(flowOf('/runs/hang')), [{}]);
    const caller = { runId: parent.id, itemIndex: 0, stepId: 'work' };
    const failed = await fx.rt.runs.submit({ flowId, inputs: [{ fail: true }], subflowKey: 'retry-me', wait: true }, { caller });
    expect(failed.status).toBe('failed');
    const retried = await fx.rt.runs.submit({ flowId, inputs: [{ value: 'ok' }], subflowKey: 'retry-me', wait: true }, { caller });
    expect(retried.runId).not.toBe(failed.runId);
    expect(retried.status).toBe('success');
    const again = await fx.rt.runs.submit({ flowId, inputs: [{ value: 'other' }], subflowKey: 'retry-me', wait: true }, { caller });
    expect(again.runId).toBe(retried.runId);
    await fx.rt.cancel(parent.id);
  });

  it('applies merge_patch and json_patch overrides to a step, in both accepted shapes', async () => {
    const flowId = await fx.rt.putFlow({
      schema: FLOW_SCHEMA, name: 'messages',
      steps: [{ id: 'msg', component: '/builtin/create_messages', input: { user_prompt: 'original' } }],
      output: { $step: 'msg', path: '$.messages[0].content' },
    });
    const value = async (overrides?: unknown) => (await fx.rt.run(flowId, [{}], overrides ? { overrides } : {})).results![0].result;
    expect(await value()).toMatchObject({ value: 'original' });
    expect(await value({ msg: { value: { input: { user_prompt: 'merged' } } } })).toMatchObject({ value: 'merged' });
    expect(await value({ msg: { $type: 'merge_patch', value: { input: { user_prompt: 'typed' } } } })).toMatchObject({ value: 'typed' });
    expect(await value({ steps: { msg: { $type: 'json_patch', value: [{ op: 'replace', path: '/input/user_prompt', value: 'patched' }] } } })).toMatchObject({ value: 'patched' });
    await expect(fx.rt.submit(flowId, [{}], { overrides: { nope: { value: {} } } })).rejects.toThrow(/unknown step "nope"/);
  });

  it('nests runs three levels deep with maxConcurrency 1 everywhere and one server process, without deadlock', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/nest', { name: 'nest' }));
    const status = await fx.rt.run(flowId, [{ depth: 3, flow_id: flowId }], { maxConcurrency: 1 });
    expect(status.status).toBe('success');
    expect(status.results![0].result).toMatchObject({ value: { depth: 3, child: { depth: 2, child: { depth: 1, child: { depth: 0, leaf: true } } } } });
    const depths = (await fx.rt.store.state.listRuns({ limit: 10 })).filter((r) => r.rootRunId === status.runId).map((r) => r.depth).sort();
    expect(depths).toEqual([0, 1, 2, 3]);
  });

  it('turns runaway recursion into a clear error at the nesting depth limit', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/nest', { name: 'runaway' }));
    const status = await fx.rt.run(flowId, [{ depth: 50, flow_id: flowId }]);
    expect(status.status).toBe('failed');
    expect(JSON.stringify(status.results![0].result)).toMatch(/nesting depth limit \(4\) exceeded/);
  });

  it('cancels a run: pending items never start, running ones are told to stop', async () => {
    writeFileSync(record, '');
    const flowId = await fx.rt.putFlow(flowOf('/runs/hang', { name: 'hang' }));
    const all: RunEvent[] = [];
    // Listening before the submit: its answer comes once the run is started, so its first steps may already have been told.
    const off = fx.rt.on('progress', (e) => { all.push(e); });
    const run = await fx.rt.submit(flowId, [{}, {}, {}, {}, {}], { maxConcurrency: 2 });
    const events = () => all.filter((e) => e.runId === run.id);
    // Wait for the components themselves: a request cancelled before the server dispatched
    // it is dropped there (never runs, so never sees the abort).
    await until(() => events().filter((e) => e.type === 'step_started').length === 2
      && readFileSync(record, 'utf8').split('\n').filter((l) => l.includes('"started"')).length === 2);
    const cancelled = await run.cancel();
    off();
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.items).toMatchObject({ total: 5, cancelled: 5, running: 0, pending: 0 });
    // The SDK turns $/cancelRequest into ctx.signal: both running components saw it.
    await until(() => existsSync(record) && readFileSync(record, 'utf8').split('\n').filter((l) => l.includes('aborted')).length === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(events().filter((e) => e.type === 'step_started')).toHaveLength(2);
    expect((await run.wait()).status).toBe('cancelled');
  });

  it('finds a flow id by name: the newest version when the flow was stored again after an edit', async () => {
    await expect(fx.rt.flowIdByName('no such flow')).rejects.toThrow(/no flow named/);
    const id = await fx.rt.putFlow({ ...flowOf('/runs/echo'), name: 'unique name' });
    expect(await fx.rt.flowIdByName('unique name')).toBe(id);
    const a = await fx.rt.putFlow({ ...flowOf('/runs/echo'), name: 'twice', description: 'a' });
    const b = await fx.rt.putFlow({ ...flowOf('/runs/echo'), name: 'twice', description: 'b' });
    expect(await fx.rt.flowIdByName('twice')).toBe(b);
    expect((await fx.rt.flowVersions()).find((f) => f.name === 'twice')!.versions.map((v) => v.flowId)).toEqual([b, a]);
  });

  it('delivers the same ordered events to several listeners and to run.events()', async () => {
    const flowId = await fx.rt.putFlow(flowOf('/runs/sleep'));
    const a: RunEvent[] = []; const b: RunEvent[] = [];
    const completed: string[] = [];
    const offA = fx.rt.on('progress', (e) => a.push(e));
    const offB = fx.rt.on('progress', (e) => b.push(e));
    const offC = fx.rt.on('runCompleted', (e) => completed.push(`${e.runId}:${e.status}`));
    const run = await fx.rt.submit(flowId, [{ ms: 20 }, { ms: 5 }]);
    const streamed: RunEvent[] = [];
    for await (const e of run.events()) streamed.push(e);
    offA(); offB(); offC();
    const mine = (xs: RunEvent[]) => xs.filter((e) => e.runId === run.id);
    expect(mine(a).map((e) => e.seq)).toEqual(mine(b).map((e) => e.seq));
    const seqs = streamed.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    const types = streamed.map((e) => e.type);
    expect(types[0]).toBe('run_created');
    expect(types.at(-1)).toBe('run_completed');
    expect(types.filter((t) => t === 'item_completed')).toHaveLength(2);
    expect(types.filter((t) => t === 'step_completed')).toHaveLength(2);
    const step = streamed.find((e) => e.type === 'step_completed')!;
    expect(step).toMatchObject({ stepId: 'work', attempt: 1, itemIndex: expect.any(Number), data: { durationMs: expect.any(Number) } });
    expect(completed).toContain(`${run.id}:success`);
    // A reader that comes after the end still gets everything.
    const late: RunEvent[] = [];
    for await (const e of run.events()) late.push(e);
    expect(late.map((e) => e.seq)).toEqual(seqs);
    const resumed: RunEvent[] = [];
    for await (const e of run.events({ since: seqs[2] })) resumed.push(e);
    expect(resumed.map((e) => e.seq)).toEqual(seqs.slice(3));
  });
});
