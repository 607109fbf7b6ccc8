import { ResponseError } from 'vscode-jsonrpc/node';

/**
 * Every JSON-RPC error code weft sends or understands, in one table. Values follow
 * Stepflow's stdio-era code (reference/protocol.md §10), including its swap of
 * -32011 (not found) and -32012 (invalid value). A test asserts they are unique.
 */
export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** vscode-jsonrpc's code for a request the caller cancelled with `$/cancelRequest` (the SDK answers it). */
  RequestCancelled: -32800,
  ServerError: -32000,
  ComponentNotFound: -32001,
  ServerNotInitialized: -32002,
  ComponentExecutionFailed: -32003,
  RuntimeError: -32004,
  ResourceUnavailable: -32005,
  Timeout: -32006,
  PermissionDenied: -32007,
  BlobNotFound: -32008,
  ExpressionFailed: -32009,
  NotFound: -32011,
  InvalidValue: -32012,
  /** weft: a runs/submit would nest deeper than the configured limit. */
  NestingTooDeep: -32013,
  /** weft: a human-input value does not match the requested schema. */
  InvalidInputValue: -32014,
  /** weft: a step's streamed output broke a configured limit (chunk size, chunks per step, bytes per run). */
  OutputLimitExceeded: -32015,
  /** weft: a message over limits.maxMessageBytes or nested deeper than limits.maxJsonDepth. */
  MessageLimitExceeded: -32016,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * What component servers mean by the codes they answer `components/*` with. Stepflow's
 * Python SDK (protocol.md §10.2) uses -32002 for an input that fails validation and
 * -32003 for every exception a component raises; weft's SDK does the same, so the
 * runtime maps -32002 → INVALID_INPUT and -32003 → COMPONENT_FAILED. Aliases into
 * ErrorCodes, not new codes.
 */
export const ComponentErrorCodes = {
  ComponentNotFound: ErrorCodes.ComponentNotFound,
  InputValidationFailed: ErrorCodes.ServerNotInitialized,
  ExecutionFailed: ErrorCodes.ComponentExecutionFailed,
  Cancelled: ErrorCodes.RequestCancelled,
} as const;

/** An error that goes on the wire as a JSON-RPC error response. */
export class ProtocolError<D = unknown> extends ResponseError<D> {
  constructor(code: ErrorCode, message: string, data?: D) {
    super(code, message, data);
    // ResponseError's constructor resets the prototype to its own: restore ours so `instanceof` works.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'ProtocolError';
  }
}
