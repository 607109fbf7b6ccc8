import type { BlobId, BlobType, RunState, RunStatus } from '../../protocol/index.js';

/** One event of a run, as the event stream sends it; `seq` orders a run's events. */
export interface WeftEvent {
  seq: number;
  runId: string;
  type:
    | 'run_created' | 'run_status'
    | 'item_started' | 'item_completed'
    | 'step_started' | 'step_completed' | 'step_failed' | 'step_awaiting_input'
    | 'sub_run_created' | 'input_received' | 'step_output'
    | 'run_completed';
  at: string;
  itemIndex?: number;
  stepId?: string;
  attempt?: number;
  data?: Record<string, unknown>;
}

export interface FlowSummary { flowId: BlobId; name: string | null; description: string | null; createdAt: string }

export interface RunPage { runs: RunStatus[]; limit: number; offset: number; nextOffset?: number }

export interface ComponentListing { path: string; plugin: string; component: string; description?: string; input_schema?: unknown; output_schema?: unknown }

export interface SubmitRunRequest {
  /** A stored flow's id, or the name of exactly one stored flow. */
  flowId?: string;
  /** An inline flow (stored first); give this or `flowId`. */
  flow?: object;
  inputs: unknown[];
  wait?: boolean;
  timeoutSecs?: number;
  maxConcurrency?: number;
  overrides?: Record<string, unknown>;
  variables?: Record<string, unknown>;
  flowLabel?: string;
}

export interface GetRunOptions {
  includeResults?: boolean;
  resultOrder?: 'byIndex' | 'byCompletion';
  wait?: boolean;
  timeoutSecs?: number;
}

export interface ForkRunRequest { fromStep: string; overrides?: Record<string, unknown>; inputs?: unknown[]; flowLabel?: string; maxConcurrency?: number }

export interface BlobResponse { blobId: BlobId; blobType: BlobType; data: unknown }

export type { RunState, RunStatus };
