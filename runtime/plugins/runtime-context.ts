import type { TraceParent } from '../telemetry/span-ids.js';
import type { AwaitInputParams, BlobId, BlobType, GetRunParams, OutputEncoding, RunStatus, SubmitRunParams } from '../../protocol/index.js';

/** Who is calling back: the execution a callback belongs to (from observability or a builtin's step). */
export interface CallerContext {
  runId?: string;
  itemIndex?: number;
  stepId?: string;
  attempt?: number;
  signal?: AbortSignal;
  /**
   * For a component server's callback, how the caller was found (ServedExecutions):
   * `execution` = one execution weft is serving on that connection; `ambiguous` = several
   * in flight and none named; `none` = no execution in flight. Absent for the runtime's
   * own calls (builtins), whose caller is known.
   */
  served?: 'execution' | 'ambiguous' | 'none';
  /** The span a sub-run submitted by this caller hangs under (the callback's span, or the server's echo). */
  trace?: TraceParent;
}

/** One chunk of a step's streamed output (outputs/emit), as the plugin hands it up. */
export interface StepOutput { stream: string; encoding: OutputEncoding; chunk: unknown }

/**
 * What component servers and builtins may ask of the runtime while they execute.
 * Declared here, implemented by runs/ (RunManager): calls travel up only through this.
 * Errors are ProtocolErrors (they go back on the wire as JSON-RPC errors).
 */
export interface RuntimeContext {
  putBlob(data: unknown, type: BlobType, caller?: CallerContext): Promise<BlobId>;
  getBlob(id: string, caller?: CallerContext): Promise<{ data: unknown; blobType: BlobType }>;
  submitRun(params: SubmitRunParams, caller?: CallerContext): Promise<RunStatus>;
  getRun(params: GetRunParams, caller?: CallerContext): Promise<RunStatus>;
  /** Pauses the calling item until a human supplies a value matching `schema` (issue 7). */
  awaitInput(params: AwaitInputParams, caller?: CallerContext): Promise<unknown>;
  /**
   * A chunk of the calling execution's output (issue 17; `caller` has run, item, step and
   * attempt). Returns a promise that settles once the chunk is committed ("taken"), or
   * undefined when it is dropped (its run is not executing here). Throws, synchronously, a
   * ProtocolError (OutputLimitExceeded) when the chunk breaks a limit: the plugin then fails
   * that execution. Optional: a context without it drops every chunk.
   */
  emitOutput?(output: StepOutput, caller: CallerContext): Promise<void> | undefined;
}
