import type Database from 'better-sqlite3';
import type { BlobId, RunState } from '../../protocol/index.js';
import type { ItemRecord, ItemState, RunEvent, RunEventType, RunRecord, StepRecord, StepState } from './state-store.js';

export type Row = Record<string, unknown>;
export type Statement = Database.Statement<unknown[], Row>;
/** A statement whose rows are single values (better-sqlite3's pluck). */
export type PluckStatement = Database.Statement<unknown[], unknown>;

/** One event in an event_batches row: [seq, type, at, item_index, step_id, attempt, data_json]. */
export type PackedEvent = [number, RunEventType, string, number | null, string | null, number | null, string | null];

/**
 * Multi-row statements of one shape, prepared once per row count: a statement of `rows`
 * value tuples `(?, …)`, made by `sql(values)`.
 */
export class RowStatements {
  private readonly byRows = new Map<number, Statement>();

  constructor(private readonly db: Database.Database, private readonly columns: number, private readonly maxRows: number,
    private readonly sql: (values: string) => string) {}

  private for(rows: number): Statement {
    let stmt = this.byRows.get(rows);
    if (!stmt) {
      const tuple = `(${Array.from({ length: this.columns }, () => '?').join(', ')})`;
      stmt = this.db.prepare<unknown[], Row>(this.sql(Array.from({ length: rows }, () => tuple).join(', ')));
      this.byRows.set(rows, stmt);
    }
    return stmt;
  }

  /**
   * Runs the rows (flattened, `columns` values each) in statements of at most maxRows
   * rows, in order, `extra` bound after each chunk's values; returns what they return (RETURNING).
   */
  run(values: readonly unknown[], extra: readonly unknown[] = []): Row[] {
    const out: Row[] = [];
    const count = values.length / this.columns;
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, this.maxRows);
      const stmt = this.for(n);
      const params = [...values.slice(done * this.columns, (done + n) * this.columns), ...extra];
      if (stmt.reader) out.push(...stmt.all(params));
      else stmt.run(params);
      done += n;
    }
    return out;
  }
}

// ---- rows → records ---------------------------------------------------------------------

export function toRunRecord(r: Row): RunRecord {
  const run: RunRecord = {
    runId: r.id as string,
    flowId: r.flow_id as BlobId,
    status: r.status as RunState,
    createdAt: r.created_at as string,
    rootRunId: r.root_run_id as string,
    depth: r.depth as number,
    items: {
      total: r.items_total as number, pending: r.items_pending as number, running: r.items_running as number,
      paused: r.items_paused as number, success: r.items_success as number, failed: r.items_failed as number,
      cancelled: r.items_cancelled as number,
    },
  };
  if (r.flow_name !== null) run.flowName = r.flow_name as string;
  if (r.flow_label !== null) run.flowLabel = r.flow_label as string;
  if (r.completed_at !== null) run.completedAt = r.completed_at as string;
  if (r.error_json !== null) run.error = JSON.parse(r.error_json as string);
  if (r.parent_run_id !== null) run.parentRunId = r.parent_run_id as string;
  if (r.parent_item_index !== null) run.parentItemIndex = r.parent_item_index as number;
  if (r.parent_step_id !== null) run.parentStepId = r.parent_step_id as string;
  if (r.subflow_key !== null) run.subflowKey = r.subflow_key as string;
  if (r.max_concurrency !== null) run.maxConcurrency = r.max_concurrency as number;
  if (r.overrides_json != null) run.overrides = JSON.parse(r.overrides_json as string);
  if (r.variables_json != null) run.variables = JSON.parse(r.variables_json as string);
  if (r.fork_of_run_id !== null) run.forkOf = { runId: r.fork_of_run_id as string, fromStep: r.fork_from_step as string };
  if (r.config_id != null) run.configId = r.config_id as BlobId;
  if (r.affinity != null) run.affinity = 'creator';
  if (r.working_directory != null) run.workingDirectory = r.working_directory as string;
  return run;
}

export function toItemRecord(runId: string, r: Row): ItemRecord {
  const item: ItemRecord = {
    runId,
    itemIndex: r.item_index as number,
    status: r.status as ItemState,
    input: JSON.parse(r.input_json as string),
  };
  if (r.result_json !== null) item.result = JSON.parse(r.result_json as string);
  if (r.completed_at !== null) item.completedAt = r.completed_at as string;
  if (r.completion_seq !== null) item.completionSeq = r.completion_seq as number;
  if (r.owner != null) item.owner = r.owner as string;
  if (r.attempt != null && (r.attempt as number) > 0) item.attempt = r.attempt as number;
  return item;
}

export function toStepRecord(runId: string, r: Row): StepRecord {
  const step: StepRecord = {
    runId,
    itemIndex: r.item_index as number,
    stepId: r.step_id as string,
    attempt: r.attempt as number,
    state: r.state as StepState,
    startedAt: r.started_at as string,
  };
  if (r.result_json !== null) step.result = JSON.parse(r.result_json as string);
  if (r.finished_at !== null) step.finishedAt = r.finished_at as string;
  if (r.prompt_json !== null) step.prompt = JSON.parse(r.prompt_json as string);
  if (r.answers_json != null) step.answers = JSON.parse(r.answers_json as string);
  return step;
}

export function toRunEvent(runId: string, [seq, type, at, itemIndex, stepId, attempt, dataJson]: PackedEvent): RunEvent {
  const event: RunEvent = { seq, runId, type, at };
  if (itemIndex !== null) event.itemIndex = itemIndex;
  if (stepId !== null) event.stepId = stepId;
  if (attempt !== null) event.attempt = attempt;
  if (dataJson !== null) event.data = JSON.parse(dataJson);
  return event;
}
