import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type { CancellationToken, Message, MessageWriter, ResponseMessage } from 'vscode-jsonrpc/node';
import { ComponentsExecute } from '../protocol/index.js';
import type { ComponentExecuteParams } from '../protocol/index.js';
import { handlerError } from '../protocol/handler-error.js';

type RequestId = string | number;

/** Told when a request is taken past the connection, and when it has been answered (RequestTracker). */
export interface DirectRequestHooks { dispatched(): void; settled(): void }

/**
 * The runtime's components/execute requests, started from the reader's `intercept` as they
 * are read. Through vscode-jsonrpc each waited for its own setImmediate, so a batch of N
 * requests took N event-loop turns and N response writes; now the batch starts in one turn
 * and the answers ready together share one write (NdjsonMessageWriter). A `$/cancelRequest`
 * for one of them cancels its token, as the connection did. Requests whose params are not an
 * object are left to the connection (it has its own answers for those).
 */
export class DirectExecutes {
  private readonly running = new Map<RequestId, CancellationTokenSource>();

  constructor(
    private readonly writer: MessageWriter,
    private readonly execute: (params: ComponentExecuteParams, token: CancellationToken) => Promise<unknown>,
    private readonly hooks?: DirectRequestHooks,
  ) {}

  readonly intercept = (message: Message): boolean => {
    const m = message as { id?: unknown; method?: unknown; params?: unknown };
    if (m.method === '$/cancelRequest') {
      const source = this.running.get((m.params as { id?: RequestId } | undefined)?.id as RequestId);
      source?.cancel();
      return source !== undefined;
    }
    if (m.method !== ComponentsExecute.method || (typeof m.id !== 'string' && typeof m.id !== 'number') || this.running.has(m.id)) return false;
    if (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params)) return false;
    this.start(m.id, m.params as ComponentExecuteParams);
    return true;
  };

  private start(id: RequestId, params: ComponentExecuteParams): void {
    const source = new CancellationTokenSource();
    this.running.set(id, source);
    this.hooks?.dispatched();
    // A handler that throws synchronously is answered like one that rejects.
    Promise.resolve().then(() => this.execute(params, source.token)).then(
      (result) => this.reply({ jsonrpc: '2.0', id, result: result ?? null }, id),
      (error: unknown) => this.reply({ jsonrpc: '2.0', id, error: handlerError(ComponentsExecute.method, error).toJson() }, id),
    );
  }

  private reply(response: ResponseMessage, id: RequestId): void {
    this.running.get(id)?.dispose();
    this.running.delete(id);
    // A failed write surfaces through the writer's onError, as for the connection's answers.
    this.writer.write(response).catch(() => undefined).finally(() => this.hooks?.settled());
  }
}
