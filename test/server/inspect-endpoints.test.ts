import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from '../helpers/http-call.js';
import { httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

// What the debug page reads of a run (items, one item's steps, counts per step, the event
// log in pages), against a real `weft serve` on a real SQLite store and a real component server.

let ws: HttpWorkspace;
let server: WeftServer;
const call = (path: string) => httpCall(server.url, 'GET', path);

const FLOW = {
  schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'inspect-me',
  steps: [
    { id: 'nap', component: '/runs/sleep', input: { ms: 0, fail: { $input: 'fail' }, value: { $input: 'n' } } },
    { id: 'echo', component: '/runs/echo', input: { napped: { $step: 'nap', path: 'value' }, label: { $input: 'label' } } },
  ],
  output: { $step: 'echo' },
};

let flowId: string;
let runId: string;

async function runToEnd(inputs: unknown[], flow: unknown = FLOW): Promise<string> {
  const r = await httpCall(server.url, 'POST', '/runs', { body: { flow, inputs, wait: true } });
  expect(r.json?.status, r.text).toBeDefined();
  return r.json.runId as string;
}

beforeAll(async () => {
  ws = httpWorkspace();
  server = await startWeftServer(ws.dir);
  runId = await runToEnd([
    { n: 1, fail: false, label: 'one' },
    { n: 2, fail: true, label: 'two' },
    { n: 3, fail: false, label: 'three' },
  ]);
  flowId = (await call(`/runs/${runId}`)).json.flowId;
});
afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
  ws?.cleanup();
});

