import { ErrorCodes as RpcErrorCodes, ResponseError } from 'vscode-jsonrpc/node';

/**
 * What vscode-jsonrpc answers when a request handler rejects with `error`: for requests
 * answered past its dispatch (DirectCallbacks, DirectExecutes), so they fail exactly as
 * they did through the connection.
 */
export function handlerError(method: string, error: unknown): ResponseError<unknown> {
  if (error instanceof ResponseError) return error;
  const message = (error as Error | undefined)?.message;
  return typeof message === 'string'
    ? new ResponseError(RpcErrorCodes.InternalError, `Request ${method} failed with message: ${message}`)
    : new ResponseError(RpcErrorCodes.InternalError, `Request ${method} failed unexpectedly without providing any details.`);
}
