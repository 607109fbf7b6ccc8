import type { BlobId, FlowResult } from '../../protocol/index.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import type { TraceParent } from '../telemetry/span-ids.js';
import type { LoadedFlow } from './load-flow.js';

/** Durability hooks: the executor awaits them, so a result is journaled before it is used. */
export interface StepJournal {
  /** Before each execution of a step (every attempt, including transport retries). */
  stepStarted(stepId: string, attempt: number): void | Promise<void>;
  /** Before the step's result is used by any other step or the output. */
  stepFinished(stepId: string, attempt: number, result: FlowResult): void | Promise<void>;
}

/** What an earlier execution (recovery) or a source run (fork) already journaled for a step. */
export interface PriorStep {
  /** Present when the step finished: it is not executed again. */
  result?: FlowResult;
  /** The last attempt started; a re-execution uses lastAttempt + 1. */
  lastAttempt: number;
}

export interface ItemExecutionRequest {
  flow: LoadedFlow;
  flowId: BlobId;
  runId: string;
  itemIndex: number;
  input: unknown;
  variables?: Record<string, unknown>;
  router: PluginRouter;
  journal?: StepJournal;
  prior?: ReadonlyMap<string, PriorStep>;
  signal?: AbortSignal;
  /** Transport retries per step (crash/broken pipe, UNREACHABLE; a timeout, TIMEOUT); default 3. */
  transportRetries?: number;
  /** The run's trace: every step attempt's `observability.trace_id`. */
  traceId?: string;
  /** The item's span, parent of its step spans (tracing on). */
  traceParent?: TraceParent;
  /**
   * Config `validateInput: false` (flows migrated from Stepflow, which does not validate):
   * an input that breaks the flow's input schema is reported here and the item runs anyway.
   */
  onInputMismatch?: (message: string) => void;
}
