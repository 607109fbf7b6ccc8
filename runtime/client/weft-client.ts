import type { BlobId, RunState, RunStatus } from '../../protocol/index.js';
import { isTerminalRunState } from '../../protocol/index.js';
import type {
  BlobResponse, ComponentListing, FlowSummary, ForkRunRequest, GetRunOptions, RunPage, SubmitRunRequest, WeftEvent,
} from './client-types.js';
import { followEvents, type FollowOptions } from './follow-events.js';
import { WeftHttpError } from './weft-http-error.js';

export interface WeftClientOptions {
  /** Base URL of `weft serve`, e.g. `http://127.0.0.1:7837`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * A typed client for `weft serve`: one method per endpoint, errors as WeftHttpError.
 *
 *   const client = new WeftClient({ url: 'http://127.0.0.1:7837' });
 *   const run = await client.submit({ flowId, inputs: [{ x: 1 }] });
 *   for await (const e of client.events(run.runId)) console.log(e.type);
 */
export class WeftClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: WeftClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  health(): Promise<{ status: string }> { return this.request('GET', '/health'); }

  /** Stores a flow: an object (sent as JSON) or YAML/JSON text. Invalid flows throw with `data.diagnostics`. */
  putFlow(flow: object | string): Promise<{ flowId: BlobId }> {
    return typeof flow === 'string'
      ? this.request('POST', '/flows', flow, 'application/yaml')
      : this.request('POST', '/flows', flow);
  }

  async listFlows(): Promise<FlowSummary[]> { return (await this.request<{ flows: FlowSummary[] }>('GET', '/flows')).flows; }

  getFlow(flowId: string): Promise<{ flowId: BlobId; flow: Record<string, unknown> }> {
    return this.request('GET', `/flows/${encodeURIComponent(flowId)}`);
  }

  /** Starts a run; with `wait: true` resolves when it has finished (results by index). */
  submit(request: SubmitRunRequest): Promise<RunStatus> { return this.request('POST', '/runs', request); }

  listRuns(filter: { status?: RunState; limit?: number; offset?: number } = {}): Promise<RunPage> {
    return this.request('GET', `/runs${query(filter)}`);
  }

  /** A run's status; with `wait`, after it finished or `timeoutSecs` passed (check `status`). */
  getRun(runId: string, opts: GetRunOptions = {}): Promise<RunStatus> {
    return this.request('GET', `/runs/${encodeURIComponent(runId)}${query(opts)}`);
  }

  cancel(runId: string, opts: { purge?: boolean } = {}): Promise<RunStatus & { purged: boolean }> {
    return this.request('POST', `/runs/${encodeURIComponent(runId)}/cancel`, { ...(opts.purge ? { purge: true } : {}) });
  }

  fork(runId: string, request: ForkRunRequest): Promise<RunStatus> {
    return this.request('POST', `/runs/${encodeURIComponent(runId)}/fork`, request);
  }

  /** Supplies a human's input to a paused step; a value not matching its schema throws (400, `data.issues`). */
  sendInput(runId: string, itemIndex: number, stepId: string, value: unknown): Promise<{ status: 'sent' }> {
    return this.request('POST', `/runs/${encodeURIComponent(runId)}/events`, { itemIndex, stepId, value });
  }

  /**
   * Every event of a run from `since` on, ending after `run_completed`; reconnects with
   * Last-Event-ID when the connection drops (e.g. the server restarts). `types`, `stream`
   * and `itemIndex` narrow it, as the endpoint's query does.
   */
  events(runId: string, opts: FollowOptions = {}): AsyncGenerator<WeftEvent, void, undefined> {
    const q = new URLSearchParams();
    if (opts.types) q.set('types', opts.types.join(','));
    if (opts.stream !== undefined) q.set('stream', opts.stream);
    if (opts.itemIndex !== undefined) q.set('itemIndex', String(opts.itemIndex));
    const query = q.size > 0 ? `?${q}` : '';
    return followEvents({
      open: (lastEventId, signal) => this.fetchFn(`${this.base}/runs/${encodeURIComponent(runId)}/events${query}`, {
        headers: { ...this.auth(), accept: 'text/event-stream', ...(lastEventId > 0 ? { 'last-event-id': String(lastEventId) } : {}) },
        signal,
      }),
      isFinished: async () => isTerminalRunState((await this.getRun(runId)).status),
    }, opts);
  }

  putBlob(data: unknown): Promise<{ blobId: BlobId }> { return this.request('POST', '/blobs', { data }); }

  getBlob(blobId: string): Promise<BlobResponse> { return this.request('GET', `/blobs/${encodeURIComponent(blobId)}`); }

  async components(): Promise<ComponentListing[]> {
    return (await this.request<{ components: ComponentListing[] }>('GET', '/components')).components;
  }

  private auth(): Record<string, string> {
    return this.options.token ? { authorization: `Bearer ${this.options.token}` } : {};
  }

  private async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { ...this.auth(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    const res = await this.fetchFn(`${this.base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const json = text ? parseJson(text) : undefined;
    if (!res.ok) {
      const error = (json as { error?: { message?: string; code?: number | string; data?: unknown } } | undefined)?.error;
      throw new WeftHttpError(res.status, error?.message ?? `${method} ${path}: HTTP ${res.status}`, error?.code, error?.data);
    }
    return json as T;
  }
}

function query(params: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 500) } };
  }
}
