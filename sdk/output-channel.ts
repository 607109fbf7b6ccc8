import type { Message, MessageWriter } from 'vscode-jsonrpc/node';
import { OutputsEmit, OutputsTaken } from '../protocol/methods/outputs.js';
import type { OutputsEmitParams } from '../protocol/types/output.js';

interface Waiter { seq: number; wake: () => void; fail: (error: Error) => void }

/**
 * The outputs/emit notifications of one connection, numbered, and the runtime's
 * outputs/taken answers to them. A notification has no response: `seq` is what lets the
 * runtime say "taken through N" once per commit, and lets a writer wait for that
 * (ExecutionContext keeps a window of chunks in flight on it).
 */
export class OutputChannel {
  private seq = 0;
  private taken = 0;
  private waiters: Waiter[] = [];
  private closedWith: Error | undefined;

  constructor(private readonly writer: MessageWriter) {}

  /** Sends one chunk; returns its seq. */
  send(params: Omit<OutputsEmitParams, 'seq'>): number {
    if (this.closedWith) throw this.closedWith;
    const seq = ++this.seq;
    // Written in order with everything else on the pipe, so a chunk always reaches the
    // runtime before the answer of the execution that emitted it.
    this.writer.write({ jsonrpc: '2.0', method: OutputsEmit.method, params: Object.assign({ seq }, params) } as Message)
      .catch((error: unknown) => this.close(error instanceof Error ? error : new Error(String(error))));
    return seq;
  }

  /** Resolves once the runtime has taken every chunk up to `seq`; rejects if `signal` aborts first. */
  whenTaken(seq: number, signal: AbortSignal): Promise<void> {
    if (seq <= this.taken) return Promise.resolve();
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => { this.waiters = this.waiters.filter((w) => w !== waiter); reject(signal.reason as Error); };
      const waiter: Waiter = {
        seq,
        wake: () => { signal.removeEventListener('abort', onAbort); resolve(); },
        fail: (error) => { signal.removeEventListener('abort', onAbort); reject(error); },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  get takenThrough(): number { return this.taken; }

  /** For the reader's intercept: consumes outputs/taken. */
  readonly intercept = (message: Message): boolean => {
    const m = message as { method?: unknown; id?: unknown; params?: { through?: unknown } };
    if (m.method !== OutputsTaken.method || m.id !== undefined) return false;
    const through = m.params?.through;
    if (typeof through === 'number' && through > this.taken) {
      this.taken = through;
      const due = this.waiters.filter((w) => w.seq <= through);
      if (due.length > 0) {
        this.waiters = this.waiters.filter((w) => w.seq > through);
        for (const w of due) w.wake();
      }
    }
    return true;
  };

  /** The connection is gone: nothing can be taken any more. */
  close(error: Error): void {
    this.closedWith ??= error;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.fail(this.closedWith);
  }
}
