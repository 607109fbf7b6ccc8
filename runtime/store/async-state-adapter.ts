import type { AsyncStore } from './async-state-store.js';
import type { StateStore, Store } from './state-store.js';
import type { CommitReceipt, StoreBatch, StoreWrite } from './store-batch.js';

const DEFER_SYNC = { deferSync: true };

/** An in-process store's asynchronous form; `inProcess` is the store itself (diagnostics, tests). */
export interface InProcessStore extends AsyncStore { readonly inProcess: Store }

/** The asynchronous form of `store`: as it is, or an in-process store (memory, SQLite) behind it. */
export function toAsyncStore(store: Store | AsyncStore): AsyncStore {
  return 'transaction' in store.state ? asyncStore(store as Store) : store as AsyncStore;
}

/**
 * An in-process store (memory, SQLite) behind the asynchronous interface: a batch is one
 * `transaction`, applied before `commit` returns its promise; its fsync is shared with
 * the commits around it (the receipt's `synced`).
 */
export function asyncStore(store: Store): InProcessStore {
  const s = store.state;
  return {
    inProcess: store,
    location: store.location,
    blobs: {
      putBlob: async (data, type) => store.blobs.putBlob(data, type),
      getBlob: async (id) => store.blobs.getBlob(id),
      listFlows: async () => store.blobs.listFlows(),
    },
    state: {
      commit: async (batch: StoreBatch): Promise<CommitReceipt> => {
        const receipt: CommitReceipt = { seqs: [], ended: [] };
        s.transaction(() => { for (const w of batch.writes) apply(s, w, receipt); }, DEFER_SYNC);
        const synced = s.synced();
        if (synced) {
          synced.catch(() => undefined); // whoever reads the receipt sees the failure; an unread one is not unhandled
          receipt.synced = synced;
        }
        return receipt;
      },
      getRun: async (runId) => s.getRun(runId),
      listRuns: async (filter) => s.listRuns(filter),
      listUnfinishedRuns: async () => s.listUnfinishedRuns(),
      findSubRun: async (parentRunId, key) => s.findSubRun(parentRunId, key),
      getItem: async (runId, i) => s.getItem(runId, i),
      listItems: async (runId, opts) => s.listItems(runId, opts),
      listResults: async (runId, order, opts) => s.listResults(runId, order, opts),
      listSteps: async (runId, i) => s.listSteps(runId, i),
      listEvents: async (runId, since, limit) => s.listEvents(runId, since, limit),
      claimRun: async (runId, owner) => s.claimRun(runId, owner),
      releaseRuns: async (ownerId) => s.releaseRuns(ownerId),
    },
    close: async () => store.close(),
  };
}

function apply(s: StateStore, w: StoreWrite, receipt: CommitReceipt): void {
  switch (w.op) {
    case 'createRun': return s.createRun(w.run);
    case 'addItems': return s.addItems(w.runId, w.startIndex, w.inputs);
    case 'setRunStatus': return s.setRunStatus(w.runId, w.status);
    case 'terminate': receipt.ended.push(s.terminate(w.runId, w.status, w.at, w.error)); return;
    case 'purgeRun': return s.purgeRun(w.runId);
    case 'setItemStatus': return s.setItemStatus(w.runId, w.itemIndex, w.status);
    case 'finishItem': return s.finishItem(w.runId, w.itemIndex, w.result, w.completedAt);
    case 'cancelItems': return s.cancelItems(w.runId, w.completedAt);
    case 'startStep': return s.startStep(w.runId, w.itemIndex, w.stepId, w.attempt, w.at);
    case 'finishStep': return s.finishStep(w.runId, w.itemIndex, w.stepId, w.attempt, w.result, w.at);
    case 'awaitStepInput': return s.awaitStepInput(w.runId, w.itemIndex, w.stepId, w.prompt, w.at);
    case 'answerStepInput': return s.answerStepInput(w.runId, w.itemIndex, w.stepId, w.n, w.value);
    case 'appendEvent': receipt.seqs.push(s.appendEvent(w.event)); return;
  }
}
