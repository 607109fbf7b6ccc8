import { ErrorCodes as RpcErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import type { Message, MessageWriter } from 'vscode-jsonrpc/node';

export type DirectReply = { ok: true; result: unknown } | { ok: false; error: ResponseError<unknown> };

/**
 * Requests sent and matched past vscode-jsonrpc: their responses are taken in the reader's
 * `intercept`, synchronously as they are read. vscode-jsonrpc dispatches one incoming
 * message per setImmediate, so each response used to cost an event-loop turn (and every
 * turn a pipe write). The runtime sends its components/* requests this way, the SDK its
 * callbacks. Ids are strings (`prefix` + a counter): vscode-jsonrpc's own ids are numbers,
 * so the two never collide, and every response to a string id is taken here.
 */
export class DirectCalls {
  private next = 0;
  private readonly pending = new Map<string, (reply: DirectReply) => void>();

  constructor(private readonly writer: MessageWriter, private readonly prefix: string) {}

  /** Sends a request; `onReply` is called once, unless the call is dropped first. Returns its id. */
  send(method: string, params: unknown, onReply: (reply: DirectReply) => void): string {
    const id = `${this.prefix}${++this.next}`;
    this.pending.set(id, onReply);
    // As vscode-jsonrpc does: a request that could not be written fails with MessageWriteError.
    this.writer.write({ jsonrpc: '2.0', id, method, params } as Message).catch((error: unknown) => {
      const message = (error as Error | undefined)?.message || 'Unknown reason';
      this.settle(id, { ok: false, error: new ResponseError(RpcErrorCodes.MessageWriteError, message) });
    });
    return id;
  }

  /** Tells the other side to stop ($/cancelRequest); the call still waits for its answer. */
  cancel(id: string): void {
    if (!this.pending.has(id)) return;
    this.writer.write({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } } as Message).catch(() => undefined);
  }

  /** Forgets a call (it settled some other way); with `cancel`, tells the server ($/cancelRequest). */
  drop(id: string, cancel = false): void {
    if (cancel) this.cancel(id);
    this.pending.delete(id);
  }

  /** Fails every call still waiting (the connection went away). */
  failAll(error: ResponseError<unknown>): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const onReply of waiting) onReply({ ok: false, error });
  }

  /** For the reader's intercept: consumes responses to string ids (ours), late ones included. */
  readonly intercept = (message: Message): boolean => {
    const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (typeof m.id !== 'string' || m.method !== undefined || (m.result === undefined && !m.error)) return false;
    if (m.error) this.settle(m.id, { ok: false, error: new ResponseError(m.error.code, m.error.message, m.error.data) });
    else this.settle(m.id, { ok: true, result: m.result });
    return true;
  };

  private settle(id: string, reply: DirectReply): void {
    const onReply = this.pending.get(id);
    if (!onReply) return; // cancelled, timed out or failed already: nobody waits any more
    this.pending.delete(id);
    onReply(reply);
  }
}
