import {
  ConnectionError, ConnectionErrors, ErrorCodes as RpcErrorCodes, ResponseError,
} from 'vscode-jsonrpc/node';
import type { CancellationToken, Disposable, Message, MessageConnection, MessageWriter, RequestType } from 'vscode-jsonrpc/node';
import { DirectCalls } from '../protocol/direct-calls.js';

/**
 * A server's calls back into the runtime (blobs/*, runs/*, inputs/await), sent and matched
 * past vscode-jsonrpc (DirectCalls): through it, every response waited for its
 * per-message setImmediate before the component saw it. What vscode-jsonrpc's sendRequest
 * did is kept: a cancelled token sends $/cancelRequest and the call still waits for its
 * answer; disposing the connection fails the calls in flight; a closed or disposed
 * connection refuses new ones.
 */
export class RuntimeCalls {
  private readonly calls: DirectCalls;
  private closed = false;
  private disposed = false;

  constructor(writer: MessageWriter) {
    this.calls = new DirectCalls(writer, 'c');
  }

  /** For the reader's intercept: takes the runtime's responses to these calls. */
  get intercept(): (message: Message) => boolean { return this.calls.intercept; }

  /** Follows the connection's state (its reader is the one intercepted). */
  follow(connection: MessageConnection): void {
    connection.onClose(() => { this.closed = true; });
    connection.onDispose(() => {
      this.disposed = true;
      this.calls.failAll(new ResponseError(RpcErrorCodes.PendingResponseRejected, 'Pending response rejected since connection got disposed'));
    });
  }

  request<P, R>(type: RequestType<P, R, void>, params: P, token: CancellationToken): Promise<R> {
    if (this.disposed) throw new ConnectionError(ConnectionErrors.Disposed, 'Connection is disposed.');
    if (this.closed) throw new ConnectionError(ConnectionErrors.Closed, 'Connection is closed.');
    return new Promise<R>((resolve, reject) => {
      let onCancel: Disposable | undefined;
      const id = this.calls.send(type.method, params, (reply) => {
        onCancel?.dispose();
        if (reply.ok) resolve(reply.result as R);
        else reject(reply.error);
      });
      if (token.isCancellationRequested) this.calls.cancel(id);
      else onCancel = token.onCancellationRequested(() => this.calls.cancel(id));
    });
  }
}
