import { afterEach, describe, expect, it } from 'vitest';
import { ResponseError } from 'vscode-jsonrpc/node';
import {
  ComponentsExecute, ComponentsInferSchema, ComponentsInfo, ComponentsList, ErrorCodes, validatorFor,
} from '../../protocol/index.js';
import { spawnSdkServer } from '../helpers/spawn-sdk-server.js';
import type { SpawnedServer } from '../helpers/spawn-sdk-server.js';

const servers: SpawnedServer[] = [];
function start(...args: Parameters<typeof spawnSdkServer>): SpawnedServer {
  const server = spawnSdkServer(...args);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function rejection(promise: Promise<unknown>): Promise<ResponseError<any>> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ResponseError);
  return error as ResponseError<any>;
}

describe('SDK component server: handshake and discovery', () => {
  it('answers initialize with server_protocol_version 1, announcing that it handles $/cancelRequest', async () => {
    const server = start('sdk-echo-server.mjs');
    expect(await server.handshake()).toEqual({ server_protocol_version: 1, capabilities: { cancel_request: true } });
  });

  it('lists its components as "/" + name, with description and snake_case schemas', async () => {
    const server = start('sdk-echo-server.mjs');
    await server.handshake();
    const result = await server.connection.sendRequest(ComponentsList, {});
    expect(validatorFor('protocol', 'ListComponentsResult')(result)).toBe(true);
    expect(result.components.map((c) => c.component)).toEqual(['/echo', '/double', '/sleep', '/watch_abort', '/noisy']);
    const double = result.components.find((c) => c.component === '/double')!;
    expect(double.description).toBe('Doubles x.');
    expect(double.input_schema).toEqual({ type: 'object', properties: { x: { type: 'number' } }, required: ['x'] });
    expect(double.output_schema).toEqual({ type: 'object', properties: { y: { type: 'number' } }, required: ['y'] });
    // Undeclared schemas are omitted, not sent as null.
    expect(Object.keys(result.components[0]).sort()).toEqual(['component', 'description']);
  });

  it('describes one component with components/info', async () => {
    const server = start('sdk-echo-server.mjs');
    const result = await server.connection.sendRequest(ComponentsInfo, { component: '/double' });
    expect(result.info.component).toBe('/double');
    expect(result.info.input_schema).toMatchObject({ required: ['x'] });
  });

  it('answers components/infer_schema with the declared output schema, or null', async () => {
    const server = start('sdk-echo-server.mjs');
    const declared = await server.connection.sendRequest(ComponentsInferSchema, { component: '/double', input_schema: { type: 'object' } });
    expect(declared).toEqual({ output_schema: { type: 'object', properties: { y: { type: 'number' } }, required: ['y'] } });
    const undeclared = await server.connection.sendRequest(ComponentsInferSchema, { component: '/echo' });
    expect(undeclared).toEqual({ output_schema: null });
  });

  it('reports an unknown component with -32001 naming it, for info, infer_schema and execute', async () => {
    const server = start('sdk-echo-server.mjs');
    const calls = [
      server.connection.sendRequest(ComponentsInfo, { component: '/nope' }),
      server.connection.sendRequest(ComponentsInferSchema, { component: '/nope' }),
      server.connection.sendRequest(ComponentsExecute, { component: '/nope', input: {}, attempt: 1, observability: {} }),
    ];
    // Answers may come in any order (executions start as they are read): wait for all at once.
    for (const error of await Promise.all(calls.map(rejection))) {
      expect(error.code).toBe(ErrorCodes.ComponentNotFound);
      expect(error.message).toBe("Component '/nope' not found");
      expect(error.data).toEqual({ component: '/nope' });
    }
  });

  it('answers an unknown method with -32601 naming it', async () => {
    const server = start('sdk-echo-server.mjs');
    const error = await rejection(server.connection.sendRequest('components/frobnicate', {}));
    expect(error.code).toBe(ErrorCodes.MethodNotFound);
    expect(error.message).toBe("Method not found: 'components/frobnicate'");
  });
});

describe('SDK component server: execute', () => {
  it('runs a component and returns {output}', async () => {
    const server = start('sdk-echo-server.mjs');
    await server.handshake();
    const result = await server.connection.sendRequest(ComponentsExecute, { component: '/double', input: { x: 21 }, attempt: 1, observability: {} });
    expect(result).toEqual({ output: { y: 42 } });
  });

  it('gives the handler attempt, component and observability (run, step, item)', async () => {
    const server = start('sdk-echo-server.mjs');
    const observability = { run_id: '0194a6c2-7c1e-7f30-9a0b-3c8d2e1f4a55', flow_id: 'sha256:ab', step_id: 'add', item_index: 3, trace_id: 'f'.repeat(32) };
    const result = await server.connection.sendRequest(ComponentsExecute, { component: '/echo', input: { a: [1, 'two'] }, attempt: 2, observability });
    expect(result.output).toEqual({
      input: { a: [1, 'two'] }, attempt: 2, component: '/echo', observability,
      runId: observability.run_id, stepId: 'add', itemIndex: 3,
    });
  });

  it('passes a null input through (a step without input)', async () => {
    const server = start('sdk-echo-server.mjs');
    const result = await server.connection.sendRequest(ComponentsExecute, { component: '/echo', input: null, attempt: 1, observability: {} });
    expect((result.output as { input: unknown }).input).toBeNull();
  });

  it('handles requests concurrently: 20 calls sleeping 100 ms finish well under 2 s', async () => {
    const server = start('sdk-echo-server.mjs');
    await server.handshake();
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 20 }, () =>
      server.connection.sendRequest(ComponentsExecute, { component: '/sleep', input: { ms: 100 }, attempt: 1, observability: {} })));
    const elapsed = Date.now() - started;
    expect(results).toHaveLength(20);
    for (const r of results) expect((r.output as { slept: number }).slept).toBeGreaterThanOrEqual(95);
    // Sequential handling would take at least 2 s.
    expect(elapsed).toBeLessThan(2_000);
  });

  it('keeps console.log & co. off stdout: the wire stays clean and the text reaches stderr', async () => {
    const server = start('sdk-echo-server.mjs');
    const result = await server.connection.sendRequest(ComponentsExecute, { component: '/noisy', input: 'hello', attempt: 1, observability: {} });
    expect(result).toEqual({ output: { ok: true } });
    // Anything printed to stdout would have arrived before the response.
    expect(server.invalidLines).toEqual([]);
    await server.waitForStderr('noisy: debug');
    expect(server.stderr()).toContain('noisy: log hello');
    expect(server.stderr()).toContain('noisy: info');
    expect(server.stderr()).toContain("noisy: 'dir'");
    expect(server.stderr()).toContain("'table'");
  });

  it('speaks content-length framing when asked', async () => {
    const server = start('sdk-echo-server.mjs', { args: ['--framing', 'content-length'], framing: 'content-length' });
    expect(await server.handshake()).toEqual({ server_protocol_version: 1, capabilities: { cancel_request: true } });
    const result = await server.connection.sendRequest(ComponentsExecute, { component: '/double', input: { x: 2 }, attempt: 1, observability: {} });
    expect(result).toEqual({ output: { y: 4 } });
  });
});
