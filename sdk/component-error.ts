import { ResponseError } from 'vscode-jsonrpc/node';
import { ComponentErrorCodes } from '../protocol/errors.js';

export interface ComponentErrorOptions<D = unknown> {
  /** JSON-RPC error code; default -32003 (COMPONENT_FAILED in the runtime). */
  code?: number;
  data?: D;
}

/**
 * Thrown by a component to choose what goes on the wire: its message and code are sent
 * unchanged (any other thrown error becomes -32003 "Component execution failed: ...").
 * E.g. `throw new ComponentError('upstream down', { code: ErrorCodes.ResourceUnavailable })`.
 */
export class ComponentError<D = unknown> extends ResponseError<D | undefined> {
  constructor(message: string, options: ComponentErrorOptions<D> = {}) {
    super(options.code ?? ComponentErrorCodes.ExecutionFailed, message, options.data);
    // ResponseError's constructor resets the prototype to its own: restore ours so `instanceof` works.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'ComponentError';
  }
}
