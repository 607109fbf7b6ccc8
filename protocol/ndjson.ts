import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AbstractMessageReader, AbstractMessageWriter, Disposable } from 'vscode-jsonrpc/node';
import type { DataCallback, Message } from 'vscode-jsonrpc/node';

/** 64 MiB: a line longer than this is dropped (reported as invalid), not buffered forever. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface NdjsonReaderOptions {
  maxLineBytes?: number;
  /** Called for a line that is not a JSON object (e.g. a stray print()); the stream goes on. */
  onInvalidLine?: (line: string, reason: string) => void;
  /**
   * Sees each message first, synchronously as it is read; returning true consumes it. The
   * runtime answers its own requests' responses here: vscode-jsonrpc dispatches one
   * incoming message per setImmediate, an event-loop turn per response on the hot path.
   */
  intercept?: (message: Message) => boolean;
}

/**
 * Reads newline-delimited JSON-RPC messages (Stepflow's stdio framing): one compact
 * JSON object per `\n`-terminated line; blank lines and a trailing `\r` are ignored.
 * A line that is not a JSON object is reported through `onInvalidLine` and skipped,
 * so a component server that prints garbage does not take the connection down.
 */
export class NdjsonMessageReader extends AbstractMessageReader {
  private readonly decoder = new StringDecoder('utf8');
  private pending: string[] = [];
  private pendingLength = 0;
  private skippingOversized = false;
  private readonly maxLine: number;

  constructor(private readonly stream: Readable, private readonly options: NdjsonReaderOptions = {}) {
    super();
    this.maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    stream.on('error', (error: Error) => this.fireError(error));
    stream.on('close', () => this.fireClose());
  }

  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
      this.consume(text, callback);
    };
    this.stream.on('data', onData);
    return Disposable.create(() => this.stream.off('data', onData));
  }

  private consume(text: string, callback: DataCallback): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      let line = text.slice(start, nl);
      start = nl + 1;
      if (this.pending.length > 0) {
        this.pending.push(line);
        line = this.pending.join('');
        this.pending = [];
        this.pendingLength = 0;
      }
      if (this.skippingOversized) { this.skippingOversized = false; continue; }
      // A long line that arrived complete (one chunk, or its last piece) was never checked below.
      if (line.length > this.maxLine) {
        this.options.onInvalidLine?.(`${line.slice(0, 200)}…`, `line longer than ${this.maxLine} bytes`);
        continue;
      }
      this.deliver(line, callback);
    }
    if (start < text.length && !this.skippingOversized) {
      const rest = text.slice(start);
      this.pendingLength += rest.length;
      if (this.pendingLength > this.maxLine) {
        this.pending = [];
        this.pendingLength = 0;
        this.skippingOversized = true;
        this.options.onInvalidLine?.(`${rest.slice(0, 200)}…`, `line longer than ${this.maxLine} bytes`);
      } else {
        this.pending.push(rest);
      }
    }
  }

  private deliver(raw: string, callback: DataCallback): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this.options.onInvalidLine?.(line, `not JSON: ${(error as Error).message}`);
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.options.onInvalidLine?.(line, 'not a JSON-RPC message object');
      return;
    }
    if (this.options.intercept?.(message as Message)) return;
    callback(message as Message);
  }
}

/**
 * Writes one compact JSON message per line. Messages written in the same tick are
 * joined into one string and written once when the tick ends (sooner once they exceed
 * the stream's highWaterMark): per-message pipe writes are the main cost of JSON-RPC over
 * stdio. `params` is always present on
 * requests and notifications, as Stepflow's Python SDK requires.
 */
export class NdjsonMessageWriter extends AbstractMessageWriter {
  /** The lines of this tick, written as one string when it ends. */
  private batch = '';
  private scheduled = false;
  private blocked = false;
  private readonly waiting: Array<() => void> = [];
  private errorCount = 0;

  constructor(private readonly stream: Writable) {
    super();
    stream.on('error', (error: Error) => this.fireError(error, undefined, ++this.errorCount));
    stream.on('close', () => this.fireClose());
    stream.on('drain', () => {
      this.blocked = false;
      while (!this.blocked && this.waiting.length > 0) this.waiting.shift()!();
    });
  }

  write(msg: Message): Promise<void> {
    if (this.blocked) return new Promise((resolve) => this.waiting.push(() => { this.send(msg); resolve(); }));
    this.send(msg);
    return Promise.resolve();
  }

  // One string per tick rather than a corked stream: a writev of many small strings cost
  // ~20% of the runtime's CPU in the batch benchmark; one joined string is one cheap write.
  private send(msg: Message): void {
    if ('method' in msg && (msg as { params?: unknown }).params === undefined) (msg as { params?: unknown }).params = {};
    this.batch += `${JSON.stringify(msg)}\n`;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushBatch);
    }
    // A large batch goes at once, so backpressure is seen before more is serialised.
    if (this.batch.length >= this.stream.writableHighWaterMark) this.flushBatch();
  }

  private readonly flushBatch = (): void => {
    this.scheduled = false;
    if (this.batch === '') return;
    const text = this.batch;
    this.batch = '';
    if (!this.stream.write(text)) this.blocked = true;
  };

  end(): void {
    this.flushBatch();
    this.stream.end();
  }
}
