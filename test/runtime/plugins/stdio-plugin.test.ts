import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, ProtocolError, packageRoot } from '../../../protocol/index.js';
import type { AwaitInputParams, FlowResult } from '../../../protocol/index.js';
import { StdioPlugin } from '../../../runtime/plugins/stdio-plugin.js';
import type { StdioPluginOptions } from '../../../runtime/plugins/stdio-plugin.js';
import { executeWithRetries } from '../../../runtime/plugins/execute-with-retries.js';
import type { ExecuteRequest } from '../../../runtime/plugins/plugin.js';
import type { CallerContext } from '../../../runtime/plugins/runtime-context.js';
import { MapRuntimeContext } from '../../helpers/map-runtime-context.js';
import { isProcessAlive as isPidAlive } from '../../../runtime/store/run-ownership.js';

const servers = join(packageRoot(), 'test', 'fixtures', 'servers');
const opened: StdioPlugin[] = [];
const seenPids = new Set<number>();

/** A StdioPlugin over the raw (SDK-free) NDJSON server, already initialized. */
async function startRaw(options: Partial<StdioPluginOptions> = {}, runtime = new MapRuntimeContext()) {
  const logs: string[] = [];
  const plugin = new StdioPlugin({
    name: 'raw', command: process.execPath, args: [join(servers, 'raw-server.mjs')], workingDirectory: servers,
    log: (message) => logs.push(message), stopGraceMs: 1000, ...options,
  });
  opened.push(plugin);
  await plugin.init(runtime);
  rememberPids(plugin);
  return { plugin, logs, runtime };
}

function rememberPids(plugin: StdioPlugin): void {
  for (const pid of plugin.pids()) if (pid !== undefined) seenPids.add(pid);
}

function request(component: string, input: unknown, extra: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return {
    component, input, attempt: 1,
    observability: { run_id: 'run-1', step_id: 's1', item_index: 4 },
    caller: { runId: 'run-1', stepId: 's1', itemIndex: 4 },
    ...extra,
  };
}

