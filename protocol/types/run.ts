import type { FlowError } from './flow-result.js';
import type { ObservabilityContext } from './component.js';

export type RunState = 'pending' | 'running' | 'paused' | 'success' | 'failed' | 'cancelled';
export const TERMINAL_RUN_STATES: readonly RunState[] = ['success', 'failed', 'cancelled'];

/** A run in one of these states will not change again. */
export const isTerminalRunState = (status: string): boolean => (TERMINAL_RUN_STATES as readonly string[]).includes(status);

/** Stepflow's per-item ExecutionStatus enum (its Python SDK validates it). */
export type ItemWireStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'paused';

export type ResultOrder = 'byIndex' | 'byCompletion';

/** Step overrides: `{stepId: {$type?: 'merge_patch' | 'json_patch', value}}` (or wrapped in `{steps: ...}`). */
export type StepOverrides = Record<string, { $type?: 'merge_patch' | 'json_patch'; value: unknown }>;

export interface SubmitRunParams {
  flowId: string;
  inputs: unknown[];
  wait?: boolean | null;
  maxConcurrency?: number | null;
  overrides?: StepOverrides | { steps: StepOverrides } | null;
  variables?: Record<string, unknown> | null;
  timeoutSecs?: number | null;
  observability?: ObservabilityContext | null;
  subflowKey?: string | null;
  flowLabel?: string | null;
  /** weft: `creator` pins the run's items to the submitting process (a shared store) until it is declared dead. */
  affinity?: 'creator' | null;
}

export interface GetRunParams {
  runId: string;
  wait?: boolean | null;
  includeResults?: boolean | null;
  resultOrder?: ResultOrder | 'by_index' | 'by_completion' | null;
  timeoutSecs?: number | null;
  observability?: ObservabilityContext | null;
}

/** Item counters: the seed's names plus `completed` (= success) for Stepflow's SDK. */
export interface ItemStatistics {
  total: number;
  pending: number;
  running: number;
  success: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** On the wire a success carries its value under both `value` (seed) and `result` (Stepflow). */
export type WireFlowResult =
  | { outcome: 'success'; value: unknown; result: unknown }
  | { outcome: 'failed'; error: FlowError };

export interface ItemResult {
  itemIndex: number;
  status: ItemWireStatus;
  result?: WireFlowResult;
  completedAt?: string;
}

export interface RunStatus {
  runId: string;
  flowId: string;
  flowName?: string;
  flowLabel?: string;
  status: RunState;
  items: ItemStatistics;
  createdAt: string;
  completedAt?: string;
  results?: ItemResult[];
}
