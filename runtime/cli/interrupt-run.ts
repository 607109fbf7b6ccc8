import { isTerminalRunState } from '../../protocol/index.js';
import type { Runtime } from '../api/runtime.js';
import { StoreBatch } from '../store/store-batch.js';

/**
 * Resolves with the signal's name on the first SIGINT or SIGTERM; a second one kills the
 * process as usual. `off()` removes the handlers once the run has ended on its own.
 */
export function onInterrupt(signals: NodeJS.EventEmitter = process): { signal: Promise<NodeJS.Signals>; off(): void } {
  let off = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    const on = (name: NodeJS.Signals) => () => { off(); resolve(name); };
    const int = on('SIGINT'); const term = on('SIGTERM');
    signals.once('SIGINT', int);
    signals.once('SIGTERM', term);
    off = () => { signals.off('SIGINT', int); signals.off('SIGTERM', term); };
  });
  return { signal, off: () => off() };
}

/**
 * Records that this process stopped executing `runId` (and its sub-runs) on a signal.
 *
 * The seed's run states have no "interrupted", and adding one would change what every
 * client of RunStatus must accept. So an interrupted run goes back to `pending` — open,
 * waiting for an executor, which is what it is — with a `run_status` event that says why
 * (`{status: 'pending', interrupted: 'SIGINT'}`). Closing the runtime then abandons its
 * in-flight steps and releases its ownership, so `weft resume` (or `weft serve`) continues
 * it at once; steps that were in flight run again with attempt + 1.
 */
export async function markInterrupted(rt: Runtime, runId: string, signal: NodeJS.Signals): Promise<void> {
  // Stop executing first (in-flight steps abandoned, queued writes committed): nothing of
  // the run is written after its marker.
  await rt.runs.close();
  const state = rt.store.state;
  const at = new Date().toISOString();
  const runs = [await state.getRun(runId), ...(await state.listUnfinishedRuns()).filter((r) => r.rootRunId === runId && r.runId !== runId)];
  // One batch: a run that ended meanwhile stays ended (writes to a terminal run are no-ops).
  const batch = new StoreBatch();
  for (const run of runs) {
    if (!run || isTerminalRunState(run.status)) continue;
    batch.setRunStatus(run.runId, 'pending');
    batch.appendEvent({ runId: run.runId, type: 'run_status', at, data: { status: 'pending', interrupted: signal } });
  }
  if (batch.size > 0) await (await state.commit(batch)).synced;
}
