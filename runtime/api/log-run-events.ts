import type { RunEvent } from '../store/state-store.js';
import type { RunEventHub } from '../runs/run-events.js';
import { log, logEnabled } from '../telemetry/logger.js';

/**
 * Logs every run state change at info (created, running ⇄ paused, finished; a failed or
 * cancelled run at warn), one line each with the run id. Nothing is subscribed when the
 * level is above info, so `weft run` (default warn) pays nothing per event.
 */
export function logRunEvents(events: RunEventHub): (() => void) | undefined {
  if (!logEnabled('info')) return undefined;
  return events.onAll(logRunEvent);
}

function logRunEvent(event: RunEvent): void {
  const data = event.data as Record<string, unknown> | undefined;
  switch (event.type) {
    case 'run_created':
      return log('info', { runId: event.runId, flowId: data?.flowId, items: data?.total }, `run ${event.runId} created (${String(data?.total)} items)`);
    case 'run_status':
      return log('info', { runId: event.runId, status: data?.status }, `run ${event.runId} ${String(data?.status)}`);
    case 'sub_run_created':
      return log('info', { runId: event.runId, itemIndex: event.itemIndex, stepId: event.stepId, subRunId: data?.subRunId }, `run ${event.runId}: step "${event.stepId ?? '?'}" submitted sub-run ${String(data?.subRunId)}`);
    case 'run_completed': {
      const status = String(data?.status);
      return log(status === 'success' ? 'info' : 'warn', { runId: event.runId, status }, `run ${event.runId} ${status}`);
    }
    default:
  }
}
