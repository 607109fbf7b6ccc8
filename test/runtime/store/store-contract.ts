import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobIdOf, failure, success } from '../../../protocol/index.js';
import type { BlobId } from '../../../protocol/index.js';
import type { RunOwner, RunRecord, Store } from '../../../runtime/store/state-store.js';

export interface StoreCapabilities {
  /** A throw inside `transaction` undoes its writes (SQLite; the memory store does not promise it). */
  transactionsRollBack?: boolean;
}

const ZERO = { total: 0, pending: 0, running: 0, paused: 0, success: 0, failed: 0, cancelled: 0 };
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
export function describeStore(name: string, open: () => Store, caps: StoreCapabilities = {}): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(() => { store = open(); });
    afterEach(() => { store.close(); });

    describe('blobs', () => {
      it('gives the same sha256 id whatever the key order, and stores one copy', () => {
        const a = store.blobs.putBlob({ b: 1, a: { d: [1, 2], c: 'x' } }, 'flow');
        const b = store.blobs.putBlob({ a: { c: 'x', d: [1, 2] }, b: 1 }, 'flow');
        expect(a).toBe(b);
        expect(a).toBe(blobIdOf({ a: { c: 'x', d: [1, 2] }, b: 1 }));
        expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(store.blobs.listFlows()).toHaveLength(1);
        expect(store.blobs.getBlob(a)).toEqual({ id: a, type: 'flow', data: { a: { c: 'x', d: [1, 2] }, b: 1 } });
      });

      it('accepts a bare or upper-case hex id, and answers undefined for unknown or malformed ids', () => {
        const id = store.blobs.putBlob([1, 'two', null], 'data');
        const hex = id.slice('sha256:'.length);
        expect(store.blobs.getBlob(hex)?.data).toEqual([1, 'two', null]);
        expect(store.blobs.getBlob(hex.toUpperCase())?.id).toBe(id);
        expect(store.blobs.getBlob('sha256:' + '0'.repeat(64))).toBeUndefined();
        expect(store.blobs.getBlob('not-an-id')).toBeUndefined();
      });

      it('returns a copy: changing what getBlob returned does not change the blob', () => {
        const id = store.blobs.putBlob({ list: [1] }, 'data');
        (store.blobs.getBlob(id)!.data as { list: number[] }).list.push(2);
        expect(store.blobs.getBlob(id)!.data).toEqual({ list: [1] });
      });

      it('lists flows newest first with their name and description, and not data blobs', () => {
        const first = store.blobs.putBlob({ name: 'etl', description: 'loads things', steps: [] }, 'flow');
        store.blobs.putBlob({ name: 'not a flow' }, 'data');
        const second = store.blobs.putBlob({ name: 'report', steps: [] }, 'flow');
        const flows = store.blobs.listFlows();
        expect(flows.map((f) => f.flowId)).toEqual([second, first]);
        expect(flows[0]).toMatchObject({ flowId: second, name: 'report' });
        expect(flows[0].description).toBeUndefined();
        expect(flows[1]).toMatchObject({ flowId: first, name: 'etl', description: 'loads things' });
        expect(Date.parse(flows[1].createdAt)).not.toBeNaN();
      });

      it('makes a value stored as data a flow when it is put as a flow', () => {
        const id = store.blobs.putBlob({ name: 'late', steps: [] }, 'data');
        expect(store.blobs.putBlob({ steps: [], name: 'late' }, 'flow')).toBe(id);
        expect(store.blobs.getBlob(id)?.type).toBe('flow');
        expect(store.blobs.listFlows().map((f) => f.name)).toEqual(['late']);
      });

      it('round-trips binary blobs, id = sha256 of the raw bytes, isolated from the caller\'s buffer', () => {
        const bytes = new Uint8Array([0, 1, 2, 250, 255]);
        const id = store.blobs.putBlob(bytes, 'binary');
        expect(id).toBe('sha256:' + createHash('sha256').update(bytes).digest('hex'));
        bytes[0] = 99;
        const blob = store.blobs.getBlob(id)!;
        expect(blob.type).toBe('binary');
        expect(blob.data).toBeInstanceOf(Uint8Array);
        expect([...(blob.data as Uint8Array)]).toEqual([0, 1, 2, 250, 255]);
        expect(store.blobs.putBlob(Buffer.from([0, 1, 2, 250, 255]), 'binary')).toBe(id);
      });

      it('rejects a binary blob that is not bytes', () => {
        expect(() => store.blobs.putBlob('text', 'binary')).toThrow(/Uint8Array/);
      });
    });

    describe('runs', () => {
      it('creates a run and reads every field back, with counters starting at zero', () => {
        const run = runRecord('r1', {
          flowName: 'etl', flowLabel: 'nightly', parentRunId: 'p', parentItemIndex: 3, parentStepId: 'fan', subflowKey: 'k',
          rootRunId: 'p', depth: 1, maxConcurrency: 4, overrides: { s1: { value: { input: 1 } } }, variables: { region: 'eu' },
          forkOf: { runId: 'src', fromStep: 's2' }, items: { ...ZERO, total: 99 },
        });
        store.state.createRun(run);
        expect(store.state.getRun('r1')).toEqual({ ...run, items: ZERO });
        expect(store.state.getRun('nope')).toBeUndefined();
      });

      it('refuses a second run with the same id', () => {
        store.state.createRun(runRecord('r1'));
        expect(() => store.state.createRun(runRecord('r1'))).toThrow(/r1/);
      });

      it('returns copies: changing a returned run does not change the store', () => {
        store.state.createRun(runRecord('r1', { variables: { a: 1 } }));
        const got = store.state.getRun('r1')!;
        got.variables!.a = 2;
        got.items.total = 7;
        expect(store.state.getRun('r1')).toMatchObject({ variables: { a: 1 }, items: ZERO });
      });

      it('lists runs newest first, filtered by status and parent, with paging', () => {
        for (const id of ['a', 'b', 'c', 'd']) store.state.createRun(runRecord(id));
        store.state.createRun(runRecord('child', { parentRunId: 'b', rootRunId: 'b', depth: 1 }));
        store.state.terminate('a', 'success', '2024-01-01T00:01:00.000Z');
        store.state.terminate('c', 'success', '2024-01-01T00:01:00.000Z');
        const ids = (f?: Parameters<Store['state']['listRuns']>[0]) => store.state.listRuns(f).map((r) => r.runId);
        expect(ids()).toEqual(['child', 'd', 'c', 'b', 'a']);
        expect(ids({ status: 'success' })).toEqual(['c', 'a']);
        expect(ids({ parentRunId: null })).toEqual(['d', 'c', 'b', 'a']);
        expect(ids({ parentRunId: 'b' })).toEqual(['child']);
        expect(ids({ limit: 2 })).toEqual(['child', 'd']);
        expect(ids({ offset: 2, limit: 2 })).toEqual(['c', 'b']);
        expect(ids({ status: 'pending', parentRunId: null, offset: 1 })).toEqual(['b']);
      });

      it('lists unfinished runs (pending, running, paused), oldest first', () => {
        for (const id of ['p', 'r', 'z', 's', 'f', 'x']) store.state.createRun(runRecord(id));
        store.state.setRunStatus('r', 'running');
        store.state.setRunStatus('z', 'paused');
        store.state.terminate('s', 'success', '2024-01-02T00:00:00.000Z');
        store.state.terminate('f', 'failed', '2024-01-02T00:00:00.000Z');
        store.state.terminate('x', 'cancelled', '2024-01-02T00:00:00.000Z');
        expect(store.state.listUnfinishedRuns().map((r) => r.runId)).toEqual(['p', 'r', 'z']);
      });

      it('finds a sub-run by parent and subflow key', () => {
        store.state.createRun(runRecord('parent'));
        store.state.createRun(runRecord('sub', { parentRunId: 'parent', subflowKey: 'item-3/step-a', rootRunId: 'parent', depth: 1 }));
        expect(store.state.findSubRun('parent', 'item-3/step-a')?.runId).toBe('sub');
        expect(store.state.findSubRun('parent', 'other')).toBeUndefined();
        expect(store.state.findSubRun('sub', 'item-3/step-a')).toBeUndefined();
      });

      it('finds the newest sub-run when a retry reused the key', () => {
        store.state.createRun(runRecord('parent'));
        store.state.createRun(runRecord('first', { parentRunId: 'parent', subflowKey: 'k', rootRunId: 'parent', depth: 1 }));
        store.state.createRun(runRecord('retry', { parentRunId: 'parent', subflowKey: 'k', rootRunId: 'parent', depth: 1 }));
        expect(store.state.findSubRun('parent', 'k')?.runId).toBe('retry');
      });

      it('moves between open statuses, and terminate ends the run with completedAt, error and a run_completed event', () => {
        store.state.createRun(runRecord('r1'));
        store.state.addItems('r1', 0, [1, 2]);
        store.state.setRunStatus('r1', 'running');
        store.state.setRunStatus('r1', 'paused');
        expect(store.state.getRun('r1')).toMatchObject({ status: 'paused' });
        expect(store.state.getRun('r1')!.completedAt).toBeUndefined();
        const error = { code: 'ORCHESTRATOR_ERROR', message: 'flow blob is gone', data: { flowId: FLOW } };
        const event = store.state.terminate('r1', 'failed', '2024-01-01T00:05:00.000Z', error);
        expect(event).toMatchObject({ runId: 'r1', type: 'run_completed', at: '2024-01-01T00:05:00.000Z', data: { status: 'failed' } });
        expect(store.state.getRun('r1')).toMatchObject({ status: 'failed', completedAt: '2024-01-01T00:05:00.000Z', error });
        // Its open items ended with it, in the same transaction, and so did the event.
        expect(store.state.getRun('r1')!.items).toEqual({ ...ZERO, total: 2, cancelled: 2 });
        expect(store.state.listEvents('r1')).toEqual([event]);
      });

      it('keeps a terminal run as it is: status, counters, items, steps and events do not change', () => {
        store.state.createRun(runRecord('r'));
        store.state.addItems('r', 0, [1, 2, 3]);
        store.state.setItemStatus('r', 0, 'running');
        store.state.finishItem('r', 0, success(1), 't1');
        store.state.setItemStatus('r', 1, 'running');
        store.state.startStep('r', 1, 's', 1, 't1');
        const ended = store.state.terminate('r', 'cancelled', 't2')!;
        const before = { run: store.state.getRun('r'), items: store.state.listItems('r'), steps: store.state.listSteps('r'), events: store.state.listEvents('r') };
        // Every write below is a no-op, not an error: late writes from a component or another process.
        expect(store.state.terminate('r', 'success', 't3')).toBeUndefined();
        store.state.setRunStatus('r', 'running');
        store.state.setItemStatus('r', 1, 'paused');
        store.state.finishItem('r', 2, success(3), 't3');
        store.state.cancelItems('r', 't3');
        store.state.startStep('r', 2, 's', 1, 't3');
        store.state.finishStep('r', 1, 's', 1, success('late'), 't3');
        store.state.awaitStepInput('r', 1, 's', { prompt: 'late?' }, 't3');
        expect(store.state.appendEvent({ runId: 'r', type: 'step_completed', at: 't3', itemIndex: 1, stepId: 's' })).toBe(0);
        store.state.transaction(() => { store.state.setItemStatus('r', 2, 'running'); store.state.finishItem('r', 2, success(3), 't3'); });
        expect({ run: store.state.getRun('r'), items: store.state.listItems('r'), steps: store.state.listSteps('r'), events: store.state.listEvents('r') }).toEqual(before);
        expect(before.run).toMatchObject({ status: 'cancelled', completedAt: 't2', items: { ...ZERO, total: 3, success: 1, cancelled: 2 } });
        expect(before.events).toEqual([ended]);
      });

      it('drops the writes that follow a terminate in the same transaction, keeps those before it', () => {
        store.state.createRun(runRecord('r'));
        store.state.addItems('r', 0, [1, 2]);
        store.state.transaction(() => {
          store.state.setItemStatus('r', 0, 'running');
          store.state.finishItem('r', 0, success(1), 't1');
          store.state.appendEvent({ runId: 'r', type: 'item_completed', at: 't1', itemIndex: 0 });
          store.state.terminate('r', 'cancelled', 't2');
          store.state.setItemStatus('r', 1, 'running');
          store.state.appendEvent({ runId: 'r', type: 'item_started', at: 't3', itemIndex: 1 });
        });
        expect(store.state.getRun('r')!.items).toEqual({ ...ZERO, total: 2, success: 1, cancelled: 1 });
        expect(store.state.listEvents('r').map((e) => e.type)).toEqual(['item_completed', 'run_completed']);
      });

      it('ignores writes to a purged run, which has no items any more', () => {
        store.state.createRun(runRecord('r'));
        store.state.addItems('r', 0, [1, 2]);
        store.state.setItemStatus('r', 0, 'running');
        store.state.purgeRun('r');
        store.state.setItemStatus('r', 0, 'paused');
        store.state.finishItem('r', 1, success(2), 't');
        store.state.awaitStepInput('r', 0, 's', { prompt: 'p' }, 't');
        expect(store.state.appendEvent({ runId: 'r', type: 'step_awaiting_input', at: 't', itemIndex: 0 })).toBe(0);
        expect(store.state.getRun('r')).toMatchObject({ status: 'cancelled', items: { ...ZERO, total: 2, cancelled: 2 } });
        expect(store.state.listItems('r')).toEqual([]);
        expect(store.state.listSteps('r')).toEqual([]);
        expect(store.state.listEvents('r')).toEqual([]);
      });

      it('purges a finished run without rewriting its status', () => {
        store.state.createRun(runRecord('ok'));
        store.state.addItems('ok', 0, [1]);
        store.state.setItemStatus('ok', 0, 'running');
        store.state.finishItem('ok', 0, success(1), 't1');
        store.state.terminate('ok', 'success', 't2');
        store.state.createRun(runRecord('bad'));
        store.state.terminate('bad', 'failed', 't2', { code: 'X', message: 'broke' });
        store.state.purgeRun('ok');
        store.state.purgeRun('bad');
        expect(store.state.getRun('ok')).toMatchObject({ status: 'success', completedAt: 't2' });
        expect(store.state.getRun('bad')).toMatchObject({ status: 'failed', completedAt: 't2', error: { code: 'X', message: 'broke' } });
        expect(store.state.listItems('ok')).toEqual([]);
      });

      it('refuses status changes of an unknown run', () => {
        expect(() => store.state.setRunStatus('ghost', 'running')).toThrow(/ghost/);
        expect(() => store.state.cancelItems('ghost', 't')).toThrow(/ghost/);
        expect(() => store.state.terminate('ghost', 'cancelled', 't')).toThrow(/ghost/);
        expect(() => store.state.purgeRun('ghost')).toThrow(/ghost/);
      });
    });

    describe('items', () => {
      beforeEach(() => {
        store.state.createRun(runRecord('r'));
        store.state.addItems('r', 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
        store.state.addItems('r', 3, [{ n: 3 }, 'four']);
      });
      const at = (s: number) => `2024-01-01T00:00:${String(s).padStart(2, '0')}.000Z`;

      it('adds items in chunks as pending, in index order', () => {
        expect(store.state.getRun('r')!.items).toEqual({ ...ZERO, total: 5, pending: 5 });
        const items = store.state.listItems('r');
        expect(items.map((i) => i.input)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, 'four']);
        expect(items.every((i) => i.status === 'pending' && i.runId === 'r')).toBe(true);
        expect(items.map((i) => i.itemIndex)).toEqual([0, 1, 2, 3, 4]);
      });

      it('refuses an item index that exists, and changes to unknown items', () => {
        expect(() => store.state.addItems('r', 4, [1])).toThrow(/4/);
        expect(store.state.getRun('r')!.items.total).toBe(5);
        expect(() => store.state.setItemStatus('r', 9, 'running')).toThrow(/9/);
        expect(() => store.state.finishItem('r', 9, success(1), at(1))).toThrow(/9/);
        expect(() => store.state.addItems('ghost', 0, [1])).toThrow(/ghost/);
      });

      it('keeps an added input from later changes by the caller', () => {
        const input = { list: [1] };
        store.state.addItems('r', 5, [input]);
        input.list.push(2);
        expect(store.state.getItem('r', 5)!.input).toEqual({ list: [1] });
      });

      it('keeps the counters in step: pending → running → success / failed, paused, cancel the rest', () => {
        const counts = () => store.state.getRun('r')!.items;
        store.state.setItemStatus('r', 0, 'running');
        store.state.setItemStatus('r', 1, 'running');
        expect(counts()).toEqual({ ...ZERO, total: 5, pending: 3, running: 2 });
        store.state.finishItem('r', 0, success({ doubled: 0 }), at(1));
        store.state.finishItem('r', 1, failure('COMPONENT_FAILED', 'boom'), at(2));
        expect(counts()).toEqual({ ...ZERO, total: 5, pending: 3, success: 1, failed: 1 });
        store.state.setItemStatus('r', 2, 'running');
        store.state.setItemStatus('r', 2, 'paused');
        store.state.setItemStatus('r', 2, 'paused');
        expect(counts()).toEqual({ ...ZERO, total: 5, pending: 2, paused: 1, success: 1, failed: 1 });
        store.state.setItemStatus('r', 3, 'running');
        store.state.cancelItems('r', at(3));
        expect(counts()).toEqual({ ...ZERO, total: 5, success: 1, failed: 1, cancelled: 3 });
        expect(store.state.getItem('r', 0)).toMatchObject({ status: 'success', result: success({ doubled: 0 }), completedAt: at(1) });
        expect(store.state.getItem('r', 1)).toMatchObject({ status: 'failed', result: { outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'boom' } } });
        expect(store.state.getItem('r', 2)).toMatchObject({ status: 'cancelled', completedAt: at(3) });
        expect(store.state.getItem('r', 2)!.result).toBeUndefined();
        expect(store.state.getItem('r', 9)).toBeUndefined();
      });

      it('lists items from an index, limited, filtered by status', () => {
        store.state.setItemStatus('r', 1, 'running');
        store.state.setItemStatus('r', 3, 'running');
        store.state.finishItem('r', 3, success(3), at(1));
        const idx = (opts: Parameters<Store['state']['listItems']>[1]) => store.state.listItems('r', opts).map((i) => i.itemIndex);
        expect(idx({ fromIndex: 2 })).toEqual([2, 3, 4]);
        expect(idx({ fromIndex: 1, limit: 2 })).toEqual([1, 2]);
        expect(idx({ statuses: ['pending'] })).toEqual([0, 2, 4]);
        expect(idx({ statuses: ['pending'], fromIndex: 1, limit: 1 })).toEqual([2]);
        // The pending page (the run manager's hot read) is the same records as the unfiltered list.
        expect(store.state.listItems('r', { statuses: ['pending'] })).toEqual(store.state.listItems('r').filter((i) => i.status === 'pending'));
        expect(idx({ statuses: ['running', 'success'] })).toEqual([1, 3]);
        expect(idx({ statuses: [] })).toEqual([]);
        expect(store.state.listItems('ghost')).toEqual([]);
      });

      it('lists results by index or by completion order, with offset and limit', () => {
        for (const [i, s] of [[3, 1], [1, 2], [4, 3], [0, 4]]) {
          store.state.setItemStatus('r', i, 'running');
          store.state.finishItem('r', i, i === 1 ? failure('TIMEOUT', 'slow') : success(i * 10), at(s));
        }
        const byIndex = store.state.listResults('r', 'byIndex');
        expect(byIndex.map((i) => i.itemIndex)).toEqual([0, 1, 3, 4]);
        expect(byIndex[0]).toMatchObject({ status: 'success', result: success(0), completedAt: at(4), input: { n: 0 } });
        const byCompletion = store.state.listResults('r', 'byCompletion');
        expect(byCompletion.map((i) => i.itemIndex)).toEqual([3, 1, 4, 0]);
        const seqs = byCompletion.map((i) => i.completionSeq!);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(4);
        expect(store.state.listResults('r', 'byIndex', { offset: 1, limit: 2 }).map((i) => i.itemIndex)).toEqual([1, 3]);
        expect(store.state.listResults('r', 'byCompletion', { offset: 1, limit: 2 }).map((i) => i.itemIndex)).toEqual([1, 4]);
        expect(store.state.listResults('r', 'byCompletion', { offset: 3 }).map((i) => i.itemIndex)).toEqual([0]);
        // Cancelled items are finished too, after everything that finished before.
        store.state.cancelItems('r', at(5));
        expect(store.state.listResults('r', 'byCompletion').map((i) => i.itemIndex)).toEqual([3, 1, 4, 0, 2]);
      });

      it('drops an item from the results when it is set back to pending', () => {
        store.state.setItemStatus('r', 2, 'running');
        store.state.finishItem('r', 2, success(2), at(1));
        store.state.setItemStatus('r', 2, 'pending');
        expect(store.state.listResults('r', 'byIndex')).toEqual([]);
        const item = store.state.getItem('r', 2)!;
        expect(item.status).toBe('pending');
        expect(item.result).toBeUndefined();
        expect(store.state.getRun('r')!.items).toEqual({ ...ZERO, total: 5, pending: 5 });
      });
    });

    describe('step journal', () => {
      beforeEach(() => {
        store.state.createRun(runRecord('r'));
        store.state.addItems('r', 0, [1, 2]);
      });

      it('records attempts, restarts and results of a step', () => {
        store.state.startStep('r', 0, 'double', 1, 't1');
        expect(store.state.listSteps('r', 0)).toEqual([{ runId: 'r', itemIndex: 0, stepId: 'double', attempt: 1, state: 'running', startedAt: 't1' }]);
        store.state.startStep('r', 0, 'double', 2, 't2');
        expect(store.state.listSteps('r', 0)).toEqual([{ runId: 'r', itemIndex: 0, stepId: 'double', attempt: 2, state: 'running', startedAt: 't2' }]);
        store.state.finishStep('r', 0, 'double', 2, success({ value: 4 }), 't3');
        expect(store.state.listSteps('r', 0)).toEqual([{
          runId: 'r', itemIndex: 0, stepId: 'double', attempt: 2, state: 'success', result: success({ value: 4 }), startedAt: 't2', finishedAt: 't3',
        }]);
      });

      it('records a failed step as failed, with its error', () => {
        store.state.startStep('r', 1, 'fetch', 1, 't1');
        store.state.finishStep('r', 1, 'fetch', 1, failure('UNREACHABLE', 'server crashed'), 't2');
        expect(store.state.listSteps('r', 1)[0]).toMatchObject({ state: 'failed', result: { outcome: 'failed', error: { code: 'UNREACHABLE' } } });
      });

      it('records a step awaiting human input with its prompt', () => {
        store.state.startStep('r', 0, 'approve', 1, 't1');
        store.state.awaitStepInput('r', 0, 'approve', { prompt: 'Ship it?', schema: { type: 'boolean' } }, 't2');
        expect(store.state.listSteps('r', 0)[0]).toMatchObject({
          stepId: 'approve', attempt: 1, state: 'awaiting_input', startedAt: 't1', prompt: { prompt: 'Ship it?', schema: { type: 'boolean' } },
        });
      });

      it('lists the steps of one item, or of the whole run by item then step id', () => {
        store.state.startStep('r', 1, 'b', 1, 't');
        store.state.startStep('r', 0, 'c', 1, 't');
        store.state.startStep('r', 0, 'a', 1, 't');
        store.state.startStep('r', 1, 'a', 1, 't');
        expect(store.state.listSteps('r', 0).map((s) => s.stepId)).toEqual(['a', 'c']);
        expect(store.state.listSteps('r').map((s) => `${s.itemIndex}:${s.stepId}`)).toEqual(['0:a', '0:c', '1:a', '1:b']);
        expect(store.state.listSteps('ghost')).toEqual([]);
      });
    });

    describe('events', () => {
      beforeEach(() => {
        store.state.createRun(runRecord('r'));
        store.state.createRun(runRecord('other'));
      });

      it('sequences events monotonically and lists a run\'s events since a seq, limited', () => {
        const s1 = store.state.appendEvent({ runId: 'r', type: 'run_created', at: 't1', data: { total: 2 } });
        const s2 = store.state.appendEvent({ runId: 'other', type: 'run_created', at: 't1' });
        const s3 = store.state.appendEvent({ runId: 'r', type: 'step_started', at: 't2', itemIndex: 1, stepId: 'double', attempt: 2 });
        const s4 = store.state.appendEvent({ runId: 'r', type: 'run_completed', at: 't3', data: { status: 'success' } });
        expect(s2).toBeGreaterThan(s1);
        expect(s3).toBeGreaterThan(s2);
        expect(s4).toBeGreaterThan(s3);
        expect(store.state.listEvents('r')).toEqual([
          { seq: s1, runId: 'r', type: 'run_created', at: 't1', data: { total: 2 } },
          { seq: s3, runId: 'r', type: 'step_started', at: 't2', itemIndex: 1, stepId: 'double', attempt: 2 },
          { seq: s4, runId: 'r', type: 'run_completed', at: 't3', data: { status: 'success' } },
        ]);
        expect(store.state.listEvents('r', s1).map((e) => e.seq)).toEqual([s3, s4]);
        expect(store.state.listEvents('r', s1, 1).map((e) => e.seq)).toEqual([s3]);
        expect(store.state.listEvents('r', s4)).toEqual([]);
        expect(store.state.listEvents('other').map((e) => e.seq)).toEqual([s2]);
      });
    });

    describe('ownership', () => {
      const me: RunOwner = { id: 'owner-a', pid: process.pid, host: hostname() };
      beforeEach(() => { store.state.createRun(runRecord('r')); });

      it('lets one live owner hold a run; the same owner may claim again', () => {
        expect(store.state.claimRun('r', me)).toBe(true);
        expect(store.state.claimRun('r', me)).toBe(true);
        expect(store.state.claimRun('r', { ...me, id: 'owner-b' })).toBe(false);
        expect(store.state.claimRun('r', { id: 'remote', pid: 1, host: 'another-host' })).toBe(false);
      });

      it('lets a run be taken over once its holder\'s process is gone, or released', () => {
        const gone: RunOwner = { id: 'crashed', pid: deadPid(), host: hostname() };
        expect(store.state.claimRun('r', gone)).toBe(true);
        expect(store.state.claimRun('r', me)).toBe(true);
        expect(store.state.claimRun('r', gone)).toBe(false);
        store.state.releaseRuns(me.id);
        expect(store.state.claimRun('r', { ...me, id: 'owner-b' })).toBe(true);
      });

      it('does not let a holder on another host be taken over (its liveness cannot be checked)', () => {
        expect(store.state.claimRun('r', { id: 'remote', pid: deadPid(), host: 'another-host' })).toBe(true);
        expect(store.state.claimRun('r', me)).toBe(false);
      });
    });

    describe('purge and transactions', () => {
      it('purges a run\'s items, steps and events; the run stays, cancelled', () => {
        store.state.createRun(runRecord('r'));
        store.state.createRun(runRecord('keep'));
        store.state.addItems('r', 0, [1, 2]);
        store.state.addItems('keep', 0, [1]);
        store.state.setItemStatus('r', 0, 'running');
        store.state.finishItem('r', 0, success(1), 't1');
        store.state.startStep('r', 1, 's', 1, 't1');
        store.state.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
        store.state.appendEvent({ runId: 'keep', type: 'run_created', at: 't0' });
        store.state.purgeRun('r');
        const run = store.state.getRun('r')!;
        expect(run.status).toBe('cancelled');
        expect(run.completedAt).toBeDefined();
        expect(run.items).toEqual({ ...ZERO, total: 2, success: 1, cancelled: 1 });
        expect(store.state.listItems('r')).toEqual([]);
        expect(store.state.listResults('r', 'byCompletion')).toEqual([]);
        expect(store.state.listSteps('r')).toEqual([]);
        expect(store.state.listEvents('r')).toEqual([]);
        expect(store.state.listItems('keep')).toHaveLength(1);
        expect(store.state.listEvents('keep')).toHaveLength(1);
      });

      it('never hands out a seq again after purging the run that had the newest events', () => {
        store.state.createRun(runRecord('r'));
        store.state.createRun(runRecord('next'));
        const newest = store.state.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
        store.state.purgeRun('r');
        expect(store.state.appendEvent({ runId: 'next', type: 'run_created', at: 't1' })).toBeGreaterThan(newest);
        expect(store.state.listEvents('next')).toHaveLength(1);
      });

      it('runs a transaction and returns its value; transactions nest', () => {
        store.state.createRun(runRecord('r'));
        const value = store.state.transaction(() => {
          store.state.addItems('r', 0, [1]);
          return store.state.transaction(() => {
            store.state.addItems('r', 1, [2]);
            return 42;
          });
        });
        expect(value).toBe(42);
        expect(store.state.getRun('r')!.items.total).toBe(2);
      });

      it('shows events appended inside a transaction to reads in it and after it, under the seqs it returned', () => {
        store.state.createRun(runRecord('r'));
        const before = store.state.appendEvent({ runId: 'r', type: 'run_created', at: 't0' });
        const seqs = store.state.transaction(() => {
          const inner = Array.from({ length: 70 }, (_, i) => store.state.appendEvent({ runId: 'r', type: 'item_started', at: 't1', itemIndex: i }));
          expect(store.state.listEvents('r', before).map((e) => e.seq)).toEqual(inner);
          inner.push(store.state.appendEvent({ runId: 'r', type: 'run_completed', at: 't2', data: { status: 'success' } }));
          return inner;
        });
        expect(seqs[0]).toBeGreaterThan(before);
        const listed = store.state.listEvents('r', before);
        expect(listed.map((e) => e.seq)).toEqual(seqs);
        expect(listed[69]).toEqual({ seq: seqs[69], runId: 'r', type: 'item_started', at: 't1', itemIndex: 69 });
        expect(listed[70]).toEqual({ seq: seqs[70], runId: 'r', type: 'run_completed', at: 't2', data: { status: 'success' } });
        expect(store.state.appendEvent({ runId: 'r', type: 'run_status', at: 't3' })).toBeGreaterThan(seqs[70]);
      });

      if (caps.transactionsRollBack) {
        it('rolls back every write of a transaction that throws', () => {
          store.state.createRun(runRecord('r'));
          store.state.addItems('r', 0, [1]);
          expect(() => store.state.transaction(() => {
            store.state.setItemStatus('r', 0, 'running');
            store.state.finishItem('r', 0, success(1), 't1');
            store.state.appendEvent({ runId: 'r', type: 'item_completed', at: 't1', itemIndex: 0 });
            store.state.createRun(runRecord('r2'));
            throw new Error('abandon');
          })).toThrow('abandon');
          expect(store.state.getItem('r', 0)!.status).toBe('pending');
          expect(store.state.getRun('r')!.items).toEqual({ ...ZERO, total: 1, pending: 1 });
          expect(store.state.listEvents('r')).toEqual([]);
          expect(store.state.getRun('r2')).toBeUndefined();
        });

        it('rolls back only the inner transaction when its throw is caught', () => {
          store.state.createRun(runRecord('r'));
          store.state.transaction(() => {
            store.state.addItems('r', 0, [1]);
            store.state.appendEvent({ runId: 'r', type: 'run_created', at: 'kept' });
            try {
              store.state.transaction(() => {
                store.state.addItems('r', 1, [2]);
                store.state.appendEvent({ runId: 'r', type: 'run_status', at: 'dropped' });
                expect(store.state.listEvents('r').map((e) => e.at)).toEqual(['kept', 'dropped']);
                throw new Error('inner');
              });
            } catch { /* the outer transaction goes on */ }
            store.state.appendEvent({ runId: 'r', type: 'run_status', at: 'kept too' });
          });
          expect(store.state.listItems('r').map((i) => i.input)).toEqual([1]);
          expect(store.state.getRun('r')!.items.total).toBe(1);
          const events = store.state.listEvents('r');
          expect(events.map((e) => e.at)).toEqual(['kept', 'kept too']);
          expect(events[1].seq).toBeGreaterThan(events[0].seq);
        });
      }
    });
  });
}
