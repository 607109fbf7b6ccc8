import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../runtime/runs/group-commit.js';
import { SqliteStore } from '../../../runtime/store/sqlite-store.js';
import { asyncStore } from '../../../runtime/store/async-state-adapter.js';
import type { AsyncStateStore } from '../../../runtime/store/async-state-store.js';
import type { StoreWrite } from '../../../runtime/store/store-batch.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { runRecord } from '../store/store-contract.js';

const dir = tempDir('weft-group-commit-');
let n = 0;

/** The store's asynchronous form, counting its commits. */
function counted(store: SqliteStore): AsyncStateStore & { commits: number } {
  const state = asyncStore(store).state;
  const out = Object.create(state) as AsyncStateStore & { commits: number };
  out.commits = 0;
  out.commit = (batch) => { out.commits++; return state.commit(batch); };
  return out;
}
const q = (runId: string, ...writes: StoreWrite[]) => ({ runId, writes });

describe('GroupCommit on an SQLite store with durability full', () => {
  const open: SqliteStore[] = [];
  const openAt = (path: string) => {
    const store = new SqliteStore({ path, durability: 'full' });
    open.push(store);
    return store;
  };
  afterEach(() => { for (const s of open.splice(0)) s.close(); });

  it('settles `committed` once the commit is readable by another connection, before the fsync settles `write`', async () => {
    const path = join(dir, `store-${n++}.db`);
    const store = openAt(path);
    const other = openAt(path);
    const commit = new GroupCommit(asyncStore(store).state, path);
    const order: string[] = [];
    let seenByOther: unknown;
    const afterRan: string[] = [];
    const committed = commit.committed({ ...q('a', { op: 'createRun', run: runRecord('a') }), after: () => afterRan.push('a') }).then(() => {
      order.push('committed');
      seenByOther = other.getRun('a')?.runId;
      // The shared fsync has not settled yet: nothing is acknowledged.
      expect(afterRan).toEqual([]);
    });
    const written = commit.write(q('b', { op: 'createRun', run: runRecord('b') })).then(() => order.push('written'));
    await Promise.all([committed, written]);
    expect(order).toEqual(['committed', 'written']);
    expect(seenByOther).toBe('a');
    expect(afterRan).toEqual(['a']);
  });

  it('fails only the run whose write fails on its data; the other runs of the group and later commits go on', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const told: string[] = [];
    const state = counted(store);
    const commit = new GroupCommit(state, 'test store', (runId, error) => told.push(`${runId}: ${error.message}`));
    store.createRun(runRecord('a'));
    const failed = commit.committed(q('a', { op: 'createRun', run: runRecord('a') })); // already exists
    const other = commit.write(q('b', { op: 'createRun', run: runRecord('b') }));
    await expect(failed).rejects.toThrow(/could not record run a: run a already exists/);
    await expect(other).resolves.toBeUndefined();
    expect(store.getRun('b')?.runId).toBe('b');
    expect(told).toEqual([expect.stringMatching(/^a: .*run a already exists/)]);
    expect(state.commits).toBe(3); // the group once, then run by run
    await expect(commit.committed(q('c', { op: 'createRun', run: runRecord('c') }))).resolves.toBeUndefined();
    expect(commit.error).toBeUndefined(); // a run's bad data is not a storage failure
  });

  it('names a value too deep to serialise, and fails only its run', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const told: string[] = [];
    const commit = new GroupCommit(asyncStore(store).state, 'test store', (runId) => told.push(runId));
    store.createRun(runRecord('deep'));
    store.addItems('deep', 0, [1]);
    store.createRun(runRecord('fine'));
    let value: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) value = { v: value };
    const deep = commit.write(q('deep', { op: 'finishStep', runId: 'deep', itemIndex: 0, stepId: 's', attempt: 1, result: { outcome: 'success', result: value }, at: 't' }));
    const fine = commit.write(q('fine', { op: 'appendEvent', event: { runId: 'fine', type: 'run_status', at: 't' } }));
    await expect(deep).rejects.toThrow(/could not record run deep: a value is nested too deeply to store/);
    await expect(fine).resolves.toBeUndefined();
    expect(store.listEvents('fine')).toHaveLength(1);
    expect(told).toEqual(['deep']);
  });

  it('reports a storage failure until a commit succeeds again', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const told: string[] = [];
    const commit = new GroupCommit(asyncStore(store).state, 'test store', (runId) => told.push(runId));
    store.createRun(runRecord('a'));
    store.addItems('a', 0, [0]);
    const pages = store.pragma('page_count') as number;
    store.pragma(`max_page_count = ${pages}`);
    const big = 'x'.repeat(200_000);
    const finish = q('a', { op: 'finishItem', runId: 'a', itemIndex: 0, result: { outcome: 'success', result: big }, completedAt: 't' });
    await expect(commit.write(finish)).rejects.toThrow(/write failed: .*disk is full/);
    expect(commit.error?.message).toMatch(/disk is full/);
    expect(told).toEqual(['a']);
    store.pragma('max_page_count = 1073741823');
    await expect(commit.write({ ...finish })).resolves.toBeUndefined();
    expect(commit.error).toBeUndefined();
  });

  it('builds one batch per event-loop turn, hands each write its event seqs, and takes what is queued during a commit into the next one', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const state = counted(store);
    const commit = new GroupCommit(state, 'test store');
    store.createRun(runRecord('a'));
    store.createRun(runRecord('b'));
    const seqs: number[][] = [];
    const event = (runId: string): StoreWrite => ({ op: 'appendEvent', event: { runId, type: 'run_status', at: 't' } });
    const writes = [
      commit.write({ ...q('a', event('a'), event('a')), applied: (s) => seqs.push(s) }),
      commit.write({ ...q('b', event('b')), applied: (s) => seqs.push(s) }),
      commit.committed({ ...q('a', event('a')), applied: (s) => seqs.push(s) }),
    ];
    const flushed = commit.flush();
    commit.post({ ...q('b', event('b')), applied: (s) => seqs.push(s) }); // queued while the first commit is in flight
    await flushed;
    await Promise.all(writes);
    await commit.flush();
    expect(state.commits).toBe(2);
    expect(seqs).toEqual([[1, 2], [1], [3], [2]]); // per-run seqs, in batch order
  });
});
