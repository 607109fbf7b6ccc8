import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixtureServerPath, spawnSdkServer } from '../helpers/spawn-sdk-server.js';

/** Spawns a fixture with nothing between the test and its stdio: the bytes are the assertion. */
function spawnRaw(name: string) {
  const child = spawn(process.execPath, [fixtureServerPath(name)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => { stdout += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  void exited.then(() => clearTimeout(kill));
  return { child, exited, stdout: () => stdout, lines: () => stdout.split('\n').filter((l) => l !== '') };
}

describe('SDK server lifecycle and wire format', () => {
  it('exits with code 0 when stdin closes', async () => {
    const server = spawnSdkServer('sdk-echo-server.mjs');
    await server.handshake();
    server.child.stdin.end();
    expect(await server.exited).toEqual({ code: 0, signal: null });
    server.connection.dispose();
  });

  it('when stdin ends, aborts running executions and exits within the grace period even if one ignores it', async () => {
    const { child, exited } = spawnRaw('sdk-echo-server.mjs');
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => { stderr += chunk; });
    child.stdin!.write([
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"runtime_protocol_version":1}}',
      '{"jsonrpc":"2.0","id":2,"method":"components/execute","params":{"component":"/watch_abort","input":{},"attempt":1,"observability":{}}}',
      // Ignores ctx.signal: without the grace period this orphan would live for a minute.
      '{"jsonrpc":"2.0","id":3,"method":"components/execute","params":{"component":"/sleep","input":{"ms":60000},"attempt":1,"observability":{}}}',
      '',
    ].join('\n'));
    await new Promise((r) => setTimeout(r, 300));
    const ended = Date.now();
    child.stdin!.end(); // the runtime is gone (e.g. killed with SIGKILL)
    expect(await exited).toBe(0);
    expect(Date.now() - ended).toBeLessThan(8_000);
    expect(stderr).toContain('aborted: the runtime closed the connection (stdin ended)');
  });

  it('answers every request received before stdin ended, one compact JSON object per line', async () => {
    const { child, exited, stdout, lines } = spawnRaw('sdk-echo-server.mjs');
    child.stdin.end([
      '{"jsonrpc":"2.0","id":"0194a6c2-aaaa","method":"initialize","params":{"runtime_protocol_version":1}}',
      '{"jsonrpc":"2.0","method":"initialized","params":{}}',
      '',
      'this line is not JSON',
      '{"jsonrpc":"2.0","id":7,"method":"components/execute","params":{"component":"/sleep","input":{"ms":200},"attempt":1,"observability":{}}}\r',
      '{"jsonrpc":"2.0","id":"b","method":"components/execute","params":{"component":"/double","input":{"x":"é"},"attempt":1,"observability":{}}}',
      '',
    ].join('\n'));
    expect(await exited).toBe(0);
    expect(stdout().endsWith('\n')).toBe(true);
    const messages = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    // Compact: re-serializing gives the same text.
    expect(lines()).toEqual(messages.map((m) => JSON.stringify(m)));
    const byId = new Map(messages.map((m) => [m.id, m]));
    expect(messages).toHaveLength(3);
    expect(byId.get('0194a6c2-aaaa')).toEqual({ jsonrpc: '2.0', id: '0194a6c2-aaaa', result: { server_protocol_version: 1, capabilities: { cancel_request: true } } });
    expect(byId.get(7)).toMatchObject({ jsonrpc: '2.0', id: 7, result: { output: { slept: expect.any(Number) } } });
    expect(byId.get('b')).toMatchObject({ id: 'b', error: { code: -32002 } });
  });

  it('exits when stdin ends while a component waits on a callback (the callback fails)', async () => {
    const { child, exited, lines } = spawnRaw('sdk-callback-server.mjs');
    child.stdin.write('{"jsonrpc":"2.0","id":1,"method":"components/execute","params":{"component":"/get_blob","input":{"blobId":"abc"},"attempt":1,"observability":{"run_id":"r"}}}\n');
    // Wait for the SDK's blobs/get, then never answer it.
    await expect.poll(() => lines().length, { timeout: 10_000 }).toBe(1);
    const callback = JSON.parse(lines()[0]) as { id: unknown; method: string; params: unknown };
    expect(callback).toMatchObject({ method: 'blobs/get', params: { blob_id: 'abc', observability: { run_id: 'r' } } });
    child.stdin.end();
    expect(await exited).toBe(0);
    const response = JSON.parse(lines()[1]) as { id: number; result: { output: { error: { method: string } } } };
    expect(response.id).toBe(1);
    expect(response.result.output.error.method).toBe('blobs/get');
  });
});
