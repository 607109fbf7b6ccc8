import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AbstractMessageReader, AbstractMessageWriter, Disposable } from 'vscode-jsonrpc/node';
import type { DataCallback, Message } from 'vscode-jsonrpc/node';
import { ErrorCodes } from './errors.js';
import { DEFAULT_MAX_JSON_DEPTH, depthReason, jsonTooDeep } from './json-depth.js';
import { envelopeOf, type Envelope } from './message-envelope.js';

/** 64 MiB (`limits.maxMessageBytes`): a longer line is refused, not buffered for ever. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** How much of a refused line's start and end is kept to find its id and method. */
const ENVELOPE_CHARS = 4096;

/** The error a refused message is answered with (or, for a response, replaced by). */
export interface RefusalError { code: number; message: string }

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
  /** Deepest array/object nesting accepted (default DEFAULT_MAX_JSON_DEPTH). */
  maxDepth?: number;
  /**
   * A request refused for its size or depth, whose id could be read: answer it with this
   * error, or the caller waits for ever. (A refused response is delivered as an error
   * response to its id, so the call it answers fails with the reason.)
   */
  onRefusedRequest?: (id: string | number, error: RefusalError) => void;
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
  /** The start and the latest end of the oversized line being skipped, and its length so far. */
  private skippedHead = '';
  private skippedTail = '';
  private skippedLength = 0;
  private readonly maxLine: number;
  private readonly maxDepth: number;
  /** Shorter lines cannot nest deeper than maxDepth: the hot path skips the depth scan. */
  private readonly deepFrom: number;

  constructor(private readonly stream: Readable, private readonly options: NdjsonReaderOptions = {}) {
    super();
    this.maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.deepFrom = 2 * (this.maxDepth + 1);
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
      if (this.skippingOversized) {
        this.skippingOversized = false;
        this.refuseOversized(this.skippedHead, (this.skippedTail + line).slice(-ENVELOPE_CHARS), this.skippedLength + line.length, callback);
        continue;
      }
      // A long line that arrived complete (one chunk, or its last piece) was never checked below.
      if (line.length > this.maxLine) {
        this.refuseOversized(line.slice(0, ENVELOPE_CHARS), line.slice(-ENVELOPE_CHARS), line.length, callback);
        continue;
      }
      this.deliver(line, callback);
    }
    if (start < text.length) {
      const rest = text.slice(start);
      if (this.skippingOversized) {
        this.skippedTail = (this.skippedTail + rest).slice(-ENVELOPE_CHARS);
        this.skippedLength += rest.length;
        return;
      }
      this.pending.push(rest);
      this.pendingLength += rest.length;
      if (this.pendingLength > this.maxLine) {
        const line = this.pending.join('');
        this.pending = [];
        this.pendingLength = 0;
        this.skippingOversized = true;
        this.skippedHead = line.slice(0, ENVELOPE_CHARS);
        this.skippedTail = line.slice(-ENVELOPE_CHARS);
        this.skippedLength = line.length;
      }
    }
  }

  private refuseOversized(head: string, tail: string, length: number, callback: DataCallback): void {
    this.skippedHead = '';
    this.skippedTail = '';
    const reason = `is ${length} bytes, over limits.maxMessageBytes (${this.maxLine})`;
    this.options.onInvalidLine?.(`${head.slice(0, 200)}…`, `line longer than ${this.maxLine} bytes (limits.maxMessageBytes)`);
    this.refuse(envelopeOf(head, tail), reason, callback);
  }

  /**
   * Answers what a refused line was: a response becomes an error response to its id (the
   * call it answers fails, naming the limit); a request goes to onRefusedRequest.
   */
  private refuse(envelope: Envelope, reason: string, callback: DataCallback): void {
    if (envelope.id === undefined) return;
    if (envelope.kind === 'request') {
      this.options.onRefusedRequest?.(envelope.id, { code: ErrorCodes.MessageLimitExceeded, message: `${envelope.method ?? 'the request'}: the request ${reason}` });
    } else if (envelope.kind === 'response') {
      const error = { code: ErrorCodes.MessageLimitExceeded, message: `the response ${reason}` };
      const message = { jsonrpc: '2.0', id: envelope.id, error } as Message;
      if (!this.options.intercept?.(message)) callback(message);
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
    // JSON.parse copes with any depth (it is not recursive); what handles the value next is.
    if (line.length >= this.deepFrom && jsonTooDeep(line, this.maxDepth)) {
      const m = message as { id?: unknown; method?: unknown };
      const reason = depthReason(this.maxDepth);
      this.options.onInvalidLine?.(`${line.slice(0, 200)}…`, `line ${reason}`);
      const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined;
      const method = typeof m.method === 'string' ? m.method : undefined;
      this.refuse({ id, kind: method !== undefined ? 'request' : 'response', ...(method !== undefined ? { method } : {}) }, reason, callback);
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
