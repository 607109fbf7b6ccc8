/**
 * What kind of failure a step, item or run had (Stepflow's later TaskErrorCode). It travels
 * as `FlowError.kind`, beside the integer `code` that Stepflow's stdio-era runtime sends and
 * its Python SDK decodes strictly (`code: int`).
 */
export type TaskErrorCode =
  | 'UNSPECIFIED'
  | 'TIMEOUT'
  | 'INVALID_INPUT'
  | 'COMPONENT_FAILED'
  | 'CANCELLED'
  | 'UNREACHABLE'
  | 'COMPONENT_NOT_FOUND'
  | 'RESOURCE_UNAVAILABLE'
  | 'EXPRESSION_FAILURE'
  | 'ORCHESTRATOR_ERROR'
  | 'WORKER_ERROR';

/**
 * Each kind's integer `code`, in Stepflow's numbering (reference/protocol.md §10.3): a
 * value expression that cannot be resolved is 1; everything Stepflow reports as a failed
 * step (a component error, a crash, a bad answer, a routing failure) is 500. Kinds
 * Stepflow's stdio runtime never produced (TIMEOUT, CANCELLED) are step failures too.
 * The kind, not the code, says which it was.
 */
export const FLOW_ERROR_CODES: Readonly<Record<TaskErrorCode, number>> = {
  UNSPECIFIED: 500,
  TIMEOUT: 500,
  INVALID_INPUT: 500,
  COMPONENT_FAILED: 500,
  CANCELLED: 500,
  UNREACHABLE: 500,
  COMPONENT_NOT_FOUND: 500,
  RESOURCE_UNAVAILABLE: 500,
  EXPRESSION_FAILURE: 1,
  ORCHESTRATOR_ERROR: 500,
  WORKER_ERROR: 500,
};

export const TASK_ERROR_CODES = Object.keys(FLOW_ERROR_CODES) as readonly TaskErrorCode[];

export const isTaskErrorCode = (value: unknown): value is TaskErrorCode =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(FLOW_ERROR_CODES, value);

/**
 * `code` is FLOW_ERROR_CODES[kind] for failures weft makes; an in-process plugin (mock)
 * may give its own integer, as Stepflow's does.
 */
export interface FlowError {
  code: number;
  kind: TaskErrorCode;
  message: string;
  data?: unknown;
}

export interface FlowSuccess { outcome: 'success'; result: unknown }
export interface FlowFailure { outcome: 'failed'; error: FlowError }

/** The outcome of a step, an item or an expression: failures are data, never exceptions. */
export type FlowResult = FlowSuccess | FlowFailure;

export const success = (result: unknown): FlowSuccess => ({ outcome: 'success', result });

export const flowError = (kind: TaskErrorCode, message: string, data?: unknown, code = FLOW_ERROR_CODES[kind]): FlowError =>
  (data === undefined ? { code, kind, message } : { code, kind, message, data });

export const failure = (kind: TaskErrorCode, message: string, data?: unknown): FlowFailure =>
  ({ outcome: 'failed', error: flowError(kind, message, data) });
