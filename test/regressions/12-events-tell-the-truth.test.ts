import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../runtime/store/state-store.js';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';

// Issue 12, guarantee 12. Events told a different story than what happened: a parent's
// `sub_run_created` reached only a replay, never a live listener; `run_status: running`
// came after the first item's events; a step's `durationMs` was measured from the item's
// start (447 ms for a 1 ms step behind a slow one); and a TIMEOUT was final, while
// reference/protocol.md §10.4 puts it in the transport-retry class beside UNREACHABLE.
describe('events tell the truth (real component servers over stdio, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>> | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await fx?.close(); fx = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const live = (): { events: RunEvent[]; off: () => void } => {
    const events: RunEvent[] = [];
    const off = fx!.rt.on('progress', (e: RunEvent) => events.push(e));
    return { events, off };
  };

  it('a live listener of the parent is told sub_run_created, as a replay is', async () => {
    fx = await openTestRuntime(configWithServers({ runs: 'runs-server.mjs' }));
    const child = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'e', component: '/runs/echo', input: { ok: true } }], output: { $step: 'e' } });
    const parentFlow = await fx.rt.putFlow({
      schema: FLOW_SCHEMA, steps: [{ id: 'spawn', component: '/runs/spawn_child', input: { flow_id: child, inputs: [{}], key: 'k' } }], output: { $step: 'spawn' },
    });
    const { events, off } = live();
    const final = await fx.rt.run(parentFlow, [{}]);
    off();
    expect(final.status).toBe('success');
    const stored = (await fx.rt.runs.listEvents(final.runId)).filter((e) => e.type === 'sub_run_created');
    expect(stored).toHaveLength(1);
    const told = events.filter((e) => e.runId === final.runId && e.type === 'sub_run_created');
    expect(told).toEqual(stored);
    expect(told[0]).toMatchObject({ itemIndex: 0, stepId: 'spawn', data: { subRunId: (final.results![0].result as { value: { runId: string } }).value.runId } });
  });

  it('run_status running comes before the first item event, live and stored', async () => {
    fx = await openTestRuntime(configWithServers({ runs: 'runs-server.mjs' }));
    const flowId = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'e', component: '/runs/echo', input: { $input: '$' } }], output: { $step: 'e' } });
    const { events, off } = live();
    const final = await fx.rt.run(flowId, [{ n: 1 }, { n: 2 }]);
    off();
    for (const list of [events.filter((e) => e.runId === final.runId), await fx.rt.runs.listEvents(final.runId)]) {
      const types = list.map((e) => e.type);
      const running = list.findIndex((e) => e.type === 'run_status' && (e.data as { status: string }).status === 'running');
      const firstItem = types.indexOf('item_started');
      expect(running, types.join(',')).toBeGreaterThan(-1);
      expect(running, types.join(',')).toBeLessThan(firstItem);
      expect(types[0]).toBe('run_created');
    }
  });

  it("a step's durationMs is its own time, not the time since its item started", async () => {
    fx = await openTestRuntime(configWithServers({ runs: 'runs-server.mjs' }));
    const flowId = await fx.rt.putFlow({
      schema: FLOW_SCHEMA,
      steps: [
        { id: 'slow', component: '/runs/sleep', input: { ms: 400 } },
        { id: 'quick', component: '/runs/echo', input: { after: { $step: 'slow' } } },
      ],
      output: { $step: 'quick' },
    });
    const final = await fx.rt.run(flowId, [{}]);
    expect(final.status).toBe('success');
    const events = await fx.rt.runs.listEvents(final.runId);
    for (const stepId of ['slow', 'quick']) {
      const started = events.find((e) => e.type === 'step_started' && e.stepId === stepId)!;
      const done = events.find((e) => e.type === 'step_completed' && e.stepId === stepId)!;
      // The same clock readings as the events' own timestamps: no timing assumption.
      expect((done.data as { durationMs: number }).durationMs, stepId).toBe(Date.parse(done.at) - Date.parse(started.at));
    }
  });

  it('a call that times out is retried like a crash (attempt + 1), and the step succeeds', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-timeout-'));
    const recordFile = join(dir, 'record.jsonl');
    fx = await openTestRuntime(configWithServers({ runs: { script: 'runs-server.mjs', timeoutSecs: 1, env: { WEFT_RECORD: recordFile } } }));
    const flowId = await fx.rt.putFlow({
      schema: FLOW_SCHEMA, steps: [{ id: 'r', component: '/runs/record', input: { item: 0, hang_attempt: 1 } }], output: { $step: 'r' },
    });
    const final = await fx.rt.run(flowId, [{}]);
    expect(final.status).toBe('success');
    expect(final.results![0].result).toMatchObject({ outcome: 'success', value: { item: 0, attempt: 2 } });
    const events = (await fx.rt.runs.listEvents(final.runId)).filter((e) => e.type === 'step_started').map((e) => e.attempt);
    expect(events).toEqual([1, 2]);
  });
});
