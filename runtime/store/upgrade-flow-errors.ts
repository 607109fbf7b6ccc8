import type Database from 'better-sqlite3';
import { FLOW_ERROR_CODES, isTaskErrorCode } from '../../protocol/index.js';
import type { FlowError } from '../../protocol/index.js';
import type { PackedEvent } from './sqlite-rows.js';

/**
 * A FlowError as stored before error codes became integers (`code: "COMPONENT_FAILED"`,
 * or a mock plugin's own integer without a kind) in today's shape, `{code: 500, kind:
 * "COMPONENT_FAILED", ...}`; undefined when `value` is not such an error.
 */
export function upgradedFlowError(value: unknown): FlowError | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { code, kind, message, data } = value as Record<string, unknown>;
  if (kind !== undefined || typeof message !== 'string') return undefined;
  let upgraded: Omit<FlowError, 'message' | 'data'>;
  if (typeof code === 'number') upgraded = { code, kind: code === FLOW_ERROR_CODES.EXPRESSION_FAILURE ? 'EXPRESSION_FAILURE' : 'COMPONENT_FAILED' };
  else if (typeof code === 'string') {
    const known = isTaskErrorCode(code) ? code : 'COMPONENT_FAILED';
    upgraded = { code: FLOW_ERROR_CODES[known], kind: known };
  } else return undefined;
  return data === undefined ? { ...upgraded, message } : { ...upgraded, message, data };
}

/** `{..., error}` (a failed FlowResult, or an event's data) with its error upgraded; undefined if unchanged. */
function withUpgradedError(json: string): string | undefined {
  const value = JSON.parse(json) as unknown;
  if (value === null || typeof value !== 'object' || !('error' in value)) return undefined;
  const error = upgradedFlowError(value.error);
  return error && JSON.stringify({ ...value, error });
}

function rewrite(db: Database.Database, select: string, update: string, change: (json: string) => string | undefined): void {
  const changes: Array<[string, unknown[]]> = [];
  for (const row of db.prepare(select).raw().iterate() as Iterable<unknown[]>) {
    const next = change(row[0] as string);
    if (next !== undefined) changes.push([next, row.slice(1)]);
  }
  const stmt = db.prepare(update);
  for (const [json, key] of changes) stmt.run(json, ...key);
}

/**
 * The schema migration that gives stored FlowErrors an integer `code` and a `kind`: item
 * and step results, a run's own error, and the `error` of every stored event.
 */
export function upgradeStoredFlowErrors(db: Database.Database): void {
  const failed = `json_extract(result_json, '$.outcome') = 'failed'`;
  rewrite(db, `SELECT result_json, run_key, item_index FROM items WHERE ${failed}`,
    'UPDATE items SET result_json = ? WHERE run_key = ? AND item_index = ?', withUpgradedError);
  rewrite(db, `SELECT result_json, run_key, item_index, step_id FROM steps WHERE ${failed}`,
    'UPDATE steps SET result_json = ? WHERE run_key = ? AND item_index = ? AND step_id = ?', withUpgradedError);
  rewrite(db, 'SELECT error_json, run_key FROM runs WHERE error_json IS NOT NULL', 'UPDATE runs SET error_json = ? WHERE run_key = ?',
    (json) => { const error = upgradedFlowError(JSON.parse(json)); return error && JSON.stringify(error); });
  rewrite(db, `SELECT events_json, run_key, first_seq FROM event_batches WHERE instr(events_json, 'error') > 0`,
    'UPDATE event_batches SET events_json = ? WHERE run_key = ? AND first_seq = ?', (json) => {
      let changed = false;
      const events = (JSON.parse(json) as PackedEvent[]).map((event): PackedEvent => {
        const data = event[6] === null ? undefined : withUpgradedError(event[6]);
        if (data === undefined) return event;
        changed = true;
        return [event[0], event[1], event[2], event[3], event[4], event[5], data];
      });
      return changed ? JSON.stringify(events) : undefined;
    });
}
