/**
 * Why a step, item or run failed. Strings, not Stepflow's integer 500: the code says
 * what kind of failure it was, and the original detail stays in `data`.
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

export const TASK_ERROR_CODES: readonly TaskErrorCode[] = [
  'UNSPECIFIED', 'TIMEOUT', 'INVALID_INPUT', 'COMPONENT_FAILED', 'CANCELLED', 'UNREACHABLE',
  'COMPONENT_NOT_FOUND', 'RESOURCE_UNAVAILABLE', 'EXPRESSION_FAILURE', 'ORCHESTRATOR_ERROR', 'WORKER_ERROR',
];

/** `code` is a TaskErrorCode for failures weft makes; in-process plugins (mock) may pass their own. */
export interface FlowError {
  code: TaskErrorCode | (string & {}) | number;
  message: string;
  data?: unknown;
}

export interface FlowSuccess { outcome: 'success'; result: unknown }
export interface FlowFailure { outcome: 'failed'; error: FlowError }

/** The outcome of a step, an item or an expression: failures are data, never exceptions. */
export type FlowResult = FlowSuccess | FlowFailure;

export const success = (result: unknown): FlowSuccess => ({ outcome: 'success', result });
export const failure = (code: FlowError['code'], message: string, data?: unknown): FlowFailure =>
  ({ outcome: 'failed', error: data === undefined ? { code, message } : { code, message, data } });
