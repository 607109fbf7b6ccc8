import { ErrorCodes, failure } from '../../../protocol/index.js';
import type { FlowFailure, TaskErrorCode } from '../../../protocol/index.js';

// Errors the runtime raises because of what the step asked for (an unknown blob or
// flow, a bad value): the input is at fault, so retrying will not help.
const INPUT_ERRORS: readonly number[] = [
  ErrorCodes.InvalidParams, ErrorCodes.InvalidValue, ErrorCodes.NotFound, ErrorCodes.BlobNotFound,
  ErrorCodes.InvalidInputValue,
];

/**
 * The JSON-RPC code of a ProtocolError (or any ResponseError). Duck-typed: vscode-jsonrpc's
 * ResponseError constructor resets the prototype, so `instanceof ProtocolError` is false.
 */
export function rpcErrorCode(err: unknown): number | undefined {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}

/** A RuntimeContext error (ProtocolError) or a bug, as a failed FlowResult keeping the detail in `data`. */
export function failureFromError(component: string, err: unknown, signal?: AbortSignal): FlowFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (signal?.aborted) return failure('CANCELLED', `builtin ${component}: cancelled`);
  const rpcCode = rpcErrorCode(err);
  if (rpcCode !== undefined) {
    const code: TaskErrorCode = INPUT_ERRORS.includes(rpcCode) ? 'INVALID_INPUT' : 'COMPONENT_FAILED';
    const rpcData = (err as { data?: unknown }).data;
    return failure(code, `builtin ${component}: ${message}`, rpcData === undefined ? { rpcCode } : { rpcCode, rpcData });
  }
  return failure('ORCHESTRATOR_ERROR', `builtin ${component}: internal error: ${message}`,
    err instanceof Error && err.stack ? { stack: err.stack } : undefined);
}
