import type { Message, MessageWriter, ResponseMessage } from 'vscode-jsonrpc/node';
import { handlerError } from '../../protocol/handler-error.js';
import type { CallbackHandler } from './serve-callbacks.js';

type RequestId = string | number;

/**
 * A component server's callbacks (runs/*, blobs/*, inputs/await), answered from the NDJSON
 * reader's `intercept` as they are read: on the connection each request first waited for
 * vscode-jsonrpc's per-message setImmediate, an event-loop turn on every runs/submit of a
 * component. Answers are those of serveCallbacks, shaped as vscode-jsonrpc shapes them, and
 * a `$/cancelRequest` for one of them aborts its caller's signal. Requests whose params are
 * not an object (vscode-jsonrpc has its own answers for those) and every other method are
 * left to the connection.
 */
export class DirectCallbacks {
  /** Callbacks being answered, by request id: what a $/cancelRequest aborts. */
  private readonly running = new Map<RequestId, AbortController>();
  private disposed = false;

  constructor(private readonly writer: MessageWriter, private readonly callbacks: Map<string, CallbackHandler>) {}

  readonly intercept = (message: Message): boolean => {
    if (this.disposed) return false;
    const m = message as { id?: unknown; method?: unknown; params?: unknown };
    if (m.method === '$/cancelRequest') return this.cancel((m.params as { id?: unknown } | undefined)?.id);
    const handle = typeof m.method === 'string' ? this.callbacks.get(m.method) : undefined;
    if (!handle || (typeof m.id !== 'string' && typeof m.id !== 'number') || this.running.has(m.id)) return false;
    if (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params)) return false;
    this.answer(m.id, m.method as string, handle, m.params);
    return true;
  };

  /** Stops answering (the process is gone): replies still due are not written. */
  dispose(): void {
    this.disposed = true;
    this.running.clear();
  }

  private answer(id: RequestId, method: string, handle: CallbackHandler, params: unknown): void {
    const controller = new AbortController();
    this.running.set(id, controller);
    handle(params, () => controller.signal).then(
      (result) => this.reply({ jsonrpc: '2.0', id, result: result ?? null }, id),
      (error: unknown) => this.reply({ jsonrpc: '2.0', id, error: handlerError(method, error).toJson() }, id),
    );
  }

  private cancel(id: unknown): boolean {
    const controller = this.running.get(id as RequestId);
    if (!controller) return false; // not ours, or answered already: the connection deals with it
    controller.abort();
    return true;
  }

  private reply(response: ResponseMessage, id: RequestId): void {
    if (this.disposed) return;
    this.running.delete(id);
    // A failed write surfaces through the writer's onError (the connection kills the process).
    this.writer.write(response).catch(() => undefined);
  }
}
