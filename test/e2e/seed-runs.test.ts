import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { FLOW_SCHEMA, ISO_Z, UUID, configWithServers, openTestRuntime } from '../helpers/runtime-fixture.js';

// The seed's runs page (seeds/001) is the contract: a component server written without
// weft's SDK performs its two sequences over real stdio, and every field of the seed's
// response example is checked, plus the fields Stepflow's Python SDK requires.
describe('runs/submit and runs/get as the seed describes them', () => {
  let fixture: Awaited<ReturnType<typeof openTestRuntime>>;
  let out: { waited: RunStatus; started: RunStatus; whileRunning: RunStatus; final: RunStatus; noResults: RunStatus; snakeOrder: RunStatus };
  let childId: string;

  beforeAll(async () => {
    fixture = await openTestRuntime(configWithServers({ raw: 'seed-runs-server.mjs' }));
    const { rt } = fixture;
    childId = await rt.putFlow({
      schema: FLOW_SCHEMA, name: 'Data Processing Workflow',
      steps: [{ id: 'work', component: '/raw/process', input: { $input: '$' } }],
      output: { $step: 'work' },
    });
    const parentId = await rt.putFlow({
      schema: FLOW_SCHEMA, name: 'parent',
      steps: [{ id: 'orchestrate', component: '/raw/orchestrate', input: { flow_id: { $input: 'flow_id' } } }],
      output: { $step: 'orchestrate' },
    });
    const status = await rt.run(parentId, [{ flow_id: childId }]);
    expect(status.results?.[0]?.result).toMatchObject({ outcome: 'success' });
    out = (status.results![0].result as { value: typeof out }).value;
  });
  afterAll(async () => { await fixture?.close(); });

  const expectFinal = (s: RunStatus) => {
    expect(Object.keys(s).sort()).toEqual(['completedAt', 'createdAt', 'flowId', 'flowName', 'items', 'results', 'runId', 'status']);
    expect(s.runId).toMatch(UUID);
    expect(s.flowId).toBe(childId);
    expect(s.flowId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(s.flowName).toBe('Data Processing Workflow');
    expect(s.status).toBe('success');
    expect(s.items).toEqual({ total: 2, pending: 0, running: 0, success: 2, completed: 2, failed: 0, cancelled: 0 });
    expect(s.createdAt).toMatch(ISO_Z);
    expect(s.completedAt).toMatch(ISO_Z);
    expect(Date.parse(s.completedAt!)).toBeGreaterThanOrEqual(Date.parse(s.createdAt));
    expect(s.results).toHaveLength(2);
    const [r0, r1] = s.results!;
    expect(r0).toEqual({ itemIndex: 0, status: 'completed', result: { outcome: 'success', value: { processed: true }, result: { processed: true } }, completedAt: expect.stringMatching(ISO_Z) });
    expect(r1).toEqual({ itemIndex: 1, status: 'completed', result: { outcome: 'success', value: { analyzed: true }, result: { analyzed: true } }, completedAt: expect.stringMatching(ISO_Z) });
  };

  it('submit with wait: true returns the final status with results by index', () => {
    expectFinal(out.waited);
  });

  it('submit with wait: false returns at once, running, without results', () => {
    expect(out.started.status).toBe('running');
    expect(out.started).not.toHaveProperty('results');
    expect(out.started).not.toHaveProperty('completedAt');
    expect(out.started.items.total).toBe(2);
    expect(out.started.runId).toMatch(UUID);
  });

  it('runs/get with wait and includeResults returns the same final shape for that run', () => {
    expectFinal(out.final);
    expect(out.final.runId).toBe(out.started.runId);
  });

  it('runs/get without includeResults has no results key', () => {
    expect(out.noResults.status).toBe('success');
    expect(out.noResults).not.toHaveProperty('results');
  });

  it('runs/get without wait (the default) answers at once while the run is still running', () => {
    // The run's "process" item is held until this answer came back: a default of wait: true would never return.
    expect(out.whileRunning.runId).toBe(out.started.runId);
    expect(out.whileRunning.status).toBe('running');
    expect(out.whileRunning).not.toHaveProperty('completedAt');
    const { total, running, success } = out.whileRunning.items;
    expect(total).toBe(2);
    expect(running).toBeGreaterThanOrEqual(1); // item 0, held; item 1 may have finished
    expect(running + success).toBe(2);
  });

  it("accepts Stepflow's snake_case resultOrder: by completion, item 1 (answered first) before item 0", () => {
    expect(out.snakeOrder.results?.map((r) => r.itemIndex)).toEqual([1, 0]);
  });

  it('links the sub-runs to the calling run', async () => {
    const child = (await fixture.rt.store.state.getRun(out.waited.runId))!;
    expect(child.parentRunId).toBeDefined();
    expect(child.depth).toBe(1);
    expect(child.parentStepId).toBe('orchestrate');
  });
});
