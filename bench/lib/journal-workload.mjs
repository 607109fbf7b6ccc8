// The journal writes of commit `k` of a run of 1-step items, as the run manager issues them:
// commit k starts the items of batch k and finishes those of batch k - 1 (a step's round trip
// apart). `w` is anything with the store's write methods: a synchronous store inside a
// transaction, or a StoreBatch.
export function journalCommit(w, runId, k, commits, n, per) {
  const at = new Date().toISOString();
  for (let i = k * per; k < commits && i < Math.min(n, (k + 1) * per); i++) {
    w.setItemStatus(runId, i, 'running');
    w.appendEvent({ runId, type: 'item_started', at, itemIndex: i });
    w.startStep(runId, i, 'work', 1, at);
    w.appendEvent({ runId, type: 'step_started', at, itemIndex: i, stepId: 'work', attempt: 1 });
  }
  for (let i = (k - 1) * per; k > 0 && i < Math.min(n, k * per); i++) {
    const result = { outcome: 'success', result: { i } };
    w.finishStep(runId, i, 'work', 1, result, at);
    w.appendEvent({ runId, type: 'step_completed', at, itemIndex: i, stepId: 'work', attempt: 1, data: { durationMs: 1 } });
    w.finishItem(runId, i, result, at);
    w.appendEvent({ runId, type: 'item_completed', at, itemIndex: i, data: { outcome: 'success' } });
  }
}
