import { Message } from 'vscode-jsonrpc/node';
import type { MessageReader, MessageStrategy } from 'vscode-jsonrpc/node';
import { interceptReader } from './intercept-reader.js';

type HandleResult = ReturnType<MessageStrategy['handleMessage']>;

/**
 * Counts the requests a connection has received, dispatched and answered, so a server
 * whose stdin has ended can finish (and answer) the work already sent before it exits.
 * vscode-jsonrpc queues incoming messages and dispatches them one per macrotask, so
 * "received" and "dispatched" differ for a moment after a burst.
 */
export class RequestTracker implements MessageStrategy {
  private received = 0;
  private dispatched = 0;
  private settled = 0;
  private readonly onSettled: Array<() => void> = [];

  /** The same reader, counting requests as they arrive. */
  wrap(reader: MessageReader): MessageReader {
    return interceptReader(reader, (message) => {
      if (Message.isRequest(message)) this.received++;
      return false;
    });
  }

  handleMessage(message: Message, next: (message: Message) => HandleResult): HandleResult {
    if (!Message.isRequest(message)) return next(message);
    this.dispatched++;
    // `next` resolves once the response has been handed to the writer.
    return Promise.resolve(next(message)).finally(() => this.settle());
  }

  private settle(): void {
    this.settled++;
    for (const wake of this.onSettled.splice(0)) wake();
  }

  /** Hooks for requests answered past the connection (DirectExecutes). */
  readonly direct = {
    dispatched: (): void => { this.dispatched++; },
    settled: (): void => { this.settle(); },
  };

  /** Resolves once every request received so far has reached its handler. */
  async allDispatched(): Promise<void> {
    while (this.dispatched < this.received) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Resolves once every dispatched request has been answered. */
  async allSettled(): Promise<void> {
    while (this.settled < this.dispatched) await new Promise<void>((resolve) => this.onSettled.push(resolve));
  }
}
