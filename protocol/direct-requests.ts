import { CancellationTokenSource, ErrorCodes as RpcErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import type { CancellationToken, Message, MessageWriter, ResponseMessage } from 'vscode-jsonrpc/node';

type RequestId = string | number;

/** Answers one request's params; `token` is cancelled by the peer's `$/cancelRequest` for it. */
export type DirectHandler = (params: unknown, token: CancellationToken) => Promise<unknown>;

/** Told when a request is taken past the connection, and when it has been answered (the SDK's RequestTracker). */
export interface DirectRequestHooks { dispatched(): void; settled(): void }

/**
 * Requests answered from the reader's `intercept` as they are read, past vscode-jsonrpc,
 * which dispatches one incoming message per setImmediate: a burst of N requests cost N
 * event-loop turns and N answer writes. The runtime answers a component server's
 * callbacks (runs/*, blobs/*, inputs/await) this way, the SDK the runtime's
 * components/execute. Answers and errors are shaped as vscode-jsonrpc shapes a handler's,
 * and a `$/cancelRequest` for one of them cancels its token. Requests whose params are not
 * an object (vscode-jsonrpc has its own answers for those) and other methods are left to
 * the connection.
 */
export class DirectRequests {
  /** Requests being answered, by id: what a $/cancelRequest cancels. */
  private readonly running = new Map<RequestId, CancellationTokenSource>();
  private disposed = false;

  constructor(
    private readonly writer: MessageWriter,
    private readonly handlers: ReadonlyMap<string, DirectHandler>,
    private readonly hooks?: DirectRequestHooks,
  ) {}

  readonly intercept = (message: Message): boolean => {
    if (this.disposed) return false;
    const m = message as { id?: unknown; method?: unknown; params?: unknown };
    if (m.method === '$/cancelRequest') {
      const source = this.running.get((m.params as { id?: RequestId } | undefined)?.id as RequestId);
      source?.cancel();
      return source !== undefined; // not ours, or answered already: the connection deals with it
    }
    const handle = typeof m.method === 'string' ? this.handlers.get(m.method) : undefined;
    if (!handle || (typeof m.id !== 'string' && typeof m.id !== 'number') || this.running.has(m.id)) return false;
    if (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params)) return false;
    this.answer(m.id, m.method as string, handle, m.params);
    return true;
  };

  /** Stops answering (the peer is gone): answers still due are not written. */
  dispose(): void {
    this.disposed = true;
    this.running.clear();
  }

  private answer(id: RequestId, method: string, handle: DirectHandler, params: unknown): void {
    const source = new CancellationTokenSource();
    this.running.set(id, source);
    this.hooks?.dispatched();
    // A handler that throws synchronously is answered like one that rejects.
    Promise.resolve().then(() => handle(params, source.token)).then(
      (result) => this.reply({ jsonrpc: '2.0', id, result: result ?? null }, id),
      (error: unknown) => this.reply({ jsonrpc: '2.0', id, error: handlerError(method, error).toJson() }, id),
    );
  }

  private reply(response: ResponseMessage, id: RequestId): void {
    this.running.get(id)?.dispose();
    this.running.delete(id);
    if (this.disposed) { this.hooks?.settled(); return; }
    // A failed write surfaces through the writer's onError, as for the connection's answers.
    this.writer.write(response).catch(() => undefined).finally(() => this.hooks?.settled());
  }
}

/** What vscode-jsonrpc answers when a request handler rejects with `error`. */
function handlerError(method: string, error: unknown): ResponseError<unknown> {
  if (error instanceof ResponseError) return error;
  const message = (error as Error | undefined)?.message;
  return typeof message === 'string'
    ? new ResponseError(RpcErrorCodes.InternalError, `Request ${method} failed with message: ${message}`)
    : new ResponseError(RpcErrorCodes.InternalError, `Request ${method} failed unexpectedly without providing any details.`);
}
