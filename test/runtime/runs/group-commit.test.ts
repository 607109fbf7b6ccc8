import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../runtime/runs/group-commit.js';
import { SqliteStore } from '../../../runtime/store/sqlite-store.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { runRecord } from '../store/store-contract.js';

const dir = tempDir('weft-group-commit-');
let n = 0;

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
    const commit = new GroupCommit(store, path);
    const order: string[] = [];
    let seenByOther: unknown;
    const afterRan: string[] = [];
    const committed = commit.committed('a', () => store.createRun(runRecord('a')), () => afterRan.push('a')).then(() => {
      order.push('committed');
      seenByOther = other.getRun('a')?.runId;
      // The shared fsync has not settled yet: nothing is acknowledged.
      expect(afterRan).toEqual([]);
    });
    const written = commit.write('b', () => store.createRun(runRecord('b'))).then(() => order.push('written'));
    await Promise.all([committed, written]);
    expect(order).toEqual(['committed', 'written']);
    expect(seenByOther).toBe('a');
    expect(afterRan).toEqual(['a']);
  });

  it('fails only the run whose write fails on its data; the other runs of the group and later commits go on', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const told: string[] = [];
    const commit = new GroupCommit(store, 'test store', (runId, error) => told.push(`${runId}: ${error.message}`));
    store.createRun(runRecord('a'));
    const failed = commit.committed('a', () => store.createRun(runRecord('a'))); // already exists
    const other = commit.write('b', () => store.createRun(runRecord('b')));
    await expect(failed).rejects.toThrow(/could not record run a: run a already exists/);
    await expect(other).resolves.toBeUndefined();
    expect(store.getRun('b')?.runId).toBe('b');
    expect(told).toEqual([expect.stringMatching(/^a: .*run a already exists/)]);
    await expect(commit.committed('c', () => store.createRun(runRecord('c')))).resolves.toBeUndefined();
    expect(commit.error).toBeUndefined(); // a run's bad data is not a storage failure
  });

  it('names a value too deep to serialise, and fails only its run', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const told: string[] = [];
    const commit = new GroupCommit(store, 'test store', (runId) => told.push(runId));
    store.createRun(runRecord('deep'));
    store.addItems('deep', 0, [1]);
    store.createRun(runRecord('fine'));
    let value: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) value = { v: value };
    const deep = commit.write('deep', () => store.finishStep('deep', 0, 's', 1, { outcome: 'success', result: value }, 't'));
    const fine = commit.write('fine', () => store.appendEvent({ runId: 'fine', type: 'run_status', at: 't' }));
    await expect(deep).rejects.toThrow(/could not record run deep: a value is nested too deeply to store/);
    await expect(fine).resolves.toBeUndefined();
    expect(store.listEvents('fine')).toHaveLength(1);
    expect(told).toEqual(['deep']);
  });

  it('reports a storage failure until a commit succeeds again', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const told: string[] = [];
    const commit = new GroupCommit(store, 'test store', (runId) => told.push(runId));
    store.createRun(runRecord('a'));
    store.addItems('a', 0, [0]);
    const pages = store.pragma('page_count') as number;
    store.pragma(`max_page_count = ${pages}`);
    const big = 'x'.repeat(200_000);
    await expect(commit.write('a', () => store.finishItem('a', 0, { outcome: 'success', result: big }, 't'))).rejects.toThrow(/write failed: .*disk is full/);
    expect(commit.error?.message).toMatch(/disk is full/);
    expect(told).toEqual(['a']);
    store.pragma('max_page_count = 1073741823');
    await expect(commit.write('a', () => store.finishItem('a', 0, { outcome: 'success', result: big }, 't'))).resolves.toBeUndefined();
    expect(commit.error).toBeUndefined();
  });
});
