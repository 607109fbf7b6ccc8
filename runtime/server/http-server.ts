import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { BlobId, Flow, RunStatus } from '../../protocol/index.js';
import {
  DEFAULT_MAX_JSON_DEPTH, ErrorCodes, ProtocolError, isTerminalRunState, jsonTooDeep, normalizeBlobId, tooDeepMessage, yamlTooDeep,
} from '../../protocol/index.js';
import type { Runtime } from '../api/runtime.js';
import { writeStatus } from '../api/write-status.js';
import { bearerAuth } from './bearer-auth.js';
import { checkBody } from './check-body.js';
import { errorResponse } from './error-response.js';
import { EventStreams } from './event-stream.js';
import { parseFlowBody } from './flow-body.js';
import { HttpError } from './http-error.js';
import { isLoopbackHost } from './is-loopback-host.js';
import { registerDebugPage } from './register-debug-page.js';
import { registerInspectRoutes } from './register-inspect-routes.js';
import { requestGuard } from './request-guard.js';
import { PromMetrics } from './prom-metrics.js';
import { recordReason, registerRequestLog } from './request-log.js';
import { parseTraceparent } from '../telemetry/span-ids.js';
import { metricsSink, setMetricsSink } from '../telemetry/metrics-sink.js';

export interface HttpServerOptions {
  host?: string;
  port?: number;
  /** Required unless `host` is loopback; every endpoint but /health and the page then needs `Authorization: Bearer`. */
  token?: string;
  /** Largest accepted request body in bytes (default 8 MiB); larger ones get 413. */
  bodyLimit?: number;
  /** Interval of event-stream heartbeats (default 15 s). */
  heartbeatMs?: number;
  /** Host names accepted besides loopback and `host` itself (see request-guard.ts). */
  allowedHosts?: readonly string[];
  /** Deepest nesting of a JSON or YAML body (default: the runtime's limits.maxJsonDepth); deeper ones get 400. */
  maxJsonDepth?: number;
}

