import { ResponseError } from 'vscode-jsonrpc/node';
import type { CancellationToken, MessageConnection } from 'vscode-jsonrpc/node';
import { BlobsGet, BlobsPut, InputsAwait, RunsGet, RunsSubmit } from '../protocol/index.js';
import type {
  BlobId, BlobType, ComponentExecuteParams, GetRunParams, ObservabilityContext, RunStatus, SubmitRunParams,
} from '../protocol/index.js';
import { RuntimeCallError } from './runtime-call-error.js';

/** runs/submit params as a component writes them; observability is filled in by the context. */
export type SubmitRunOptions = Omit<SubmitRunParams, 'observability'>;
/** runs/get params as a component writes them; observability is filled in by the context. */
export type GetRunOptions = Omit<GetRunParams, 'observability'>;
export interface AwaitInputOptions { prompt: string; schema?: unknown }

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

  constructor(
    private readonly connection: MessageConnection,
    params: ComponentExecuteParams,
    private readonly token: CancellationToken,
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
    const result = await this.call(BlobsPut.method,
      () => this.connection.sendRequest(BlobsPut, { data: wire, blob_type: type, observability: this.observability }, this.token));
    return result.blob_id;
  }

  async getBlob<T = unknown>(id: string): Promise<T> {
    const result = await this.call(BlobsGet.method,
      () => this.connection.sendRequest(BlobsGet, { blob_id: id, observability: this.observability }, this.token));
    if (result.blob_type === 'binary' && typeof result.data === 'string') return new Uint8Array(Buffer.from(result.data, 'base64')) as T;
    return result.data as T;
  }

  submitRun(options: SubmitRunOptions): Promise<RunStatus> {
    return this.call(RunsSubmit.method,
      () => this.connection.sendRequest(RunsSubmit, { ...options, observability: this.observability }, this.token));
  }

  getRun(options: GetRunOptions): Promise<RunStatus> {
    return this.call(RunsGet.method,
      () => this.connection.sendRequest(RunsGet, { ...options, observability: this.observability }, this.token));
  }

  async awaitInput<T = unknown>(options: AwaitInputOptions): Promise<T> {
    const result = await this.call(InputsAwait.method,
      () => this.connection.sendRequest(InputsAwait, { ...options, observability: this.observability }, this.token));
    return result.value as T;
  }

  /** Aborts `signal` (a cancel from the runtime, or the connection going away). */
  abort(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error(reason));
  }

  /** Stops forwarding cancellation once the request has been answered. */
  dispose(): void {
    this.abortOnCancel.dispose();
  }

  /** Runs one callback; a JSON-RPC error becomes a RuntimeCallError naming the method. */
  private async call<R>(method: string, send: () => Promise<R>): Promise<R> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ResponseError) throw new RuntimeCallError(method, error.code, error.message, error.data);
      throw error;
    }
  }
}
