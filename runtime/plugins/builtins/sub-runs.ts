import { createHash } from 'node:crypto';
import { TERMINAL_RUN_STATES, failure } from '../../../protocol/index.js';
import type { FlowResult, RunStatus, SubmitRunParams, WireFlowResult } from '../../../protocol/index.js';
import type { ExecuteRequest } from '../plugin.js';
import type { CallerContext, RuntimeContext } from '../runtime-context.js';

/**
 * Subflow keys for the sub-runs one step execution submits, in order (n = 0, 1, ...).
 * Derived only from the calling step — not the attempt — so a step re-executed after a
 * crash submits with the same keys and the run manager re-attaches to the sub-runs it
 * already started instead of starting duplicates. Undefined outside a run.
 */
export function subflowKeys(caller: CallerContext): () => string | undefined {
  let n = 0;
  return () => {
    if (caller.runId === undefined) return undefined;
    const hex = createHash('sha256')
      .update(`${caller.runId}:${caller.itemIndex ?? ''}:${caller.stepId ?? ''}:${n++}`)
      .digest('hex');
    // UUID-shaped (version 8, RFC 9562 "custom"), as JR's subflowKey is a UUID.
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
}

/**
 * Submits a sub-run and waits until it is terminal. `wait: true` may come back early
 * (a run manager's wait timeout), so keep waiting through runs/get: like Stepflow, a
 * nested run has no deadline of its own.
 */
export async function runToCompletion(runtime: RuntimeContext, params: SubmitRunParams, request: ExecuteRequest): Promise<RunStatus> {
  const { caller } = request;
  let status = await runtime.submitRun({ ...params, wait: true }, caller);
  while (!TERMINAL_RUN_STATES.includes(status.status)) {
    // Cancelled: stop waiting; BuiltinPlugin reports the step as CANCELLED.
    if (request.signal?.aborted || caller.signal?.aborted) break;
    status = await runtime.getRun({ runId: status.runId, wait: true, includeResults: true }, caller);
  }
  return status;
}

/** Stepflow's nested FlowResult from the wire shape: a success keeps `result`, drops the seed's `value`. */
export function fromWireResult(wire: WireFlowResult): FlowResult {
  if (wire.outcome === 'success') return { outcome: 'success', result: wire.result ?? wire.value };
  return { outcome: 'failed', error: wire.error };
}

/** One FlowResult per item, in index order; an item the run reported no result for is a failure. */
export function itemResultsInOrder(status: RunStatus, count: number): FlowResult[] {
  const byIndex = new Map((status.results ?? []).map((r) => [r.itemIndex, r]));
  return Array.from({ length: count }, (_, i) => {
    const item = byIndex.get(i);
    if (item?.result) return fromWireResult(item.result);
    return failure('ORCHESTRATOR_ERROR', `sub-run ${status.runId} (status ${status.status}) reported no result for item ${i}`);
  });
}