function output(result: FlowResult): any {
  if (result.outcome !== 'success') throw new Error(`expected success, got ${JSON.stringify(result)}`);
  return result.result;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

afterEach(async () => {
  for (const plugin of opened.splice(0)) {
    rememberPids(plugin);
    await plugin.close();
  }
  // No child process outlives close().
  for (const pid of seenPids) expect(isPidAlive(pid), `pid ${pid} still alive`).toBe(false);
  seenPids.clear();
});

describe('StdioPlugin over a raw NDJSON server', () => {
  it('shakes hands: initialize, then initialized with params {}', async () => {
    const { plugin } = await startRaw();
    const { received } = output(await plugin.execute(request('/received', {})));
    expect(received.slice(0, 2)).toEqual([{ method: 'initialize' }, { method: 'initialized', params: {} }]);
  });

  it('refuses a server that speaks another protocol version, naming plugin, command and both versions', async () => {
    const plugin = new StdioPlugin({ name: 'old', command: process.execPath, args: [join(servers, 'wrong-version-server.mjs')], workingDirectory: servers, log: () => undefined });
    opened.push(plugin);
    const failure = plugin.init(new MapRuntimeContext());
    await expect(failure).rejects.toThrow(/plugin "old" \(.*node.*\): protocol version mismatch: runtime speaks 1, server answered 2/);
    expect(plugin.pids()).toEqual([undefined]);
  });

  it('lists components (cached) and answers componentInfo', async () => {
    const { plugin } = await startRaw();
    const list = await plugin.listComponents();
    expect(list.map((c) => c.component)).toContain('/echo');
    expect(list.find((c) => c.component === '/echo')).toMatchObject({ description: expect.stringContaining('Returns its input'), input_schema: { type: 'object' } });
    expect(await plugin.listComponents()).toBe(list);
    expect(await plugin.componentInfo('/hang')).toMatchObject({ component: '/hang', description: 'Never answers' });
    expect(await plugin.componentInfo('/nope')).toBeUndefined();
  });

  it('executes with component, input, attempt and observability', async () => {
    const { plugin } = await startRaw();
    const out = output(await plugin.execute(request('/echo', { x: 1 }, { attempt: 3 })));
    expect(out).toMatchObject({ input: { x: 1 }, attempt: 3, observability: { run_id: 'run-1', step_id: 's1', item_index: 4 } });
  });

  it('keeps 50 requests in flight on one process', async () => {
    const { plugin } = await startRaw();
    const calls = Array.from({ length: 50 }, (_, i) => plugin.execute(request('/sleep', { ms: 300 + i })));
    await until(async () => (plugin.stats().inFlight === 50 ? true : undefined), '50 in flight');
    const results = (await Promise.all(calls)).map(output);
    expect(results.map((r) => r.slept)).toEqual(Array.from({ length: 50 }, (_, i) => 300 + i));
    expect(new Set(results.map((r) => r.pid)).size).toBe(1);
    expect(plugin.stats().inFlight).toBe(0);
  });

  it('maps JSON-RPC errors to failure kinds (code 500) and keeps the server error under data', async () => {
    const { plugin } = await startRaw();
    expect(await plugin.execute(request('/fail', { code: -32002, message: 'x must be a number', data: { path: 'x' } }))).toEqual({
      outcome: 'failed',
      error: { code: 500, kind: 'INVALID_INPUT', message: 'step "s1" failed: x must be a number', data: { code: -32002, message: 'x must be a number', data: { path: 'x' } } },
    });
    const failed = await plugin.execute(request('/fail', { code: -32003, message: 'Component execution failed: boom' }));
    expect(failed).toMatchObject({ error: { kind: 'COMPONENT_FAILED', message: 'step "s1" failed: Component execution failed: boom' } });
    expect(await plugin.execute(request('/nope', {}))).toMatchObject({ error: { kind: 'COMPONENT_NOT_FOUND', data: { code: -32001 } } });
    expect(await plugin.execute(request('/fail', { code: -32050, message: 'odd' }))).toMatchObject({ error: { kind: 'COMPONENT_FAILED' } });
  });

  it('fails a result without output as WORKER_ERROR', async () => {
    const { plugin } = await startRaw();
    expect(await plugin.execute(request('/no_output', {}))).toMatchObject({ outcome: 'failed', error: { kind: 'WORKER_ERROR', message: expect.stringContaining('without an "output"') } });
  });

  it('answers blobs/put and blobs/get from a component through the RuntimeContext (deduplicated)', async () => {
    const { plugin, runtime } = await startRaw();
    const out = output(await plugin.execute(request('/blob_roundtrip', { data: { b: 1, a: [2, 3] } })));
    expect(out.data).toEqual({ b: 1, a: [2, 3] });
    expect(out.blob_type).toBe('data');
    expect(out.id2).toBe(out.id);
    expect(runtime.blobs.size).toBe(1);
    // Callbacks carry the caller derived from the observability the server echoed back.
    expect(runtime.callers[0]).toMatchObject({ runId: 'run-1', stepId: 's1', itemIndex: 4 });
  });

  it('answers blobs/get of an unknown id with an error naming the id', async () => {
    const { plugin } = await startRaw();
    const id = `sha256:${'ab'.repeat(32)}`;
    const result = await plugin.execute(request('/get_blob', { blob_id: id }));
    expect(result).toMatchObject({ outcome: 'failed', error: { kind: 'COMPONENT_FAILED', message: expect.stringContaining(id) } });
    expect(result.outcome === 'failed' && (result.error.data as any).data.runtime_error.code).toBe(-32008);
  });

  it('answers callbacks: bad params -32602 with the path, other errors -32000, unknown methods -32601', async () => {
    const { plugin } = await startRaw();
    const call = async (method: string, params: unknown) => output(await plugin.execute(request('/call_runtime', { method, params })));
    const invalid = await call('blobs/put', { data: 1 });
    expect(invalid.error.code).toBe(-32602);
    expect(invalid.error.message).toMatch(/blobs\/put.*blob_type/);
    const notAvailable = await call('runs/get', { runId: 'r' });
    expect(notAvailable.error).toMatchObject({ code: -32000, message: expect.stringContaining('not available') });
    expect((await call('nope/nope', {})).error.code).toBe(-32601);
  });

  it('fails in-flight calls as UNREACHABLE with the last 100 stderr lines, then restarts', async () => {
    const { plugin } = await startRaw();
    const result = await plugin.execute(request('/stderr_then_crash', { lines: 150 }));
    expect(result).toMatchObject({ outcome: 'failed', error: { kind: 'UNREACHABLE', message: expect.stringMatching(/plugin "raw" .*exited with code 7/) } });
    const data = (result as any).error.data;
    expect(data.exitCode).toBe(7);
    expect(data.stderr).toHaveLength(100);
    expect(data.stderr.at(-1)).toBe('last words 149');
    // A call made while the process restarts waits for the new one.
    expect(output(await plugin.execute(request('/echo', {}))).pid).not.toBe(data.pid);
    expect(plugin.stats().restarts).toBe(1);
    rememberPids(plugin);
  });

  it('retries a crashed step with attempt + 1: the server sees attempt 2', async () => {
    const { plugin } = await startRaw();
    const attempts: number[] = [];
    const result = await executeWithRetries(plugin, request('/crash_on_first_attempt', {}), { onAttempt: (a) => { attempts.push(a); } });
    expect(output(result)).toEqual({ attempt: 2 });
    expect(attempts).toEqual([1, 2]);
    rememberPids(plugin);
  });

  it('logs and counts a non-JSON stdout line; the call still succeeds', async () => {
    const { plugin, logs } = await startRaw();
    expect(output(await plugin.execute(request('/garbage', {})))).toEqual({ ok: true });
    expect(plugin.stats()).toMatchObject({ invalidLines: 1, restarts: 0 });
    await until(async () => (logs.some((line) => line.includes('this is not json')) ? true : undefined), 'the warning');
    expect(logs.filter((line) => line.includes('on stdout'))).toEqual([
      'plugin "raw": ignored a line on stdout that is not JSON-RPC (the first: not JSON: Unexpected token \'h\', "this is not json" is not valid JSON: this is not json)',
    ]);
  });

  it('reports many non-JSON stdout lines as one warning with their count, not one per line', async () => {
    const { plugin, logs } = await startRaw();
    expect(output(await plugin.execute(request('/garbage', { lines: 40 })))).toEqual({ ok: true });
    expect(plugin.stats()).toMatchObject({ invalidLines: 40, restarts: 0 });
    await plugin.close();
    const warned = logs.filter((line) => line.includes('on stdout'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/^plugin "raw": ignored 40 lines on stdout that are not JSON-RPC \(the first: .*this is not json\)$/);
  });

  it('fails a call that outlives timeoutSecs with TIMEOUT and sends $/cancelRequest', async () => {
    const { plugin } = await startRaw({ timeoutSecs: 0.3 });
    const result = await plugin.execute(request('/hang', {}));
    expect(result).toMatchObject({ outcome: 'failed', error: { kind: 'TIMEOUT', message: expect.stringContaining('step "s1" failed') } });
    const { cancelled } = await until(async () => {
      const out = output(await plugin.execute(request('/cancelled', {})));
      return out.cancelled.length > 0 ? out : undefined;
    }, '$/cancelRequest at the server');
    expect(cancelled).toHaveLength(1);
  });

  it("sends no $/cancelRequest to a server that does not announce it (Stepflow's SDK cannot decode one); the call still ends", async () => {
    for (const framing of ['ndjson', 'content-length'] as const) {
      const args = [join(servers, 'raw-server.mjs'), '--no-cancel', '--framing', framing];
      const timed = (await startRaw({ timeoutSecs: 0.3, framing, args })).plugin;
      expect(await timed.execute(request('/hang', {}))).toMatchObject({ outcome: 'failed', error: { kind: 'TIMEOUT' } });
      const aborted = (await startRaw({ framing, args })).plugin;
      const controller = new AbortController();
      const pending = aborted.execute(request('/hang', {}, { signal: controller.signal }));
      await until(async () => (output(await aborted.execute(request('/received', {}))).received.some((m: any) => m.method === 'components/execute') ? true : undefined), 'the request at the server');
      controller.abort();
      expect(await pending).toMatchObject({ outcome: 'failed', error: { kind: 'CANCELLED' } });
      for (const plugin of [timed, aborted]) {
        const { received } = output(await plugin.execute(request('/received', {})));
        expect(received.filter((m: { method: string }) => m.method === '$/cancelRequest'), framing).toEqual([]);
      }
    }
  });

  it('cancels through request.signal: CANCELLED, and the server receives $/cancelRequest', async () => {
    const { plugin } = await startRaw();
    const controller = new AbortController();
    const pending = plugin.execute(request('/hang', {}, { signal: controller.signal }));
    await until(async () => (output(await plugin.execute(request('/received', {}))).received.some((m: any) => m.method === 'components/execute') ? true : undefined), 'the request at the server');
    controller.abort();
    expect(await pending).toMatchObject({ outcome: 'failed', error: { kind: 'CANCELLED' } });
    await until(async () => (output(await plugin.execute(request('/cancelled', {}))).cancelled.length === 1 ? true : undefined), '$/cancelRequest at the server');
  });

  it('spreads requests over instances: N', async () => {
    const { plugin } = await startRaw({ instances: 2 });
    const pids = plugin.pids();
    expect(new Set(pids).size).toBe(2);
    const results = (await Promise.all(Array.from({ length: 20 }, () => plugin.execute(request('/sleep', { ms: 100 }))))).map(output);
    expect(new Set(results.map((r) => r.pid))).toEqual(new Set(pids));
  });

  it('substitutes ${VAR} in args and env, overlays the environment, runs in workingDirectory', async () => {
    process.env.WEFT_TEST_TAG = 'tag-1';
    try {
      const { plugin } = await startRaw({
        args: ['raw-server.mjs', '--tag', '${WEFT_TEST_TAG}'],
        env: { GREETING: '${WEFT_TEST_UNSET:-hello}', COMBINED: 'x-$WEFT_TEST_TAG', COLON: '${WEFT_TEST_UNSET:fallback}' },
      });
      const out = output(await plugin.execute(request('/env', { names: ['GREETING', 'COMBINED', 'COLON', 'PATH'] })));
      expect(out.argv).toEqual(['--tag', 'tag-1']);
      expect(out.cwd).toBe(servers);
      expect(out.env).toMatchObject({ GREETING: 'hello', COMBINED: 'x-tag-1', COLON: 'fallback' });
      expect(out.env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.WEFT_TEST_TAG;
    }
  });

  it('refuses to start when a variable is unset and has no default, naming plugin and variable', async () => {
    const plugin = new StdioPlugin({ name: 'envy', command: process.execPath, args: ['${WEFT_TEST_DEFINITELY_UNSET}'], workingDirectory: servers, log: () => undefined });
    opened.push(plugin);
    await expect(plugin.init(new MapRuntimeContext())).rejects.toThrow(/plugin "envy": args\[0\]: environment variable "WEFT_TEST_DEFINITELY_UNSET" is not set/);
  });

  it('speaks Content-Length framing when configured', async () => {
    const { plugin } = await startRaw({ framing: 'content-length', args: [join(servers, 'raw-server.mjs'), '--framing', 'content-length'] });
    expect(output(await plugin.execute(request('/echo', { cl: true }))).input).toEqual({ cl: true });
  });

  it('leaves no child alive after close(), even one that ignores stdin EOF and SIGTERM', async () => {
    const plugin = new StdioPlugin({ name: 'stubborn', command: process.execPath, args: [join(servers, 'stubborn-server.mjs')], workingDirectory: servers, stopGraceMs: 300, log: () => undefined });
    await plugin.init(new MapRuntimeContext());
    const [pid] = plugin.pids();
    expect(isPidAlive(pid!)).toBe(true);
    await plugin.close();
    expect(isPidAlive(pid!)).toBe(false);
  });
});

/** inputs/await answers once the caller's signal aborts (the server cancelled the callback). */
class AbortAwareInputs extends MapRuntimeContext {
  override awaitInput(_params?: AwaitInputParams, caller?: CallerContext): Promise<never> {
    return new Promise((_resolve, reject) => {
      const cancelled = () => reject(new ProtocolError(ErrorCodes.RequestCancelled, 'inputs/await was cancelled by the server'));
      // vscode-jsonrpc may see the cancel before it dispatches the request: the signal starts aborted.
      if (caller?.signal?.aborted) cancelled();
      else caller?.signal?.addEventListener('abort', cancelled, { once: true });
    });
  }
}

// NDJSON answers callbacks straight from the reader; Content-Length through the connection.
// Both must answer alike.
describe.each(['ndjson', 'content-length'] as const)('StdioPlugin: a server\'s callbacks over %s', (framing) => {
  const start = (runtime?: MapRuntimeContext) =>
    startRaw({ framing, args: [join(servers, 'raw-server.mjs'), '--framing', framing] }, runtime);
  const callRuntime = async (plugin: StdioPlugin, input: Record<string, unknown>) => output(await plugin.execute(request('/call_runtime', input)));

  it('answers a callback whatever the type of its id', async () => {
    const { plugin } = await start();
    const put = await callRuntime(plugin, { method: 'blobs/put', params: { data: { a: 1 }, blob_type: 'data' }, numeric_id: true });
    expect(put.result.blob_id).toMatch(/^sha256:/);
    const got = await callRuntime(plugin, { method: 'blobs/get', params: { blob_id: put.result.blob_id } });
    expect(got.result).toEqual({ data: { a: 1 }, blob_type: 'data' });
  });

  it('answers params by position and missing params as vscode-jsonrpc does', async () => {
    const { plugin } = await start();
    const put = await callRuntime(plugin, { method: 'blobs/put', params: [{ data: 'x', blob_type: 'data' }] });
    expect(put.result.blob_id).toMatch(/^sha256:/);
    const none = await callRuntime(plugin, { method: 'blobs/get' });
    expect(none.error).toEqual({ code: ErrorCodes.InvalidParams, message: 'Request blobs/get defines 1 params but received none.' });
  });

  it('aborts the caller\'s signal when the server sends $/cancelRequest for its callback', async () => {
    const { plugin } = await start(new AbortAwareInputs());
    const cancelled = await callRuntime(plugin, { method: 'inputs/await', params: { prompt: 'Approve?' }, cancel: true });
    expect(cancelled.error).toEqual({ code: ErrorCodes.RequestCancelled, message: 'inputs/await was cancelled by the server' });
  });
});