export interface WeftHttpServer {
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:7837`). */
  listen(): Promise<string>;
  /** Ends open event streams (clients reconnect), then stops accepting requests. */
  close(): Promise<void>;
}

interface SubmitRunBody {
  flowId?: string; flow?: Flow; inputs: unknown[]; wait?: boolean; timeoutSecs?: number;
  maxConcurrency?: number; overrides?: Record<string, unknown>; variables?: Record<string, unknown>; flowLabel?: string; affinity?: 'creator';
}
interface CancelRunBody { purge?: boolean }
interface ForkRunBody { fromStep: string; overrides?: unknown; inputs?: unknown[]; flowLabel?: string; maxConcurrency?: number }
interface SendInputBody { itemIndex: number; stepId: string; value: unknown }
interface PutBlobBody { data: unknown; blobType?: 'data' }
interface ListRunsQuery { status?: RunStatus['status']; flow?: string; limit?: string; offset?: string }
interface GetRunQuery { includeResults?: string; wait?: string; resultOrder?: 'byIndex' | 'byCompletion'; timeoutSecs?: string }
type IdParams = { Params: { id: string } };

const PUBLIC_PATHS = new Set(['/health', '/']);
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** `weft serve`'s HTTP API over one Runtime: every route is a thin shell over the embedding API. */
export function createHttpServer(rt: Runtime, opts: HttpServerOptions = {}): WeftHttpServer {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !opts.token) {
    throw new Error(`refusing to listen on ${host} without a token: anyone who can reach it could run flows. ` +
      'Pass --token <secret> (or set WEFT_TOKEN), or bind to 127.0.0.1.');
  }
  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024, forceCloseConnections: true, logger: false });
  const streams = new EventStreams(rt, opts.heartbeatMs ?? 15_000);

  registerRequestLog(app);
  const maxDepth = opts.maxJsonDepth ?? rt.config.limits?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const guard = requestGuard({ host, ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}), extraTypes: (path) => (path === '/flows' ? YAML_TYPES : []) });
  // Before auth and before the body is read: a refused request costs nothing.
  app.addHook('onRequest', async (req) => guard(req));
  // Fastify's own JSON parser (with its __proto__ checks) behind a depth check on the text.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonTooDeep(body as string, maxDepth)) return done(new ProtocolError(ErrorCodes.InvalidRequest, tooDeepMessage('the request body', maxDepth)), undefined);
    return parseJson(req, body as string, done);
  });
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    if (yamlTooDeep(body as string, maxDepth)) return done(new ProtocolError(ErrorCodes.InvalidRequest, tooDeepMessage('the request body', maxDepth)), undefined);
    return done(null, body);
  });
  app.setErrorHandler((error, req, reply) => {
    const { status, body } = errorResponse(error);
    recordReason(req, body.error.message);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `no such endpoint: ${req.method} ${req.url.split('?')[0]}`;
    recordReason(req, message);
    reply.status(404).send({ error: { status: 404, message } });
  });
  if (opts.token) {
    const check = bearerAuth(opts.token);
    app.addHook('onRequest', async (req) => {
      const path = req.url.split('?')[0];
      if (PUBLIC_PATHS.has(path) || path.startsWith('/debug/')) return;
      check(req.headers.authorization);
    });
  }

  registerDebugPage(app);
  // Truthful: while the store refuses writes (full disk, I/O error) weft is not healthy; it
  // is again once a commit succeeds.
  app.get('/health', async (_req, reply) => {
    const health = rt.health();
    return reply.status(health.status === 'healthy' ? 200 : 503).send(health);
  });

  // ---- metrics (behind the token like the API) ------------------------------------------
  const metrics = new PromMetrics(() => rt.runs.activeRuns());
  const ownSink = !metricsSink();
  if (ownSink) setMetricsSink(metrics);
  const offEvents = rt.runs.events.onAll(metrics.onRunEvent);
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()));

  // ---- flows --------------------------------------------------------------------------
  app.post('/flows', async (req, reply) => {
    const flow = parseFlowBody(req.body, rt.router);
    const flowId = await rt.putFlow(flow);
    return reply.status(201).send({ flowId });
  });
  app.get('/flows', async () => ({
    flows: (await rt.listFlows()).map((f) => ({ flowId: f.flowId, name: f.name ?? null, description: f.description ?? null, createdAt: f.createdAt })),
  }));
  app.get<IdParams>('/flows/:id', async (req) => {
    const flowId = blobIdParam(req.params.id);
    return { flowId, flow: await rt.getFlow(flowId) };
  });

  // ---- runs ---------------------------------------------------------------------------
  app.post('/runs', async (req, reply) => {
    const body = checkBody<SubmitRunBody>('SubmitRunBody', req.body);
    if ((body.flow === undefined) === (body.flowId === undefined)) {
      throw new ProtocolError(ErrorCodes.InvalidParams, 'body.flowId: give either flowId (a stored flow\'s id or name) or flow (an inline flow), not both and not neither');
    }
    const flowId = body.flow ? await rt.putFlow(parseFlowBody(body.flow, rt.router, 'body.flow')) : await resolveFlowId(rt, body.flowId!);
    // A W3C traceparent makes the run's spans part of the caller's trace.
    const trace = parseTraceparent(req.headers.traceparent);
    const status = await rt.runs.submit({
      flowId, inputs: body.inputs, wait: body.wait === true,
      ...(body.timeoutSecs !== undefined ? { timeoutSecs: body.timeoutSecs } : {}),
      ...(body.maxConcurrency !== undefined ? { maxConcurrency: body.maxConcurrency } : {}),
      ...(body.overrides !== undefined ? { overrides: body.overrides as never } : {}),
      ...(body.variables !== undefined ? { variables: body.variables } : {}),
      ...(body.flowLabel !== undefined ? { flowLabel: body.flowLabel } : {}),
      ...(body.affinity !== undefined ? { affinity: body.affinity } : {}),
    }, trace ? { trace } : {});
    return reply.status(body.wait ? (isTerminal(status) ? 200 : 202) : 201).send(status);
  });
  app.get('/runs', async (req) => {
    const q = checkBody<ListRunsQuery>('ListRunsQuery', req.query, 'query');
    const limit = Math.min(Number(q.limit ?? 50), 1000);
    const offset = Number(q.offset ?? 0);
    await rt.runs.durable(); // list nothing a power cut could still take back (RunManager.durable)
    // One extra row tells whether there is a next page without counting.
    const flow = q.flow === undefined ? {} : normalizeBlobId(q.flow) ? { flowId: normalizeBlobId(q.flow)! } : { flowName: q.flow };
    const page = await rt.listRuns({ ...(q.status ? { status: q.status } : {}), ...flow, limit: limit + 1, offset });
    const runs = page.slice(0, limit);
    return { runs, limit, offset, ...(page.length > limit ? { nextOffset: offset + limit } : {}) };
  });
  app.get<IdParams>('/runs/:id', async (req, reply) => {
    const q = checkBody<GetRunQuery>('GetRunQuery', req.query, 'query');
    const wait = flag(q.wait);
    const status = await rt.runs.get({
      runId: req.params.id, wait, includeResults: flag(q.includeResults),
      ...(q.resultOrder ? { resultOrder: q.resultOrder } : {}),
      ...(q.timeoutSecs !== undefined ? { timeoutSecs: Number(q.timeoutSecs) } : {}),
    });
    reply.status(wait && !isTerminal(status) ? 202 : 200);
    if (!status.results?.length) return reply.send(status);
    // Each value once, though it sits under both `value` and `result` (see writeStatus).
    const pieces: string[] = [];
    writeStatus(status, (text) => pieces.push(text), 0);
    return reply.type('application/json; charset=utf-8').send(Readable.from(pieces));
  });
  app.post<IdParams & { Querystring: { purge?: string } }>('/runs/:id/cancel', async (req) => {
    // Deleting results takes the body field: a query flag is too easy to send by accident or from a link.
    if (req.query.purge !== undefined) throw new ProtocolError(ErrorCodes.InvalidParams, 'query.purge: purging is asked in the body, {"purge": true}, not the query');
    const purge = checkBody<CancelRunBody>('CancelRunBody', req.body).purge === true;
    const status = await rt.cancel(req.params.id, { purge });
    return { ...status, purged: purge };
  });
  app.post<IdParams>('/runs/:id/fork', async (req, reply) => {
    const body = checkBody<ForkRunBody>('ForkRunBody', req.body);
    const run = await rt.fork(req.params.id, body);
    return reply.status(201).send(await run.status());
  });
  registerInspectRoutes(app, rt);
  app.get<IdParams>('/runs/:id/events', (req, reply) => streams.serve(req, reply, req.params.id));
  app.post<IdParams>('/runs/:id/events', async (req) => {
    const body = checkBody<SendInputBody>('SendInputBody', req.body);
    await rt.getRun(req.params.id); // 404 for an unknown run, so the NotFound below means "not waiting"
    try {
      await rt.sendInput(req.params.id, body.itemIndex, body.stepId, body.value);
    } catch (error) {
      if (error instanceof ProtocolError && error.code === ErrorCodes.NotFound) throw new HttpError(409, error.message, error.data);
      throw error;
    }
    return { status: 'sent', runId: req.params.id, itemIndex: body.itemIndex, stepId: body.stepId };
  });

  // ---- blobs and components -----------------------------------------------------------
  app.post('/blobs', async (req, reply) => {
    const body = checkBody<PutBlobBody>('PutBlobBody', req.body);
    const blobId = await rt.putBlob(body.data, body.blobType ?? 'data');
    return reply.status(201).send({ blobId });
  });
  app.get<IdParams>('/blobs/:id', async (req) => {
    const blobId = blobIdParam(req.params.id);
    const blob = await rt.getBlob(blobId);
    return { blobId, blobType: blob.blobType, data: blob.data };
  });
  app.get('/components', async () => ({ components: await rt.components() }));

  return {
    app,
    async listen() {
      await app.listen({ host, port: opts.port ?? 7837 });
      const address = app.server.address() as AddressInfo;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${shown}:${address.port}`;
    },
    async close() {
      streams.closeAll();
      await app.close();
      offEvents();
      if (ownSink && metricsSink() === metrics) setMetricsSink(undefined);
    },
  };
}

function flag(v: string | undefined): boolean {
  return v === 'true' || v === '1' || v === '';
}

function isTerminal(status: RunStatus): boolean {
  return isTerminalRunState(status.status);
}

function blobIdParam(id: string): BlobId {
  const blobId = normalizeBlobId(id);
  if (!blobId) throw new ProtocolError(ErrorCodes.InvalidParams, `path: "${id}" is not a blob id ("sha256:<64 hex>" or 64 hex)`);
  return blobId;
}

/** `flowId` is an id, or a stored flow's name: its newest version (as `weft submit` users type it). */
async function resolveFlowId(rt: Runtime, flowId: string): Promise<BlobId> {
  const id = normalizeBlobId(flowId);
  if (id) return id;
  try {
    return await rt.flowIdByName(flowId);
  } catch (error) {
    throw new ProtocolError(ErrorCodes.NotFound, `body.flowId: ${(error as Error).message}`);
  }
}

