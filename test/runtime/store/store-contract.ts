import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobIdOf, failure, success } from '../../../protocol/index.js';
import type { BlobId } from '../../../protocol/index.js';
import type { AsyncStateStore, AsyncStore } from '../../../runtime/store/async-state-store.js';
import type { ListRunsFilter, RunEvent, RunOwner, RunRecord } from '../../../runtime/store/state-store.js';
import { ParentRunEnded } from '../../../runtime/store/parent-run-ended.js';
import { StoreBatch } from '../../../runtime/store/store-batch.js';

export interface StoreCapabilities {
  /** A batch with a refused write applies none of its writes (SQLite, PostgreSQL; the memory store does not promise it). */
  batchesRollBack?: boolean;
}

type Writes = { [K in Exclude<keyof StoreBatch, 'writes' | 'size' | 'claim' | 'started' | 'appendEvent' | 'terminate'>]: (...args: Parameters<StoreBatch[K]>) => Promise<void> };
type OneWriteStore = AsyncStateStore & Writes & {
  appendEvent(event: Omit<RunEvent, 'seq'>): Promise<number>;
  terminate(...args: Parameters<StoreBatch['terminate']>): Promise<RunEvent | undefined>;
};

/** The store with each write committed as a batch of its own (as most tests below write). */
function oneWriteBatches(state: AsyncStateStore): OneWriteStore {
  return new Proxy(state, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in StoreBatch.prototype && prop !== 'size') {
        return async (...args: unknown[]) => {
          const batch = new StoreBatch();
          (batch[prop as keyof Writes] as (...a: unknown[]) => unknown)(...args);
          const { seqs, ended } = await target.commit(batch);
          return prop === 'appendEvent' ? seqs[0] : prop === 'terminate' ? ended[0] : undefined;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as OneWriteStore;
}

export const ZERO = { total: 0, pending: 0, running: 0, paused: 0, success: 0, failed: 0, cancelled: 0 };
const FLOW = 'sha256:' + 'a'.repeat(64) as BlobId;

export function runRecord(runId: string, fields: Partial<RunRecord> = {}): RunRecord {
  return { runId, flowId: FLOW, status: 'pending', createdAt: '2024-01-01T00:00:00.000Z', rootRunId: runId, depth: 0, items: { ...ZERO }, ...fields };
}

/** A pid that certainly belonged to a process on this host and is now gone. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

/** The behaviour every store backend must have: run it against each one. */
export function describeStore(name: string, open: () => Promise<AsyncStore>, _caps: StoreCapabilities = {}): void {
  describe(`store contract: ${name}`, () => {
    let store: AsyncStore;
    let st: OneWriteStore;
    beforeEach(async () => { store = await open(); st = oneWriteBatches(store.state); });
    const commit = (build: (b: StoreBatch) => unknown) => { const b = new StoreBatch(); build(b); return store.state.commit(b); };
    afterEach(async () => { await store.close(); });

    describe('blobs', () => {
      it('gives the same sha256 id whatever the key order, and stores one copy', async () => {
        const a = await store.blobs.putBlob({ b: 1, a: { d: [1, 2], c: 'x' } }, 'flow');
        const b = await store.blobs.putBlob({ a: { c: 'x', d: [1, 2] }, b: 1 }, 'flow');
        expect(a).toBe(b);
        expect(a).toBe(blobIdOf({ a: { c: 'x', d: [1, 2] }, b: 1 }));
        expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(await store.blobs.listFlows()).toHaveLength(1);
        expect(await store.blobs.getBlob(a)).toEqual({ id: a, type: 'flow', data: { a: { c: 'x', d: [1, 2] }, b: 1 } });
      });

      it('accepts a bare or upper-case hex id, and answers undefined for unknown or malformed ids', async () => {
        const id = await store.blobs.putBlob([1, 'two', null], 'data');
        const hex = id.slice('sha256:'.length);
        expect((await store.blobs.getBlob(hex))?.data).toEqual([1, 'two', null]);
        expect((await store.blobs.getBlob(hex.toUpperCase()))?.id).toBe(id);
        expect(await store.blobs.getBlob('sha256:' + '0'.repeat(64))).toBeUndefined();
        expect(await store.blobs.getBlob('not-an-id')).toBeUndefined();
      });

      it('returns a copy: changing what getBlob returned does not change the blob', async () => {
        const id = await store.blobs.putBlob({ list: [1] }, 'data');
        ((await store.blobs.getBlob(id))!.data as { list: number[] }).list.push(2);
        expect((await store.blobs.getBlob(id))!.data).toEqual({ list: [1] });
      });

      it('lists flows newest first with their name and description, and not data blobs', async () => {
        const first = await store.blobs.putBlob({ name: 'etl', description: 'loads things', steps: [] }, 'flow');
        await store.blobs.putBlob({ name: 'not a flow' }, 'data');
        const second = await store.blobs.putBlob({ name: 'report', steps: [] }, 'flow');
        const flows = await store.blobs.listFlows();
        expect(flows.map((f) => f.flowId)).toEqual([second, first]);
        expect(flows[0]).toMatchObject({ flowId: second, name: 'report' });
        expect(flows[0].description).toBeUndefined();
        expect(flows[1]).toMatchObject({ flowId: first, name: 'etl', description: 'loads things' });
        expect(Date.parse(flows[1].createdAt)).not.toBeNaN();
      });

      it('makes a value stored as data a flow when it is put as a flow', async () => {
        const id = await store.blobs.putBlob({ name: 'late', steps: [] }, 'data');
        expect(await store.blobs.putBlob({ steps: [], name: 'late' }, 'flow')).toBe(id);
        expect((await store.blobs.getBlob(id))?.type).toBe('flow');
        expect((await store.blobs.listFlows()).map((f) => f.name)).toEqual(['late']);
      });

      it('round-trips binary blobs, id = sha256 of the raw bytes, isolated from the caller\'s buffer', async () => {
        const bytes = new Uint8Array([0, 1, 2, 250, 255]);
        const id = await store.blobs.putBlob(bytes, 'binary');
        expect(id).toBe('sha256:' + createHash('sha256').update(bytes).digest('hex'));
        bytes[0] = 99;
        const blob = (await store.blobs.getBlob(id))!;
        expect(blob.type).toBe('binary');
        expect(blob.data).toBeInstanceOf(Uint8Array);
        expect([...(blob.data as Uint8Array)]).toEqual([0, 1, 2, 250, 255]);
        expect(await store.blobs.putBlob(Buffer.from([0, 1, 2, 250, 255]), 'binary')).toBe(id);
      });

      it('rejects a binary blob that is not bytes', async () => {
        await expect(store.blobs.putBlob('text', 'binary')).rejects.toThrow(/Uint8Array/);
      });
    });

    describe('runs', () => {
      it('creates a run and reads every field back, with counters starting at zero', async () => {
        const run = runRecord('r1', {
          flowName: 'etl', flowLabel: 'nightly', parentRunId: 'p', parentItemIndex: 3, parentStepId: 'fan', subflowKey: 'k',
          rootRunId: 'p', depth: 1, maxConcurrency: 4, overrides: { s1: { value: { input: 1 } } }, variables: { region: 'eu' },
          forkOf: { runId: 'src', fromStep: 's2' }, configId: FLOW, workingDirectory: '/srv/flows', items: { ...ZERO, total: 99 },
        });
        await st.createRun(run);
        expect(await st.getRun('r1')).toEqual({ ...run, items: ZERO });
        expect(await st.getRun('nope')).toBeUndefined();
      });

      it('refuses a second run with the same id', async () => {
        await st.createRun(runRecord('r1'));
        await expect(st.createRun(runRecord('r1'))).rejects.toThrow(/r1/);
      });

      it('returns copies: changing a returned run does not change the store', async () => {
        await st.createRun(runRecord('r1', { variables: { a: 1 } }));
        const got = (await st.getRun('r1'))!;
        got.variables!.a = 2;
        got.items.total = 7;
        expect(await st.getRun('r1')).toMatchObject({ variables: { a: 1 }, items: ZERO });
      });

      it('lists runs newest first, filtered by status and parent, with paging', async () => {
        for (const id of ['a', 'b', 'c', 'd']) await st.createRun(runRecord(id));
        await st.createRun(runRecord('child', { parentRunId: 'b', rootRunId: 'b', depth: 1 }));
        await st.terminate('a', 'success', '2024-01-01T00:01:00.000Z');
        await st.terminate('c', 'success', '2024-01-01T00:01:00.000Z');
        const ids = async (f?: ListRunsFilter) => (await st.listRuns(f)).map((r) => r.runId);
        expect(await ids()).toEqual(['child', 'd', 'c', 'b', 'a']);
        expect(await ids({ status: 'success' })).toEqual(['c', 'a']);
        expect(await ids({ parentRunId: null })).toEqual(['d', 'c', 'b', 'a']);
        expect(await ids({ parentRunId: 'b' })).toEqual(['child']);
        expect(await ids({ limit: 2 })).toEqual(['child', 'd']);
        expect(await ids({ offset: 2, limit: 2 })).toEqual(['c', 'b']);
        expect(await ids({ status: 'pending', parentRunId: null, offset: 1 })).toEqual(['b']);
      });

      it('lists runs of one flow version by id, or of every version by name', async () => {
        const other = `sha256:${'e'.repeat(64)}` as BlobId;
        await st.createRun(runRecord('v1', { flowName: 'etl' }));
        await st.createRun(runRecord('v2', { flowId: other, flowName: 'etl' }));
        await st.createRun(runRecord('x', { flowName: 'other' }));
        await st.createRun(runRecord('anon'));
        await st.terminate('v1', 'failed', '2024-01-01T00:01:00.000Z');
        const ids = async (f?: ListRunsFilter) => (await st.listRuns(f)).map((r) => r.runId);
        expect(await ids({ flowName: 'etl' })).toEqual(['v2', 'v1']);
        expect(await ids({ flowId: FLOW })).toEqual(['anon', 'x', 'v1']);
        expect(await ids({ flowId: other, flowName: 'etl' })).toEqual(['v2']);
        expect(await ids({ flowName: 'etl', status: 'failed' })).toEqual(['v1']);
        expect(await ids({ flowName: 'etl', limit: 1, offset: 1 })).toEqual(['v1']);
        expect(await ids({ flowName: 'nope' })).toEqual([]);
      });

      it('lists unfinished runs (pending, running, paused), oldest first', async () => {
        for (const id of ['p', 'r', 'z', 's', 'f', 'x']) await st.createRun(runRecord(id));
        await st.setRunStatus('r', 'running');
        await st.setRunStatus('z', 'paused');
        await st.terminate('s', 'success', '2024-01-02T00:00:00.000Z');
        await st.terminate('f', 'failed', '2024-01-02T00:00:00.000Z');
        await st.terminate('x', 'cancelled', '2024-01-02T00:00:00.000Z');
        expect((await st.listUnfinishedRuns()).map((r) => r.runId)).toEqual(['p', 'r', 'z']);
      });

      it('finds a sub-run by parent and subflow key', async () => {
        await st.createRun(runRecord('parent'));
        await st.createRun(runRecord('sub', { parentRunId: 'parent', subflowKey: 'item-3/step-a', rootRunId: 'parent', depth: 1 }));
        expect((await st.findSubRun('parent', 'item-3/step-a'))?.runId).toBe('sub');
        expect(await st.findSubRun('parent', 'other')).toBeUndefined();
        expect(await st.findSubRun('sub', 'item-3/step-a')).toBeUndefined();
      });

      it('refuses a sub-run whose parent has ended, in the creating transaction, and creates nothing of it', async () => {
        await st.createRun(runRecord('open'));
        await st.createRun(runRecord('ended'));
        await st.terminate('ended', 'cancelled', '2024-01-02T00:00:00.000Z');
        await st.createRun(runRecord('child-of-open', { parentRunId: 'open', rootRunId: 'open', depth: 1 }));
        const refused = await commit((b) => b.createRun(runRecord('child-of-ended', { parentRunId: 'ended', rootRunId: 'ended', depth: 1 }))
          .addItems('child-of-ended', 0, [{ i: 0 }])).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(ParentRunEnded);
        expect(refused).toMatchObject({ parentRunId: 'ended', status: 'cancelled' });
        expect(await st.getRun('child-of-ended')).toBeUndefined();
        expect((await st.getRun('child-of-open'))?.parentRunId).toBe('open');
      });

      it('finds the newest sub-run when a retry reused the key', async () => {
        await st.createRun(runRecord('parent'));
        await st.createRun(runRecord('first', { parentRunId: 'parent', subflowKey: 'k', rootRunId: 'parent', depth: 1 }));
        await st.createRun(runRecord('retry', { parentRunId: 'parent', subflowKey: 'k', rootRunId: 'parent', depth: 1 }));
        expect((await st.findSubRun('parent', 'k'))?.runId).toBe('retry');
      });

      it('moves between open statuses, and terminate ends the run with completedAt, error and a run_completed event', async () => {
        await st.createRun(runRecord('r1'));
        await st.addItems('r1', 0, [1, 2]);
        await st.setRunStatus('r1', 'running');
        await st.setRunStatus('r1', 'paused');
        expect(await st.getRun('r1')).toMatchObject({ status: 'paused' });
        expect((await st.getRun('r1'))!.completedAt).toBeUndefined();
        const error = { code: 500, kind: 'ORCHESTRATOR_ERROR' as const, message: 'flow blob is gone', data: { flowId: FLOW } };
        const event = await st.terminate('r1', 'failed', '2024-01-01T00:05:00.000Z', error);
        expect(event).toMatchObject({ runId: 'r1', type: 'run_completed', at: '2024-01-01T00:05:00.000Z', data: { status: 'failed' } });
        expect(await st.getRun('r1')).toMatchObject({ status: 'failed', completedAt: '2024-01-01T00:05:00.000Z', error });
        // Its open items ended with it, in the same transaction, and so did the event.
        expect((await st.getRun('r1'))!.items).toEqual({ ...ZERO, total: 2, cancelled: 2 });
        expect(await st.listEvents('r1')).toEqual([event]);
      });

      it('keeps a terminal run as it is: status, counters, items, steps and events do not change', async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [1, 2, 3]);
        await st.setItemStatus('r', 0, 'running');
        await st.finishItem('r', 0, success(1), 't1');
        await st.setItemStatus('r', 1, 'running');
        await st.startStep('r', 1, 's', 1, 't1');
        const ended = (await st.terminate('r', 'cancelled', 't2'))!;
        const before = { run: await st.getRun('r'), items: await st.listItems('r'), steps: await st.listSteps('r'), events: await st.listEvents('r') };
        // Every write below is a no-op, not an error: late writes from a component or another process.
        expect(await st.terminate('r', 'success', 't3')).toBeUndefined();
        await st.setRunStatus('r', 'running');
        await st.setItemStatus('r', 1, 'paused');
        await st.finishItem('r', 2, success(3), 't3');
        await st.cancelItems('r', 't3');
        await st.startStep('r', 2, 's', 1, 't3');
        await st.finishStep('r', 1, 's', 1, success('late'), 't3');
        await st.awaitStepInput('r', 1, 's', { prompt: 'late?' }, 't3');
        expect(await st.appendEvent({ runId: 'r', type: 'step_completed', at: 't3', itemIndex: 1, stepId: 's' })).toBe(0);
        await commit((b) => { b.setItemStatus('r', 2, 'running'); b.finishItem('r', 2, success(3), 't3'); });
        expect({ run: await st.getRun('r'), items: await st.listItems('r'), steps: await st.listSteps('r'), events: await st.listEvents('r') }).toEqual(before);
        expect(before.run).toMatchObject({ status: 'cancelled', completedAt: 't2', items: { ...ZERO, total: 3, success: 1, cancelled: 2 } });
        expect(before.events).toEqual([ended]);
      });

      it('drops the writes that follow a terminate in the same batch, keeps those before it', async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [1, 2]);
        await commit((b) => {
          b.setItemStatus('r', 0, 'running');
          b.finishItem('r', 0, success(1), 't1');
          b.appendEvent({ runId: 'r', type: 'item_completed', at: 't1', itemIndex: 0 });
          b.terminate('r', 'cancelled', 't2');
          b.setItemStatus('r', 1, 'running');
          b.appendEvent({ runId: 'r', type: 'item_started', at: 't3', itemIndex: 1 });
        });
        expect((await st.getRun('r'))!.items).toEqual({ ...ZERO, total: 2, success: 1, cancelled: 1 });
        expect((await st.listEvents('r')).map((e) => e.type)).toEqual(['item_completed', 'run_completed']);
      });

      it('ignores writes to a purged run, which has no items any more', async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [1, 2]);
        await st.setItemStatus('r', 0, 'running');
        await st.purgeRun('r');
        await st.setItemStatus('r', 0, 'paused');
        await st.finishItem('r', 1, success(2), 't');
        await st.awaitStepInput('r', 0, 's', { prompt: 'p' }, 't');
        expect(await st.appendEvent({ runId: 'r', type: 'step_awaiting_input', at: 't', itemIndex: 0 })).toBe(0);
        expect(await st.getRun('r')).toMatchObject({ status: 'cancelled', items: { ...ZERO, total: 2, cancelled: 2 } });
        expect(await st.listItems('r')).toEqual([]);
        expect(await st.listSteps('r')).toEqual([]);
        expect(await st.listEvents('r')).toEqual([]);
      });

      it('purges a finished run without rewriting its status', async () => {
        await st.createRun(runRecord('ok'));
        await st.addItems('ok', 0, [1]);
        await st.setItemStatus('ok', 0, 'running');
        await st.finishItem('ok', 0, success(1), 't1');
        await st.terminate('ok', 'success', 't2');
        await st.createRun(runRecord('bad'));
        await st.terminate('bad', 'failed', 't2', { code: 500, kind: 'ORCHESTRATOR_ERROR' as const, message: 'broke' });
        await st.purgeRun('ok');
        await st.purgeRun('bad');
        expect(await st.getRun('ok')).toMatchObject({ status: 'success', completedAt: 't2' });
        expect(await st.getRun('bad')).toMatchObject({ status: 'failed', completedAt: 't2', error: { code: 500, kind: 'ORCHESTRATOR_ERROR' as const, message: 'broke' } });
        expect(await st.listItems('ok')).toEqual([]);
      });

      it('refuses status changes of an unknown run', async () => {
        await expect(st.setRunStatus('ghost', 'running')).rejects.toThrow(/ghost/);
        await expect(st.cancelItems('ghost', 't')).rejects.toThrow(/ghost/);
        await expect(st.terminate('ghost', 'cancelled', 't')).rejects.toThrow(/ghost/);
        await expect(st.purgeRun('ghost')).rejects.toThrow(/ghost/);
      });
    });

    describe('items', () => {
      beforeEach(async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
        await st.addItems('r', 3, [{ n: 3 }, 'four']);
      });
      const at = (s: number) => `2024-01-01T00:00:${String(s).padStart(2, '0')}.000Z`;

      it('adds items in chunks as pending, in index order', async () => {
        expect((await st.getRun('r'))!.items).toEqual({ ...ZERO, total: 5, pending: 5 });
        const items = await st.listItems('r');
        expect(items.map((i) => i.input)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, 'four']);
        expect(items.every((i) => i.status === 'pending' && i.runId === 'r')).toBe(true);
        expect(items.map((i) => i.itemIndex)).toEqual([0, 1, 2, 3, 4]);
      });

      it('refuses an item index that exists, and changes to unknown items', async () => {
        await expect(st.addItems('r', 4, [1])).rejects.toThrow(/4/);
        expect((await st.getRun('r'))!.items.total).toBe(5);
        await expect(st.setItemStatus('r', 9, 'running')).rejects.toThrow(/9/);
        await expect(st.finishItem('r', 9, success(1), at(1))).rejects.toThrow(/9/);
        await expect(st.addItems('ghost', 0, [1])).rejects.toThrow(/ghost/);
      });

      it('keeps an added input from later changes by the caller', async () => {
        const input = { list: [1] };
        await st.addItems('r', 5, [input]);
        input.list.push(2);
        expect((await st.getItem('r', 5))!.input).toEqual({ list: [1] });
      });

      it('keeps the counters in step: pending → running → success / failed, paused, cancel the rest', async () => {
        const counts = async () => (await st.getRun('r'))!.items;
        await st.setItemStatus('r', 0, 'running');
        await st.setItemStatus('r', 1, 'running');
        expect(await counts()).toEqual({ ...ZERO, total: 5, pending: 3, running: 2 });
        await st.finishItem('r', 0, success({ doubled: 0 }), at(1));
        await st.finishItem('r', 1, failure('COMPONENT_FAILED', 'boom'), at(2));
        expect(await counts()).toEqual({ ...ZERO, total: 5, pending: 3, success: 1, failed: 1 });
        await st.setItemStatus('r', 2, 'running');
        await st.setItemStatus('r', 2, 'paused');
        await st.setItemStatus('r', 2, 'paused');
        expect(await counts()).toEqual({ ...ZERO, total: 5, pending: 2, paused: 1, success: 1, failed: 1 });
        await st.setItemStatus('r', 3, 'running');
        await st.cancelItems('r', at(3));
        expect(await counts()).toEqual({ ...ZERO, total: 5, success: 1, failed: 1, cancelled: 3 });
        expect(await st.getItem('r', 0)).toMatchObject({ status: 'success', result: success({ doubled: 0 }), completedAt: at(1) });
        expect(await st.getItem('r', 1)).toMatchObject({ status: 'failed', result: { outcome: 'failed', error: { kind: 'COMPONENT_FAILED', message: 'boom' } } });
        expect(await st.getItem('r', 2)).toMatchObject({ status: 'cancelled', completedAt: at(3) });
        expect((await st.getItem('r', 2))!.result).toBeUndefined();
        expect(await st.getItem('r', 9)).toBeUndefined();
      });

      it('lists items from an index, limited, filtered by status', async () => {
        await st.setItemStatus('r', 1, 'running');
        await st.setItemStatus('r', 3, 'running');
        await st.finishItem('r', 3, success(3), at(1));
        const idx = async (opts: Parameters<AsyncStateStore['listItems']>[1]) => (await st.listItems('r', opts)).map((i) => i.itemIndex);
        expect(await idx({ fromIndex: 2 })).toEqual([2, 3, 4]);
        expect(await idx({ fromIndex: 1, limit: 2 })).toEqual([1, 2]);
        expect(await idx({ statuses: ['pending'] })).toEqual([0, 2, 4]);
        expect(await idx({ statuses: ['pending'], fromIndex: 1, limit: 1 })).toEqual([2]);
        // The pending page (the run manager's hot read) is the same records as the unfiltered list.
        expect(await st.listItems('r', { statuses: ['pending'] })).toEqual((await st.listItems('r')).filter((i) => i.status === 'pending'));
        expect(await idx({ statuses: ['running', 'success'] })).toEqual([1, 3]);
        expect(await idx({ statuses: [] })).toEqual([]);
        expect(await st.listItems('ghost')).toEqual([]);
      });

      it('lists results by index or by completion order, with offset and limit', async () => {
        for (const [i, s] of [[3, 1], [1, 2], [4, 3], [0, 4]]) {
          await st.setItemStatus('r', i, 'running');
          await st.finishItem('r', i, i === 1 ? failure('TIMEOUT', 'slow') : success(i * 10), at(s));
        }
        const byIndex = await st.listResults('r', 'byIndex');
        expect(byIndex.map((i) => i.itemIndex)).toEqual([0, 1, 3, 4]);
        expect(byIndex[0]).toMatchObject({ status: 'success', result: success(0), completedAt: at(4), input: { n: 0 } });
        const byCompletion = await st.listResults('r', 'byCompletion');
        expect(byCompletion.map((i) => i.itemIndex)).toEqual([3, 1, 4, 0]);
        const seqs = byCompletion.map((i) => i.completionSeq!);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(4);
        expect((await st.listResults('r', 'byIndex', { offset: 1, limit: 2 })).map((i) => i.itemIndex)).toEqual([1, 3]);
        expect((await st.listResults('r', 'byCompletion', { offset: 1, limit: 2 })).map((i) => i.itemIndex)).toEqual([1, 4]);
        expect((await st.listResults('r', 'byCompletion', { offset: 3 })).map((i) => i.itemIndex)).toEqual([0]);
        // Cancelled items are finished too, after everything that finished before.
        await st.cancelItems('r', at(5));
        expect((await st.listResults('r', 'byCompletion')).map((i) => i.itemIndex)).toEqual([3, 1, 4, 0, 2]);
      });

      it('drops an item from the results when it is set back to pending', async () => {
        await st.setItemStatus('r', 2, 'running');
        await st.finishItem('r', 2, success(2), at(1));
        await st.setItemStatus('r', 2, 'pending');
        expect(await st.listResults('r', 'byIndex')).toEqual([]);
        const item = (await st.getItem('r', 2))!;
        expect(item.status).toBe('pending');
        expect(item.result).toBeUndefined();
        expect((await st.getRun('r'))!.items).toEqual({ ...ZERO, total: 5, pending: 5 });
      });
    });

    describe('step journal', () => {
      beforeEach(async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [1, 2]);
      });

      it('records attempts, restarts and results of a step', async () => {
        await st.startStep('r', 0, 'double', 1, 't1');
        expect(await st.listSteps('r', 0)).toEqual([{ runId: 'r', itemIndex: 0, stepId: 'double', attempt: 1, state: 'running', startedAt: 't1' }]);
        await st.startStep('r', 0, 'double', 2, 't2');
        expect(await st.listSteps('r', 0)).toEqual([{ runId: 'r', itemIndex: 0, stepId: 'double', attempt: 2, state: 'running', startedAt: 't2' }]);
        await st.finishStep('r', 0, 'double', 2, success({ value: 4 }), 't3');
        expect(await st.listSteps('r', 0)).toEqual([{
          runId: 'r', itemIndex: 0, stepId: 'double', attempt: 2, state: 'success', result: success({ value: 4 }), startedAt: 't2', finishedAt: 't3',
        }]);
      });

      it('records a failed step as failed, with its error', async () => {
        await st.startStep('r', 1, 'fetch', 1, 't1');
        await st.finishStep('r', 1, 'fetch', 1, failure('UNREACHABLE', 'server crashed'), 't2');
        expect((await st.listSteps('r', 1))[0]).toMatchObject({ state: 'failed', result: { outcome: 'failed', error: { kind: 'UNREACHABLE' } } });
      });

      it('records a step awaiting human input with its prompt', async () => {
        await st.startStep('r', 0, 'approve', 1, 't1');
        await st.awaitStepInput('r', 0, 'approve', { prompt: 'Ship it?', schema: { type: 'boolean' } }, 't2');
        expect((await st.listSteps('r', 0))[0]).toMatchObject({
          stepId: 'approve', attempt: 1, state: 'awaiting_input', startedAt: 't1', prompt: { prompt: 'Ship it?', schema: { type: 'boolean' } },
        });
      });

      it('keeps a step\'s human answers by call number, through a restart of the step and its finish', async () => {
        await st.startStep('r', 0, 'approve', 1, 't1');
        await st.awaitStepInput('r', 0, 'approve', { prompt: 'first?' }, 't2');
        await st.answerStepInput('r', 0, 'approve', 0, { ok: true });
        await st.awaitStepInput('r', 0, 'approve', { prompt: 'second?' }, 't3');
        await st.answerStepInput('r', 0, 'approve', 1, null);
        await st.startStep('r', 0, 'approve', 2, 't4'); // re-run after a crash: the answers stay
        expect((await st.listSteps('r', 0))[0].answers).toEqual([{ n: 0, value: { ok: true } }, { n: 1, value: null }]);
        await st.answerStepInput('r', 0, 'approve', 1, 'again'); // answered again: replaces
        await st.finishStep('r', 0, 'approve', 2, success({ value: 1 }), 't5');
        expect((await st.listSteps('r', 0))[0]).toMatchObject({ state: 'success', answers: [{ n: 0, value: { ok: true } }, { n: 1, value: 'again' }] });
        expect((await st.listSteps('r', 1))).toEqual([]);
      });

      it('lists the steps of one item, or of the whole run by item then step id', async () => {
        await st.startStep('r', 1, 'b', 1, 't');
        await st.startStep('r', 0, 'c', 1, 't');
        await st.startStep('r', 0, 'a', 1, 't');
        await st.startStep('r', 1, 'a', 1, 't');
        expect((await st.listSteps('r', 0)).map((s) => s.stepId)).toEqual(['a', 'c']);
        expect((await st.listSteps('r')).map((s) => `${s.itemIndex}:${s.stepId}`)).toEqual(['0:a', '0:c', '1:a', '1:b']);
        expect(await st.listSteps('ghost')).toEqual([]);
      });
    });

    describe('events', () => {
      beforeEach(async () => {
        await st.createRun(runRecord('r'));
        await st.createRun(runRecord('other'));
      });

      it('numbers events per run from 1 and lists a run\'s events since a seq, limited', async () => {
        const s1 = await st.appendEvent({ runId: 'r', type: 'run_created', at: 't1', data: { total: 2 } });
        const o1 = await st.appendEvent({ runId: 'other', type: 'run_created', at: 't1' });
        const s2 = await st.appendEvent({ runId: 'r', type: 'step_started', at: 't2', itemIndex: 1, stepId: 'double', attempt: 2 });
        const s3 = await st.appendEvent({ runId: 'r', type: 'run_completed', at: 't3', data: { status: 'success' } });
        expect([s1, s2, s3, o1]).toEqual([1, 2, 3, 1]);
        expect(await st.listEvents('r')).toEqual([
          { seq: 1, runId: 'r', type: 'run_created', at: 't1', data: { total: 2 } },
          { seq: 2, runId: 'r', type: 'step_started', at: 't2', itemIndex: 1, stepId: 'double', attempt: 2 },
          { seq: 3, runId: 'r', type: 'run_completed', at: 't3', data: { status: 'success' } },
        ]);
        expect((await st.listEvents('r', 1)).map((e) => e.seq)).toEqual([2, 3]);
        expect((await st.listEvents('r', 1, 1)).map((e) => e.seq)).toEqual([2]);
        expect(await st.listEvents('r', 3)).toEqual([]);
        expect((await st.listEvents('other')).map((e) => e.seq)).toEqual([1]);
        expect(await st.listEvents('ghost')).toEqual([]);
      });

      it('gives the events of one batch consecutive seqs per run, in batch order, and answers them in that order', async () => {
        await st.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
        const batch = new StoreBatch();
        for (let i = 0; i < 70; i++) batch.appendEvent({ runId: i % 3 === 0 ? 'other' : 'r', type: 'item_started', at: 't1', itemIndex: i });
        const { seqs } = await store.state.commit(batch);
        const expected: number[] = [];
        let r = 1; let other = 0;
        for (let i = 0; i < 70; i++) expected.push(i % 3 === 0 ? ++other : ++r);
        expect(seqs).toEqual(expected);
        const listed = await st.listEvents('r', 1);
        expect(listed.map((e) => e.itemIndex)).toEqual(Array.from({ length: 70 }, (_, i) => i).filter((i) => i % 3 !== 0));
        expect(listed.map((e) => e.seq)).toEqual(Array.from({ length: listed.length }, (_, i) => i + 2));
        // Paging from inside a batch of events.
        expect((await st.listEvents('r', 10, 3)).map((e) => e.seq)).toEqual([11, 12, 13]);
      });
    });

    describe('batches (one group commit)', () => {
      it('applies a batch as its writes in order: a run created, stepped through a retry and finished in one commit', async () => {
        const { seqs } = await commit((b) => {
          b.createRun(runRecord('r'));
          b.addItems('r', 0, ['a', 'b', 'c']);
          b.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
          b.setItemStatus('r', 0, 'running');
          b.startStep('r', 0, 's', 1, 't1');
          b.finishStep('r', 0, 's', 1, failure('UNREACHABLE', 'crashed'), 't2');
          b.startStep('r', 0, 's', 2, 't3');
          b.finishStep('r', 0, 's', 2, success('A'), 't4');
          b.finishItem('r', 0, success('A'), 't4');
          b.appendEvent({ runId: 'r', type: 'item_completed', at: 't4', itemIndex: 0 });
          b.setItemStatus('r', 1, 'running');
          b.startStep('r', 1, 'ask', 1, 't5');
          b.awaitStepInput('r', 1, 'ask', { prompt: 'ok?' }, 't6');
          b.setItemStatus('r', 1, 'paused');
          b.setRunStatus('r', 'running');
        });
        expect(seqs).toEqual([1, 2]);
        expect(await st.getRun('r')).toMatchObject({ status: 'running', items: { ...ZERO, total: 3, pending: 1, paused: 1, success: 1 } });
        expect(await st.listSteps('r')).toEqual([
          { runId: 'r', itemIndex: 0, stepId: 's', attempt: 2, state: 'success', result: success('A'), startedAt: 't3', finishedAt: 't4' },
          { runId: 'r', itemIndex: 1, stepId: 'ask', attempt: 1, state: 'awaiting_input', startedAt: 't5', prompt: { prompt: 'ok?' } },
        ]);
        expect((await st.listResults('r', 'byCompletion')).map((i) => [i.itemIndex, i.completionSeq])).toEqual([[0, 1]]);
        expect((await st.listEvents('r')).map((e) => e.type)).toEqual(['run_created', 'item_completed']);
      });

      it('keeps a result finished before a cancel in the same batch, and cancels the rest after it', async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [0, 1, 2, 3]);
        await commit((b) => {
          b.setItemStatus('r', 2, 'running');
          b.finishItem('r', 2, success(2), 't1');
          b.setItemStatus('r', 0, 'running');
          b.cancelItems('r', 't2');
          b.terminate('r', 'cancelled', 't2');
        });
        expect((await st.getRun('r'))!.items).toEqual({ ...ZERO, total: 4, success: 1, cancelled: 3 });
        expect((await st.listResults('r', 'byCompletion')).map((i) => `${i.itemIndex}:${i.status}`)).toEqual(['2:success', '0:cancelled', '1:cancelled', '3:cancelled']);
      });

      it('ends with the last change of an item: finished, set back to pending and started again in one batch', async () => {
        await st.createRun(runRecord('r'));
        await st.addItems('r', 0, [0, 1]);
        await commit((b) => {
          b.setItemStatus('r', 0, 'running');
          b.finishItem('r', 0, success(0), 't1');
          b.setItemStatus('r', 0, 'pending');
          b.setItemStatus('r', 0, 'running');
          b.setItemStatus('r', 1, 'running');
          b.finishItem('r', 1, success(1), 't2');
        });
        expect(await st.getItem('r', 0)).toEqual({ runId: 'r', itemIndex: 0, status: 'running', input: 0 });
        expect((await st.getRun('r'))!.items).toEqual({ ...ZERO, total: 2, running: 1, success: 1 });
        expect((await st.listResults('r', 'byIndex')).map((i) => i.itemIndex)).toEqual([1]);
      });

      if (_caps.batchesRollBack) {
        it('applies nothing of a batch with a refused write, and hands out its seqs again', async () => {
          await st.createRun(runRecord('r'));
          await st.addItems('r', 0, [0]);
          await expect(commit((b) => {
            b.setItemStatus('r', 0, 'running');
            b.appendEvent({ runId: 'r', type: 'item_started', at: 't1', itemIndex: 0 });
            b.startStep('r', 0, 's', 1, 't1');
            b.createRun(runRecord('r2'));
            b.finishItem('r', 7, success(7), 't2');
          })).rejects.toThrow(/7/);
          expect((await st.getRun('r'))!.items).toEqual({ ...ZERO, total: 1, pending: 1 });
          expect(await st.listSteps('r')).toEqual([]);
          expect(await st.listEvents('r')).toEqual([]);
          expect(await st.getRun('r2')).toBeUndefined();
          expect(await st.appendEvent({ runId: 'r', type: 'run_status', at: 't3' })).toBe(1);
          await st.createRun(runRecord('r2'));
        });
      }
    });

    describe('ownership', () => {
      const me: RunOwner = { id: 'owner-a', pid: process.pid, host: hostname() };
      beforeEach(async () => { await st.createRun(runRecord('r')); });

      it('lets one live owner hold a run; the same owner may claim again', async () => {
        expect(await st.claimRun('r', me)).toBe(true);
        expect(await st.claimRun('r', me)).toBe(true);
        expect(await st.claimRun('r', { ...me, id: 'owner-b' })).toBe(false);
        expect(await st.claimRun('r', { id: 'remote', pid: 1, host: 'another-host' })).toBe(false);
      });

      it('lets a run be taken over once its holder\'s process is gone, or released', async () => {
        const gone: RunOwner = { id: 'crashed', pid: deadPid(), host: hostname() };
        expect(await st.claimRun('r', gone)).toBe(true);
        expect(await st.claimRun('r', me)).toBe(true);
        expect(await st.claimRun('r', gone)).toBe(false);
        await st.releaseRuns(me.id);
        expect(await st.claimRun('r', { ...me, id: 'owner-b' })).toBe(true);
      });

      it('takes over a run whose holder had this pid but another start (a restarted container\'s PID 1), not one of this process', async () => {
        expect(await st.claimRun('r', { ...me, id: 'before-restart', started: 'an earlier start' })).toBe(true);
        expect(await st.claimRun('r', { ...me, id: 'same-process' })).toBe(false); // no start recorded: cannot tell, so alive
        expect(await st.claimRun('r', { ...me, id: 'after-restart', started: 'this start' })).toBe(true);
        expect(await st.claimRun('r', { ...me, id: 'sibling', started: 'this start' })).toBe(false);
      });

      it('takes over a run whose holder\'s pid now names a process started later', async () => {
        const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
        try {
          expect(await st.claimRun('r', { id: 'reused', pid: other.pid!, host: hostname(), started: '1' })).toBe(true);
          expect(await st.claimRun('r', { ...me, id: 'owner-b' })).toBe(true);
        } finally {
          other.kill('SIGKILL');
        }
      });

      it('takes over a run whose holder was killed and not yet reaped (a zombie)', async () => {
        const killed = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
        const pid = killed.pid!;
        expect(await st.claimRun('r', { id: 'killed', pid, host: hostname() })).toBe(true);
        process.kill(pid, 'SIGKILL'); // its exit is not reaped until this process's loop turns
        for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'); i++) spawnSync('sleep', ['0.01']);
        expect(await st.claimRun('r', { ...me, id: 'owner-b' })).toBe(true);
      });

      it('does not let a holder on another host be taken over (its liveness cannot be checked)', async () => {
        expect(await st.claimRun('r', { id: 'remote', pid: deadPid(), host: 'another-host' })).toBe(true);
        expect(await st.claimRun('r', me)).toBe(false);
      });
    });

    describe('purge and transactions', () => {
      it('purges a run\'s items, steps and events; the run stays, cancelled', async () => {
        await st.createRun(runRecord('r'));
        await st.createRun(runRecord('keep'));
        await st.addItems('r', 0, [1, 2]);
        await st.addItems('keep', 0, [1]);
        await st.setItemStatus('r', 0, 'running');
        await st.finishItem('r', 0, success(1), 't1');
        await st.startStep('r', 1, 's', 1, 't1');
        await st.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
        await st.appendEvent({ runId: 'keep', type: 'run_created', at: 't0' });
        await st.purgeRun('r');
        const run = (await st.getRun('r'))!;
        expect(run.status).toBe('cancelled');
        expect(run.completedAt).toBeDefined();
        expect(run.items).toEqual({ ...ZERO, total: 2, success: 1, cancelled: 1 });
        expect(await st.listItems('r')).toEqual([]);
        expect(await st.listResults('r', 'byCompletion')).toEqual([]);
        expect(await st.listSteps('r')).toEqual([]);
        expect(await st.listEvents('r')).toEqual([]);
        expect(await st.listItems('keep')).toHaveLength(1);
        expect(await st.listEvents('keep')).toHaveLength(1);
      });

      it('leaves the event seqs of other runs alone when one run is purged', async () => {
        await st.createRun(runRecord('r'));
        await st.createRun(runRecord('next'));
        await st.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
        await st.appendEvent({ runId: 'next', type: 'run_created', at: 't0' });
        await st.purgeRun('r');
        expect(await st.appendEvent({ runId: 'next', type: 'run_status', at: 't1' })).toBe(2);
        expect((await st.listEvents('next')).map((e) => e.seq)).toEqual([1, 2]);
      });

    });
  });
}
