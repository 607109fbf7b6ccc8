import { ResponseError } from 'vscode-jsonrpc/node';
import type { CancellationToken, RequestType } from 'vscode-jsonrpc/node';
import { BlobsGet, BlobsPut } from '../protocol/methods/blobs.js';
import { InputsAwait, RunsGet, RunsSubmit } from '../protocol/methods/runs.js';
import type {
  BlobId, BlobType, ComponentExecuteParams, GetRunParams, ObservabilityContext, RunStatus, SubmitRunParams,
} from '../protocol/index.js';
import { DEFAULT_OUTPUT_STREAM } from '../protocol/types/output.js';
import type { OutputEncoding, OutputsEmitParams } from '../protocol/types/output.js';
import type { OutputChannel } from './output-channel.js';
import { RuntimeCallError } from './runtime-call-error.js';
import type { RuntimeCalls } from './runtime-calls.js';

/** runs/submit params as a component writes them; observability is filled in by the context. */
export type SubmitRunOptions = Omit<SubmitRunParams, 'observability'>;
/** runs/get params as a component writes them; observability is filled in by the context. */
export type GetRunOptions = Omit<GetRunParams, 'observability'>;
export interface AwaitInputOptions { prompt: string; schema?: unknown }
/** Where a chunk goes: a named stream of the step (default `default`). */
export interface EmitOptions { stream?: string }

/** Chunks of one execution sent but not yet taken, before `emit` / `write()` waits (default). */
export const DEFAULT_OUTPUT_WINDOW = 64;
const STREAM_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** What a component handler gets besides its input: who is executing, and calls back into the runtime. */
export interface ComponentContext {
  /** The component path this call was addressed to, e.g. `/double`. */
  readonly component: string;
  /** 1-based; greater than 1 when the runtime retries the step (e.g. after a crash). */
  readonly attempt: number;
  /** As sent with components/execute; forwarded with every callback. */
  readonly observability: ObservabilityContext;
  readonly runId?: string;
  readonly flowId?: string;
  readonly stepId?: string;
  readonly itemIndex?: number;
  /** Aborted when the runtime cancels this request (`$/cancelRequest`). */
  readonly signal: AbortSignal;
  /** Stores a blob; `binary` data (a Uint8Array) travels as base64. */
  putBlob(data: unknown, type?: BlobType): Promise<BlobId>;
  /** The blob's data (a Uint8Array for `binary` blobs). */
  getBlob<T = unknown>(id: string): Promise<T>;
  /** Starts a run of a stored flow (`flowId`) over `inputs`; with `wait: true`, resolves when it ends. */
  submitRun(options: SubmitRunOptions): Promise<RunStatus>;
  getRun(options: GetRunOptions): Promise<RunStatus>;
  /** Pauses this item until a human supplies a value (matching `schema` if given). */
  awaitInput<T = unknown>(options: AwaitInputOptions): Promise<T>;
  /**
   * Streams a chunk of this step's output to the run's readers while the step runs: a string
   * travels as text, a Uint8Array as bytes, anything else as JSON. Resolves once the runtime
   * has taken it, or (so that a fast writer is not held to one round trip per chunk) once
   * fewer than the window's chunks are still untaken: at most that many are ever in flight.
   */
  emit(chunk: unknown, options?: EmitOptions): Promise<void>;
  /** Resolves once the runtime has taken every chunk emitted so far. */
  flush(): Promise<void>;
  /** A WritableStream of the default stream: `write()` is `emit`, `close()` is `flush`. */
  readonly writable: WritableStream<unknown>;
  /** A WritableStream of the named stream. */
  getWritable(options?: EmitOptions): WritableStream<unknown>;
}

/**
 * The context of one components/execute request. Callbacks travel on the same
 * connection, carry this execution's observability (so the runtime knows which
 * run/item/step is calling), and are cancelled along with it.
 */
export class ExecutionContext implements ComponentContext {
  readonly component: string;
  readonly attempt: number;
  readonly observability: ObservabilityContext;
  readonly signal: AbortSignal;
  private readonly abortOnCancel: { dispose(): void };
  private readonly controller = new AbortController();
  /** Seqs of this execution's chunks not yet known to be taken, oldest first. */
  private untaken: number[] = [];
  private ended = false;
  private defaultWritable: WritableStream<unknown> | undefined;

  constructor(
    private readonly calls: RuntimeCalls,
    params: ComponentExecuteParams,
    private readonly token: CancellationToken,
    private readonly outputs?: OutputChannel,
    private readonly window = DEFAULT_OUTPUT_WINDOW,
  ) {
    this.component = params.component;
    this.attempt = params.attempt ?? 1;
    this.observability = params.observability ?? {};
    this.signal = this.controller.signal;
    const abort = () => this.abort(`components/execute of '${params.component}' was cancelled by the runtime`);
    if (token.isCancellationRequested) abort();
    this.abortOnCancel = token.onCancellationRequested(abort);
  }

