import { ErrorCodes, ProtocolError } from '../../protocol/index.js';
import { HttpError } from './http-error.js';

/** The body of every error response: a JSON-RPC-like error with the HTTP status beside it. */
export interface ErrorBody { error: { status: number; code?: number | string; message: string; data?: unknown } }

const STATUS_BY_CODE = new Map<number, number>([
  [ErrorCodes.NotFound, 404],
  [ErrorCodes.BlobNotFound, 404],
  [ErrorCodes.ComponentNotFound, 404],
  [ErrorCodes.InvalidParams, 400],
  [ErrorCodes.InvalidRequest, 400],
  [ErrorCodes.ParseError, 400],
  [ErrorCodes.InvalidValue, 400],
  [ErrorCodes.InvalidInputValue, 400],
  [ErrorCodes.NestingTooDeep, 400],
  [ErrorCodes.PermissionDenied, 403],
  [ErrorCodes.Timeout, 504],
  [ErrorCodes.ResourceUnavailable, 503],
]);

/**
 * The one place where errors become HTTP statuses: ProtocolError codes (what the
 * embedding API throws), HttpError (auth, conflicts) and Fastify's own errors
 * (body too large → 413, malformed JSON → 400, unsupported content type → 415).
 */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) {
    return { status: error.status, body: { error: { status: error.status, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) } } };
  }
  if (error instanceof ProtocolError) {
    const status = STATUS_BY_CODE.get(error.code) ?? 500;
    return { status, body: { error: { status, code: error.code, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) } } };
  }
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const message = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body too large (${String(e.message)})` : String(e.message);
    return { status: e.statusCode, body: { error: { status: e.statusCode, ...(typeof e.code === 'string' ? { code: e.code } : {}), message } } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: { status: 500, message } } };
}
