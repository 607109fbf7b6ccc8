import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { success } from '../../../protocol/index.js';
import type { Store } from '../../../runtime/store/state-store.js';
import { runRecord, ZERO } from './store-contract.js';

/**
 * `transaction`, which only the synchronous in-process stores (memory, SQLite) have: the
 * run manager's group commits use it until it moves to the asynchronous batch interface.
 */
export function describeTransactions(name: string, open: () => Store, caps: { transactionsRollBack?: boolean } = {}): void {
  describe(`transactions: ${name}`, () => {
    let store: Store;
    beforeEach(() => { store = open(); });
    afterEach(() => { store.close(); });

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
}