describe('weft serve: inspecting a finished run', () => {
  it('GET /runs/:id/items pages the items with status, result and error, and the counts per status', async () => {
    const all = await call(`/runs/${runId}/items`);
    expect(all.status).toBe(200);
    expect(all.json.counts).toMatchObject({ total: 3, success: 2, failed: 1, cancelled: 0, pending: 0 });
    expect(all.json.items.map((i: { status: string }) => i.status)).toEqual(['success', 'failed', 'success']);
    expect(all.json.items[0]).toMatchObject({ itemIndex: 0, input: { n: 1, label: 'one' }, result: { outcome: 'success', result: { napped: 1, label: 'one' } }, steps: { nap: 'success', echo: 'success' } });
    expect(all.json.items[1].result.outcome).toBe('failed');
    expect(all.json.items[1].result.error.message).toMatch(/failed on purpose: 2/);
    // echo reads nap's failed result: it fails without being called (attempt 0).
    expect(all.json.items[1].steps).toEqual({ nap: 'failed', echo: 'failed' });
    expect(all.json.nextFrom).toBeUndefined();

    const first = await call(`/runs/${runId}/items?limit=2`);
    expect(first.json.items.map((i: { itemIndex: number }) => i.itemIndex)).toEqual([0, 1]);
    expect(first.json.nextFrom).toBe(2);
    const rest = await call(`/runs/${runId}/items?limit=2&from=${first.json.nextFrom}`);
    expect(rest.json.items.map((i: { itemIndex: number }) => i.itemIndex)).toEqual([2]);
    const failed = await call(`/runs/${runId}/items?status=failed`);
    expect(failed.json.items.map((i: { itemIndex: number }) => i.itemIndex)).toEqual([1]);

    expect((await call(`/runs/${runId}/items?status=done`)).json.error.message).toMatch(/query\.status/);
    expect((await call(`/runs/${runId}/items?limit=0`)).status).toBe(400);
    expect((await call('/runs/00000000-0000-0000-0000-000000000000/items')).status).toBe(404);
  });

  it('GET /runs/:id/items/:index shows each step with its input, output, error, attempt and duration', async () => {
    const ok = await call(`/runs/${runId}/items/0`);
    expect(ok.status).toBe(200);
    const [nap, echo] = ok.json.steps;
    expect(nap).toMatchObject({ stepId: 'nap', component: '/runs/sleep', state: 'success', attempt: 1, input: { ms: 0, fail: false, value: 1 }, output: { value: 1 } });
    expect(nap.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(nap.finishedAt)).toBeGreaterThanOrEqual(Date.parse(nap.startedAt));
    expect(echo).toMatchObject({ stepId: 'echo', state: 'success', input: { napped: 1, label: 'one' }, output: { napped: 1, label: 'one' } });

    const bad = await call(`/runs/${runId}/items/1`);
    expect(bad.json.status).toBe('failed');
    expect(bad.json.steps[0]).toMatchObject({ stepId: 'nap', state: 'failed', input: { ms: 0, fail: true, value: 2 } });
    expect(bad.json.steps[0].error.message).toMatch(/failed on purpose: 2/);
    expect(bad.json.steps[0].output).toBeUndefined();
    expect(bad.json.steps[1]).toMatchObject({ stepId: 'echo', state: 'failed', attempt: 0, inputError: { kind: 'COMPONENT_FAILED' } });
    expect(bad.json.steps[1].error.message).toMatch(/step "nap" failed/);
    expect(bad.json.steps[1].input).toBeUndefined();

    expect((await call(`/runs/${runId}/items/9`)).status).toBe(404);
    expect((await call(`/runs/${runId}/items/9`)).json.error.message).toMatch(/has no item 9 \(it has 3\)/);
    expect((await call(`/runs/${runId}/items/x`)).status).toBe(400);
  });

  it('GET /runs/:id/steps counts the items in each state at each step', async () => {
    const res = await call(`/runs/${runId}/steps`);
    expect(res.json.steps).toEqual([
      { stepId: 'nap', component: '/runs/sleep', pending: 0, running: 0, awaiting_input: 0, success: 2, failed: 1, not_run: 0 },
      { stepId: 'echo', component: '/runs/echo', pending: 0, running: 0, awaiting_input: 0, success: 2, failed: 1, not_run: 0 },
    ]);
  });

  it('GET /runs/:id/log pages the event log newest or oldest first, filtered by type, item and step', async () => {
    const newest = await call(`/runs/${runId}/log`);
    expect(newest.status).toBe(200);
    const all = newest.json.events as Array<{ seq: number; type: string; itemIndex?: number; stepId?: string }>;
    expect(all[0].type).toBe('run_completed');
    expect(all.at(-1)!.type).toBe('run_created');
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => b - a));
    const oldest = await call(`/runs/${runId}/log?order=oldest`);
    expect(oldest.json.events.map((e: { seq: number }) => e.seq)).toEqual(all.map((e) => e.seq).reverse());

    for (const order of ['newest', 'oldest']) {
      const seen: number[] = [];
      let cursor: number | undefined;
      let pages = 0;
      do {
        const page = await call(`/runs/${runId}/log?order=${order}&limit=4${cursor !== undefined ? `&cursor=${cursor}` : ''}`);
        expect(page.json.events.length).toBeLessThanOrEqual(4);
        seen.push(...page.json.events.map((e: { seq: number }) => e.seq));
        cursor = page.json.next;
        pages++;
      } while (cursor !== undefined && pages < 100);
      expect(seen, order).toEqual(order === 'newest' ? all.map((e) => e.seq) : all.map((e) => e.seq).reverse());
    }

    const failedSteps = await call(`/runs/${runId}/log?types=step_failed`);
    expect(failedSteps.json.events.map((e: { itemIndex: number; stepId: string }) => [e.itemIndex, e.stepId])).toEqual([[1, 'echo'], [1, 'nap']]);
    const item2 = await call(`/runs/${runId}/log?itemIndex=2&order=oldest`);
    expect(item2.json.events.length).toBeGreaterThan(0);
    expect(item2.json.events.every((e: { itemIndex: number }) => e.itemIndex === 2)).toBe(true);
    expect(item2.json.events.map((e: { type: string }) => e.type)).toEqual(all.filter((e) => e.itemIndex === 2).map((e) => e.type).reverse());
    const echoDone = await call(`/runs/${runId}/log?stepId=echo&types=step_completed`);
    expect(echoDone.json.events.map((e: { itemIndex: number }) => e.itemIndex).sort()).toEqual([0, 2]);

    expect((await call(`/runs/${runId}/log?types=nope`)).status).toBe(400);
    expect((await call(`/runs/${runId}/log?order=sideways`)).status).toBe(400);
  });

  it('pages a large run\'s log across the store\'s read windows without a gap or a repeat', async () => {
    const big = await runToEnd(Array.from({ length: 150 }, (_, n) => ({ n, fail: false, label: `#${n}` })));
    const seqs = async (order: string, limit: number) => {
      const out: number[] = [];
      let cursor: number | undefined;
      do {
        const page = await call(`/runs/${big}/log?order=${order}&limit=${limit}${cursor !== undefined ? `&cursor=${cursor}` : ''}`);
        out.push(...page.json.events.map((e: { seq: number }) => e.seq));
        cursor = page.json.next;
      } while (cursor !== undefined);
      return out;
    };
    const newest = await seqs('newest', 333);
    const count = newest[0];
    expect(count).toBeGreaterThan(600); // > one read window (500)
    expect(newest).toEqual(Array.from({ length: count }, (_, i) => count - i));
    expect(await seqs('oldest', 1000)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const lastItem = await call(`/runs/${big}/log?itemIndex=149&types=item_completed`);
    expect(lastItem.json.events).toHaveLength(1);
  });

  it('GET /runs?flow= lists the runs of one flow, by name (every version) or by id', async () => {
    const other = await runToEnd([{ n: 9, fail: false, label: 'v2' }], { ...FLOW, description: 'a second version' });
    const byName = await call('/runs?flow=inspect-me&limit=1000');
    const names = byName.json.runs.map((r: { runId: string }) => r.runId);
    expect(names).toContain(runId);
    expect(names).toContain(other);
    expect(byName.json.runs.every((r: { flowName: string }) => r.flowName === 'inspect-me')).toBe(true);
    const byId = await call(`/runs?flow=${flowId}&limit=1000`);
    expect(byId.json.runs.map((r: { runId: string }) => r.runId)).toContain(runId);
    expect(byId.json.runs.map((r: { runId: string }) => r.runId)).not.toContain(other);
    expect((await call('/runs?flow=no-such-flow')).json.runs).toEqual([]);
    expect((await call('/runs?flow=inspect-me&status=failed')).json.runs.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    expect((await call('/runs?flow=inspect-me&status=cancelled')).json.runs).toEqual([]);
  });
});
