import type { FlowResult, ItemResult, RunStatus, WireFlowResult } from '../../protocol/index.js';
import type { ItemRecord, RunRecord } from '../store/state-store.js';

/** A FlowResult on the wire: success carries its value as both `value` (seed) and `result` (Stepflow SDK). */
export function toWireResult(result: FlowResult): WireFlowResult {
  return result.outcome === 'success'
    ? { outcome: 'success', value: result.result, result: result.result }
    : { outcome: 'failed', error: result.error };
}

export function toItemResult(item: ItemRecord): ItemResult {
  const status = item.status === 'success' ? 'completed'
    : item.status === 'failed' ? 'failed'
    : item.status === 'cancelled' ? 'cancelled'
    : item.status === 'paused' ? 'paused' : 'running';
  const out: ItemResult = { itemIndex: item.itemIndex, status };
  if (item.result) out.result = toWireResult(item.result);
  if (item.completedAt) out.completedAt = item.completedAt;
  return out;
}

/** RunStatus as both the seed's readers and Stepflow's Python SDK accept it (protocol.md §9.1). */
export function toRunStatus(run: RunRecord, results?: ItemRecord[]): RunStatus {
  const c = run.items;
  const status: RunStatus = {
    runId: run.runId,
    flowId: run.flowId,
    ...(run.flowName !== undefined ? { flowName: run.flowName } : {}),
    ...(run.flowLabel !== undefined ? { flowLabel: run.flowLabel } : {}),
    status: run.status,
    items: {
      total: c.total,
      pending: c.pending,
      // Paused items are still in flight; Stepflow's counters have no paused slot.
      running: c.running + c.paused,
      success: c.success,
      completed: c.success,
      failed: c.failed,
      cancelled: c.cancelled,
    },
    createdAt: run.createdAt,
    ...(run.completedAt !== undefined ? { completedAt: run.completedAt } : {}),
  };
  if (results) status.results = results.map(toItemResult);
  if (run.error) (status as RunStatus & { error?: unknown }).error = run.error;
  return status;
}