  get runId(): string | undefined { return this.observability.run_id ?? undefined; }
  get flowId(): string | undefined { return this.observability.flow_id ?? undefined; }
  get stepId(): string | undefined { return this.observability.step_id ?? undefined; }
  get itemIndex(): number | undefined { return this.observability.item_index ?? undefined; }

  async putBlob(data: unknown, type: BlobType = 'data'): Promise<BlobId> {
    const wire = type === 'binary' && data instanceof Uint8Array ? Buffer.from(data).toString('base64') : data;
    return (await this.call(BlobsPut, { data: wire, blob_type: type })).blob_id;
  }

  async getBlob<T = unknown>(id: string): Promise<T> {
    const result = await this.call(BlobsGet, { blob_id: id });
    if ((result.encoding === 'base64' || result.blob_type === 'binary') && typeof result.data === 'string') return new Uint8Array(Buffer.from(result.data, 'base64')) as T;
    return result.data as T;
  }

  submitRun(options: SubmitRunOptions): Promise<RunStatus> {
    return this.call(RunsSubmit, options);
  }

  getRun(options: GetRunOptions): Promise<RunStatus> {
    return this.call(RunsGet, options);
  }

  async awaitInput<T = unknown>(options: AwaitInputOptions): Promise<T> {
    return (await this.call(InputsAwait, options)).value as T;
  }

  async emit(chunk: unknown, options: EmitOptions = {}): Promise<void> {
    const outputs = this.outputs;
    if (!outputs) throw new Error('ctx.emit: this context is not connected to a runtime');
    if (this.ended) throw new Error(`ctx.emit: the execution of '${this.component}' has ended; emit before the handler returns`);
    if (this.signal.aborted) throw this.signal.reason as Error;
    const stream = options.stream;
    if (stream !== undefined && (typeof stream !== 'string' || !STREAM_NAME.test(stream))) {
      throw new TypeError(`ctx.emit: stream ${JSON.stringify(stream)} must be 1-128 characters of A-Z a-z 0-9 _ . : -`);
    }
    const params: Omit<OutputsEmitParams, 'seq'> = { attempt: this.attempt, chunk: null, observability: this.observability };
    let encoding: OutputEncoding = 'json';
    if (typeof chunk === 'string') { encoding = 'text'; params.chunk = chunk; }
    else if (chunk instanceof Uint8Array) { encoding = 'base64'; params.chunk = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64'); }
    else params.chunk = chunk === undefined ? null : chunk;
    if (encoding !== 'json') params.encoding = encoding;
    if (stream !== undefined && stream !== DEFAULT_OUTPUT_STREAM) params.stream = stream;
    const untaken = this.untaken;
    untaken.push(outputs.send(params));
    const taken = outputs.takenThrough;
    if (untaken[0] <= taken) this.untaken = untaken.filter((seq) => seq > taken);
    const n = this.untaken.length;
    if (n >= this.window) await outputs.whenTaken(this.untaken[n - this.window], this.signal);
  }

  async flush(): Promise<void> {
    const last = this.untaken[this.untaken.length - 1];
    if (last !== undefined && this.outputs) await this.outputs.whenTaken(last, this.signal);
    this.untaken = [];
  }

  get writable(): WritableStream<unknown> {
    return (this.defaultWritable ??= this.getWritable());
  }

  getWritable(options: EmitOptions = {}): WritableStream<unknown> {
    return new WritableStream<unknown>({
      write: (chunk) => this.emit(chunk, options),
      close: () => this.flush(),
    });
  }

  /** Aborts `signal` (a cancel from the runtime, or the connection going away). */
  abort(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error(reason));
  }

  /** Stops forwarding cancellation once the request has been answered. */
  dispose(): void {
    this.ended = true;
    this.abortOnCancel.dispose();
  }

  /**
   * Runs one callback with this execution's observability, cancelled along with it; a
   * JSON-RPC error becomes a RuntimeCallError naming the method.
   */
  private async call<P extends { observability?: ObservabilityContext | null }, R>(type: RequestType<P, R, void>, params: Omit<P, 'observability'>): Promise<R> {
    try {
      // Object.assign, not `{ ...params, observability }`: V8 copies a spread followed by more properties on a slow path.
      return await this.calls.request(type, Object.assign({}, params, { observability: this.observability }) as P, this.token);
    } catch (error) {
      if (error instanceof ResponseError) throw new RuntimeCallError(type.method, error.code, error.message, error.data);
      throw error;
    }
  }
}
