import { ResponseError } from 'vscode-jsonrpc/node';
import type { Message, MessageWriter } from 'vscode-jsonrpc/node';

export type DirectReply = { ok: true; result: unknown } | { ok: false; error: ResponseError<unknown> };

/**
 * The runtime's own requests to a component server (NDJSON framing), sent and matched
 * past vscode-jsonrpc: their responses are taken in the reader's `intercept`, synchronously
 * as they are read. vscode-jsonrpc dispatches one incoming message per setImmediate, so each
 * response of a batch used to cost an event-loop turn (and every turn a pipe write). Ids are
 * strings ("w1", "w2", …): vscode-jsonrpc's own ids are numbers, so the two never collide.
 * Everything else (the handshake, the server's runs/* and blobs/* calls) stays on the
 * MessageConnection.
 */
export class DirectCalls {
  private next = 0;
  private readonly pending = new Map<string, (reply: DirectReply) => void>();

  constructor(private readonly writer: MessageWriter) {}

  /** Sends a request; `onReply` is called once, unless the call is dropped first. Returns its id. */
  send(method: string, params: unknown, onReply: (reply: DirectReply) => void): string {
    const id = `w${++this.next}`;
    this.pending.set(id, onReply);
    // A failed write surfaces through the writer's onError (the connection kills the process).
    this.writer.write({ jsonrpc: '2.0', id, method, params } as Message).catch(() => undefined);
    return id;
  }

  /** Forgets a call (it settled some other way); with `cancel`, tells the server ($/cancelRequest). */
  drop(id: string, cancel = false): void {
    if (!this.pending.delete(id) || !cancel) return;
    this.writer.write({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } } as Message).catch(() => undefined);
  }

  /** For NdjsonMessageReader's `intercept`: consumes responses to string ids (ours), late ones included. */
  readonly intercept = (message: Message): boolean => {
    const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (typeof m.id !== 'string' || m.method !== undefined || (m.result === undefined && !m.error)) return false;
    const onReply = this.pending.get(m.id);
    if (!onReply) return true; // cancelled or timed out: nobody waits any more
    this.pending.delete(m.id);
    if (m.error) onReply({ ok: false, error: new ResponseError(m.error.code, m.error.message, m.error.data) });
    else onReply({ ok: true, result: m.result });
    return true;
  };
}
