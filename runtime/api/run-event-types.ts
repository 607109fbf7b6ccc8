import type { BlobId, FlowError, OutputEncoding, RunState } from '../../protocol/index.js';
import type { RunEventType } from '../store/state-store.js';

// The public shape of run events: a union discriminated on `type`, so `if (e.type ===
// 'step_failed') e.data.error` type-checks. The store keeps one loose record type for all
// of them; these are what the run manager writes for each type (test/runtime/api/
// run-event-types.test.ts checks real events against them).

interface Base<T extends RunEventType> {
  /** Counts per run (1, 2, …): `since` and Last-Event-ID are positions in one run's log. */
  seq: number;
  runId: string;
  type: T;
  at: string;
}
interface OfStep { itemIndex: number; stepId: string; attempt: number }

export type RunCreatedData = { flowId: BlobId; total: number };
/** `interrupted`: the process executing the run stopped on this signal (`weft run` and Ctrl-C); the run stays open, resumable. */
export type RunStatusData = { status: 'pending' | 'running' | 'paused'; interrupted?: string };
export type ItemCompletedData = { outcome: 'success' } | { outcome: 'failed'; error: FlowError };
export type StepCompletedData = { durationMs: number };
export type StepFailedData = { error: FlowError; durationMs: number };
/** `n`: which awaitInput of the step this is, from 0 (absent for the first). */
export type StepAwaitingInputData = { prompt: string; schema?: unknown; n?: number };
export type InputReceivedData = { value: unknown; n?: number };
export type SubRunCreatedData = { subRunId: string };
/** One streamed chunk: `index` counts per stream; bytes travel as base64. */
export type StepOutputData = { stream: string; index: number; encoding: OutputEncoding; chunk: unknown };
export type RunCompletedData = { status: Extract<RunState, 'success' | 'failed' | 'cancelled'> };

export interface RunCreated extends Base<'run_created'> { data: RunCreatedData }
export interface RunStatusChanged extends Base<'run_status'> { data: RunStatusData }
export interface ItemStarted extends Base<'item_started'> { itemIndex: number }
export interface ItemCompleted extends Base<'item_completed'> { itemIndex: number; data: ItemCompletedData }
export interface StepStarted extends Base<'step_started'>, OfStep {}
export interface StepCompleted extends Base<'step_completed'>, OfStep { data: StepCompletedData }
export interface StepFailed extends Base<'step_failed'>, OfStep { data: StepFailedData }
export interface StepAwaitingInput extends Base<'step_awaiting_input'> { itemIndex: number; stepId: string; data: StepAwaitingInputData }
export interface InputReceived extends Base<'input_received'> { itemIndex: number; stepId: string; data: InputReceivedData }
/** On the parent run; `itemIndex`/`stepId` are the parent's step that submitted it (absent for a runs/submit from outside a step). */
export interface SubRunCreated extends Base<'sub_run_created'> { itemIndex?: number; stepId?: string; data: SubRunCreatedData }
export interface StepOutput extends Base<'step_output'>, OfStep { data: StepOutputData }
export interface RunCompleted extends Base<'run_completed'> { data: RunCompletedData }

/** A persisted, sequenced event of one run, discriminated on `type`. */
export type RunEvent =
  | RunCreated | RunStatusChanged | ItemStarted | ItemCompleted
  | StepStarted | StepCompleted | StepFailed | StepAwaitingInput | InputReceived
  | SubRunCreated | StepOutput | RunCompleted;

/** The event of one type: `RunEventOf<'step_failed'>`. */
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

