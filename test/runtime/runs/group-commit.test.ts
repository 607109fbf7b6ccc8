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
    const committed = commit.committed(() => store.createRun(runRecord('a')), () => afterRan.push('a')).then(() => {
      order.push('committed');
      seenByOther = other.getRun('a')?.runId;
      // The shared fsync has not settled yet: nothing is acknowledged.
      expect(afterRan).toEqual([]);
    });
    const written = commit.write(() => store.createRun(runRecord('b'))).then(() => order.push('written'));
    await Promise.all([committed, written]);
    expect(order).toEqual(['committed', 'written']);
    expect(seenByOther).toBe('a');
    expect(afterRan).toEqual(['a']);
  });

  it('rejects `committed` when its commit fails, and every write after it', async () => {
    const store = openAt(join(dir, `store-${n++}.db`));
    const commit = new GroupCommit(store, 'test store');
    store.createRun(runRecord('a'));
    const failed = commit.committed(() => store.createRun(runRecord('a'))); // already exists
    await expect(failed).rejects.toThrow(/write failed: run a already exists/);
    await expect(commit.committed(() => {})).rejects.toThrow(/write failed/);
    expect(commit.error?.message).toMatch(/run a already exists/);
  });
});
