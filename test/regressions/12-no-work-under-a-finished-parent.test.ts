import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../runtime/store/state-store.js';
import { until } from '../helpers/weft-process.js';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';

// Issue 12, guarantee 4. A component of a cancelled or finished run could still start
// work under it: its runs/submit created sub-runs that nothing would ever cancel, and a
// late inputs/await reopened its items (counters went `cancelled 2 -> 0, running 2`).
describe('no work under a finished parent (real component servers over stdio, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>>;
  let dir: string;
  let record: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-parent-'));
    record = join(dir, 'record.jsonl');
    writeFileSync(record, '');
    fx = await openTestRuntime(configWithServers({ cb: { script: 'sdk-callback-server.mjs', env: { WEFT_RECORD: record } }, runs: 'runs-server.mjs' }));
  });
  afterEach(async () => { await fx.close(); rmSync(dir, { recursive: true, force: true }); });

  const records = (): Array<Record<string, unknown>> => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const flow = (component: string, input: unknown) => fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'work', component, input }], output: { $step: 'work' } });
  const listen = () => {
    const all: RunEvent[] = [];
    const off = fx.rt.on('progress', (e: RunEvent) => { all.push(e); });
    return { of: (runId: string) => all.filter((e) => e.runId === runId), off };
  };

  it('sub-runs submitted while the parent is cancelled are cancelled too, and every later runs/submit is refused with a JSON-RPC error', async () => {
    const child = await flow('/runs/hang', {});
    const parentFlow = await flow('/cb/submit_until_refused', { flow_id: child, every_ms: 5 });
    const events = listen();
    const parent = await fx.rt.submit(parentFlow, [{}]);
    await until(() => records().filter((r) => r.submitted).length >= 3, 20_000, 'three sub-runs submitted');
    const cancelled = await fx.rt.cancel(parent.id);
    expect(cancelled.status).toBe('cancelled');
    await until(() => records().some((r) => r.refused), 10_000, 'a runs/submit refused');
    const refused = records().find((r) => r.refused)!.refused as { code: number; message: string };
    expect(refused.code).toBe(-32602);
    expect(refused.message).toMatch(/cancelled|no components\/execute in flight/);
    await new Promise((r) => setTimeout(r, 300)); // anything still arriving would be a sub-run escaping
    const subRuns = await fx.rt.listRuns({ parentRunId: parent.id, limit: 1000 });
    expect(subRuns.length).toBe(records().filter((r) => r.submitted).length);
    expect(subRuns.length).toBeGreaterThanOrEqual(3);
    for (const s of subRuns) expect(s.status, s.runId).toBe('cancelled');
    events.off();
    expect(events.of(parent.id).filter((e) => e.type === 'sub_run_created').length).toBe(subRuns.length);
  });

  it('a late inputs/await after a cancel does not reopen the items: the counters stay cancelled', async () => {
    const flowId = await flow('/cb/late_await_input', { ms: 400 });
    const events = listen();
    const run = await fx.rt.submit(flowId, [{}, {}]);
    await until(() => events.of(run.id).filter((e) => e.type === 'step_started').length === 2, 20_000, 'both steps started');
    const cancelled = await fx.rt.cancel(run.id);
    expect(cancelled.items).toMatchObject({ total: 2, cancelled: 2, running: 0 });
    await until(() => records().filter((r) => r.late).length === 2, 10_000, 'both components asked for input');
    for (const r of records().filter((x) => x.late)) expect(r.late).toMatchObject({ code: -32602 });
    const after = await fx.rt.runs.get({ runId: run.id });
    expect(after.status).toBe('cancelled');
    expect(after.items).toMatchObject({ total: 2, cancelled: 2, running: 0, pending: 0 });
    events.off();
    const types = (await fx.rt.runs.listEvents(run.id)).map((e) => e.type);
    expect(types.at(-1)).toBe('run_completed');
    expect(types).not.toContain('step_awaiting_input');
  });

  it('runs/submit from a component after its run has finished is refused; no sub-run is created', async () => {
    const child = await flow('/runs/echo', {});
    // The component returns at once but submits a moment later, once its run has finished.
    const parentFlow = await flow('/cb/submit_after_return', { flow_id: child, ms: 300 });
    const done = await fx.rt.run(parentFlow, [{}]);
    expect(done.status).toBe('success');
    await until(() => records().some((r) => r.refused || r.submitted), 10_000, 'the late runs/submit answered');
    expect(records().find((r) => r.submitted)).toBeUndefined();
    expect(records().find((r) => r.refused)!.refused).toMatchObject({ code: -32602 });
    expect(await fx.rt.listRuns({ parentRunId: done.runId })).toEqual([]);
  });
});
