import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbandonedItem } from '../../../runtime/runs/abandoned-item.js';
import { GroupCommit } from '../../../runtime/runs/group-commit.js';
import type { ClaimedItem } from '../../../runtime/store/cluster-store.js';
import { PostgresStore } from '../../../runtime/store/postgres-store.js';
import { StoreBatch } from '../../../runtime/store/store-batch.js';
import { PostgresCluster, postgresAvailable, warnIfNoPostgres } from '../../helpers/postgres-cluster.js';
import { runRecord } from '../store/store-contract.js';

// A commit that claims items starts them inside its transaction: their first writes (the
// step start a request waits for) commit with the claim, so an item needs two commits on
// PostgreSQL (claim + start, result), not three. When that transaction fails, the items it
// handed over are abandoned (their claim rolled back), never executed with no claim.
warnIfNoPostgres('claim-start');

let cluster: PostgresCluster | undefined;
beforeAll(async () => { if (postgresAvailable) cluster = await PostgresCluster.start(); });
afterAll(async () => { await cluster?.stop(); });

/** A store of a fresh database, joined as an executor, with one run of `items` pending items. */
async function storeWithRun(runId: string, items: number): Promise<{ store: PostgresStore; db: string }> {
  const url = await cluster!.createDatabase();
  const store = await PostgresStore.open(url);
  await store.state.cluster.join({ host: 'test', pid: process.pid, role: 'test', capacity: 64 }, 10_000);
  const batch = new StoreBatch().createRun(runRecord(runId)).addItems(runId, 0, Array.from({ length: items }, (_, i) => ({ i })))
    .appendEvent({ runId, type: 'run_created', at: new Date().toISOString(), data: { total: items } });
  await store.state.commit(batch);
  return { store, db: new URL(url.replace('@/', '@localhost/')).pathname.slice(1) };
}

const startOf = (item: ClaimedItem) => ({
  runId: item.runId, itemIndex: item.itemIndex,
  writes: [{ op: 'startStep' as const, runId: item.runId, itemIndex: item.itemIndex, stepId: 's', attempt: 1, at: new Date().toISOString() }],
});

describe.skipIf(!postgresAvailable)('a claimed item starts in the transaction that claims it (PostgreSQL)', () => {
  it('its step start commits with its claim: one transaction, one commit', async () => {
    const { store, db } = await storeWithRun('r1', 3);
    try {
      let commits = 0;
      const state = Object.create(store.state) as typeof store.state;
      state.commit = (batch) => { commits++; return store.state.commit(batch); };
      const started: Array<Promise<void>> = [];
      const commit = new GroupCommit(state, 'test', undefined, {
        claimSize: () => ({ max: 2, exclude: new Set(), held: new Map() }),
        claimed: (items) => { for (const item of items) started.push(commit.committed(startOf(item))); },
      });
      // Any write makes a commit, and the commit claims.
      await commit.write({ runId: 'r1', writes: [{ op: 'setRunStatus', runId: 'r1', status: 'running' }] });
      expect(started).toHaveLength(2);
      await Promise.all(started);
      expect(commits).toBe(1);
      const rows = await cluster!.sql(`SELECT i.item_index, i.status, i.xmin::text AS claim_tx, s.xmin::text AS start_tx, s.state
        FROM weft.items i LEFT JOIN weft.steps s USING (run_key, item_index) ORDER BY i.item_index`, db);
      expect(rows.rows.map((r) => [r.item_index, r.status, r.state])).toEqual([[0, 'running', 'running'], [1, 'running', 'running'], [2, 'pending', null]]);
      for (const r of rows.rows.slice(0, 2)) expect(r.start_tx).toBe(r.claim_tx);
    } finally {
      await store.close();
    }
  });

  it('when that transaction fails, the items it handed over are abandoned and stay pending; the rest of the group still commits', async () => {
    const { store, db } = await storeWithRun('r2', 2);
    try {
      const abandoned: ClaimedItem[][] = [];
      const starts: Array<Promise<unknown>> = [];
      const told: string[] = [];
      const commit = new GroupCommit(store.state, 'test', (runId, error) => told.push(`${runId}: ${error.message}`), {
        claimSize: () => ({ max: 2, exclude: new Set(), held: new Map() }),
        claimed: (items) => {
          for (const item of items) {
            starts.push(commit.committed(startOf(item)).then(() => 'committed', (error: unknown) => error));
            // A result PostgreSQL cannot take (JSON.stringify throws on a BigInt): the whole transaction fails.
            void commit.write({ runId: item.runId, itemIndex: item.itemIndex, writes: [{ op: 'finishStep', runId: item.runId, itemIndex: item.itemIndex, stepId: 's', attempt: 1, at: new Date().toISOString(), result: { outcome: 'success', result: 1n as unknown as object } }] }).catch(() => undefined);
          }
        },
        abandoned: (items) => { abandoned.push(items); },
      });
      await commit.write({ runId: 'r2', writes: [{ op: 'setRunStatus', runId: 'r2', status: 'running' }] });
      const outcomes = await Promise.all(starts);
      expect(outcomes).toHaveLength(2);
      for (const o of outcomes) expect(o).toBeInstanceOf(AbandonedItem);
      expect(abandoned.map((list) => list.map((i) => i.itemIndex))).toEqual([[0, 1]]);
      // The claim rolled back with it; the group's own write was committed again on its own.
      const items = await cluster!.sql('SELECT item_index, status, owner FROM weft.items ORDER BY item_index', db);
      expect(items.rows).toEqual([{ item_index: 0, status: 'pending', owner: null }, { item_index: 1, status: 'pending', owner: null }]);
      expect((await store.state.getRun('r2'))?.status).toBe('running');
      expect((await cluster!.sql('SELECT count(*)::int AS n FROM weft.steps', db)).rows[0].n).toBe(0);
      expect(told).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
