import { afterEach, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import {
  BlobsGet, BlobsPut, ComponentsExecute, ErrorCodes, InputsAwait, ProtocolError, RunsGet, RunsSubmit, blobIdOf, normalizeBlobId,
  validatorFor,
} from '../../protocol/index.js';
import type { BlobType, ObservabilityContext, RunStatus } from '../../protocol/index.js';
import { spawnSdkServer } from '../helpers/spawn-sdk-server.js';
import type { SpawnedServer } from '../helpers/spawn-sdk-server.js';

const servers: SpawnedServer[] = [];
function start(framing: 'ndjson' | 'content-length' = 'ndjson'): SpawnedServer {
  const server = spawnSdkServer('sdk-callback-server.mjs', { framing, args: ['--framing', framing] });
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const observability: ObservabilityContext = { run_id: '0194a6c2-7c1e-7f30-9a0b-3c8d2e1f4a55', flow_id: 'sha256:00', step_id: 'parent_step', item_index: 1 };
const execute = (server: SpawnedServer, component: string, input: unknown) =>
  server.connection.sendRequest(ComponentsExecute, { component, input, attempt: 1, observability });

/** The test plays the runtime's blob store, recording what each callback carried. */
function serveBlobs(server: SpawnedServer) {
  const blobs = new Map<string, { data: unknown; blob_type: BlobType }>();
  const calls: Array<{ method: string; params: unknown }> = [];
  server.connection.onRequest(BlobsPut, (params) => {
    calls.push({ method: 'blobs/put', params });
    const id = blobIdOf(params.data);
    blobs.set(id, { data: params.data, blob_type: params.blob_type });
    return { blob_id: id };
  });
  server.connection.onRequest(BlobsGet, (params) => {
    calls.push({ method: 'blobs/get', params });
    const blob = blobs.get(normalizeBlobId(params.blob_id) ?? '');
    if (!blob) throw new ProtocolError(ErrorCodes.BlobNotFound, `Blob '${params.blob_id}' not found`, { blob_id: params.blob_id });
    return blob;
  });
  return { blobs, calls };
}

const runStatus: RunStatus = {
  runId: '0194a6c2-0000-7000-8000-000000000001', flowId: 'sha256:' + 'a'.repeat(64), status: 'success',
  items: { total: 2, pending: 0, running: 0, success: 2, completed: 2, failed: 0, cancelled: 0 },
  createdAt: '2026-01-07T10:30:00.000Z', completedAt: '2026-01-07T10:30:01.000Z',
  results: [{ itemIndex: 0, status: 'completed', result: { outcome: 'success', value: 1, result: 1 }, completedAt: '2026-01-07T10:30:01.000Z' }],
};

describe('SDK component context: calls back into the runtime', () => {
  it('puts and gets a blob through blobs/put and blobs/get, forwarding observability', async () => {
    const server = start();
    const { calls } = serveBlobs(server);
    const data = { message: 'Hello, blobs!', number: 42, nested: [1, { b: 2, a: 1 }] };
    const result = await execute(server, '/blob_round_trip', { data });
    const id = blobIdOf(data);
    expect(result.output).toEqual({ blobId: id, again: id, data });
    expect(calls.map((c) => c.method)).toEqual(['blobs/put', 'blobs/put', 'blobs/get']);
    expect(calls[0].params).toEqual({ data, blob_type: 'data', observability });
    expect(calls[2].params).toEqual({ blob_id: id, observability });
    expect(validatorFor('protocol', 'PutBlobParams')(calls[0].params)).toBe(true);
    expect(validatorFor('protocol', 'GetBlobParams')(calls[2].params)).toBe(true);
  });

  it('calls back the same way over content-length framing', async () => {
    const server = start('content-length');
    const { calls } = serveBlobs(server);
    const data = { framing: 'content-length' };
    const result = await execute(server, '/blob_round_trip', { data });
    expect(result.output).toEqual({ blobId: blobIdOf(data), again: blobIdOf(data), data });
    expect(calls.map((c) => c.method)).toEqual(['blobs/put', 'blobs/put', 'blobs/get']);
  });

  it('sends binary blobs as base64 and returns them as bytes', async () => {
    const server = start();
    const { calls } = serveBlobs(server);
    const result = await execute(server, '/binary_round_trip', { bytes: [0, 1, 254, 255] });
    expect(calls[0].params).toMatchObject({ data: Buffer.from([0, 1, 254, 255]).toString('base64'), blob_type: 'binary' });
    expect(result.output).toMatchObject({ isBytes: true, bytes: [0, 1, 254, 255] });
  });

  it('rejects a failed callback with an error carrying the JSON-RPC code and message', async () => {
    const server = start();
    serveBlobs(server);
    const missing = 'b'.repeat(64);
    const result = await execute(server, '/get_blob', { blobId: missing });
    expect(result.output).toEqual({
      error: {
        name: 'RuntimeCallError', code: ErrorCodes.BlobNotFound, method: 'blobs/get',
        message: `blobs/get failed: Blob '${missing}' not found (code ${ErrorCodes.BlobNotFound})`,
      },
    });
  });

  it('submits a run with camelCase params and the caller observability, returning the RunStatus', async () => {
    const server = start();
    const received: unknown[] = [];
    server.connection.onRequest(RunsSubmit, (params) => {
      received.push(params);
      return runStatus;
    });
    const request = {
      flowId: runStatus.flowId, inputs: [{ x: 1 }, { x: 2 }], wait: true, maxConcurrency: 2,
      overrides: { step1: { $type: 'merge_patch', value: { input: { y: 1 } } } }, subflowKey: 'k-1',
    };
    const result = await execute(server, '/submit_run', request);
    expect(received).toEqual([{ ...request, observability }]);
    expect(validatorFor('protocol', 'SubmitRunParams')(received[0])).toBe(true);
    expect(result.output).toEqual({ status: runStatus });
  });

  it('gets a run with runs/get', async () => {
    const server = start();
    const received: unknown[] = [];
    server.connection.onRequest(RunsGet, (params) => {
      received.push(params);
      return runStatus;
    });
    const request = { runId: runStatus.runId, wait: true, includeResults: true, resultOrder: 'byCompletion', timeoutSecs: 30 };
    const result = await execute(server, '/get_run', request);
    expect(received).toEqual([{ ...request, observability }]);
    expect(validatorFor('protocol', 'GetRunParams')(received[0])).toBe(true);
    expect(result.output).toEqual({ status: runStatus });
  });

  it('awaits human input with inputs/await and returns the value', async () => {
    const server = start();
    const received: unknown[] = [];
    server.connection.onRequest(InputsAwait, (params) => {
      received.push(params);
      return { value: { approved: true } };
    });
    const request = { prompt: 'Approve?', schema: { type: 'object', properties: { approved: { type: 'boolean' } } } };
    const result = await execute(server, '/await_input', request);
    expect(received).toEqual([{ ...request, observability }]);
    expect(result.output).toEqual({ value: { approved: true } });
  });
});

describe.each(['ndjson', 'content-length'] as const)('SDK component context: cancellation over %s', (framing) => {
  it('aborts ctx.signal when the runtime sends $/cancelRequest', async () => {
    const server = start(framing);
    const source = new CancellationTokenSource();
    const pending = server.connection.sendRequest(ComponentsExecute, { component: '/wait_for_abort', input: null, attempt: 1, observability }, source.token);
    await server.waitForStderr('wait_for_abort: waiting');
    source.cancel();
    const result = await pending;
    expect(result.output).toEqual({ aborted: true, reason: "components/execute of '/wait_for_abort' was cancelled by the runtime" });
  });

  it('answers a component that fails because it was cancelled with RequestCancelled', async () => {
    const server = start(framing);
    const source = new CancellationTokenSource();
    const pending = server.connection.sendRequest(ComponentsExecute, { component: '/throw_on_abort', input: null, attempt: 1, observability }, source.token);
    await server.waitForStderr('throw_on_abort: waiting');
    source.cancel();
    const error = await pending.then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.RequestCancelled, message: "Component '/throw_on_abort' was cancelled" });
  });

  it('forwards the cancellation to a callback in flight (runs/submit with wait)', async () => {
    const server = start(framing);
    let markCancelled!: () => void;
    const submitCancelled = new Promise<void>((resolve) => { markCancelled = resolve; });
    let markSubmitted!: () => void;
    const submitted = new Promise<void>((resolve) => { markSubmitted = resolve; });
    server.connection.onRequest(RunsSubmit, (_params, token) => new Promise((_resolve, reject) => {
      markSubmitted();
      token.onCancellationRequested(() => {
        markCancelled();
        reject(new ProtocolError(ErrorCodes.RequestCancelled, 'submit cancelled'));
      });
    }));
    const source = new CancellationTokenSource();
    const pending = server.connection.sendRequest(ComponentsExecute,
      { component: '/submit_and_wait', input: { flowId: runStatus.flowId, inputs: [1] }, attempt: 1, observability }, source.token);
    await submitted;
    source.cancel();
    await submitCancelled;
    const result = await pending;
    expect(result.output).toMatchObject({ error: { code: ErrorCodes.RequestCancelled, method: 'runs/submit' } });
  });
});
