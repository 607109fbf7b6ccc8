import type { AwaitInputParams, BlobId, BlobType, GetRunParams, RunStatus, SubmitRunParams } from '../../protocol/index.js';

/** Who is calling back: the execution a callback belongs to (from observability or a builtin's step). */
export interface CallerContext {
  runId?: string;
  itemIndex?: number;
  stepId?: string;
  attempt?: number;
  signal?: AbortSignal;
}

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
}
