import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { Initialize, Initialized, NdjsonMessageReader, NdjsonMessageWriter, packageRoot } from '../../protocol/index.js';

/** test/fixtures/servers/<name> */
export function fixtureServerPath(name: string): string {
  return join(packageRoot(), 'test', 'fixtures', 'servers', name);
}

export interface SpawnedServer {
  child: ChildProcessWithoutNullStreams;
  /** The test's side of the JSON-RPC connection (plays the runtime). */
  connection: MessageConnection;
  /** stdout lines that were not JSON-RPC messages (must stay empty for a well-behaved server). */
  invalidLines: string[];
  stderr(): string;
  /** Resolves when stderr contains `text`; rejects (showing stderr) after `timeoutMs`. */
  waitForStderr(text: string, timeoutMs?: number): Promise<void>;
  /** Exit code and signal, once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends initialize + initialized; returns the initialize result. */
  handshake(): Promise<{ server_protocol_version: number }>;
  /** Ends stdin, waits for the exit (SIGKILL after `graceMs`), disposes the connection. */
  close(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  args?: string[];
  framing?: 'ndjson' | 'content-length';
}

/**
 * Spawns a fixture component server (`node test/fixtures/servers/<name>`) over real stdio
 * and connects to it the way the runtime does. Run `npm run build` first: fixtures
 * import `weft/sdk` from dist/.
 */
export function spawnSdkServer(name: string, options: SpawnOptions = {}): SpawnedServer {
  const child = spawn(process.execPath, [fixtureServerPath(name), ...(options.args ?? [])], {
    cwd: packageRoot(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  const stderrWaiters: Array<{ text: string; resolve: () => void }> = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    for (const w of stderrWaiters.filter((w) => stderr.includes(w.text))) {
      stderrWaiters.splice(stderrWaiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // A server that exits early makes writes fail with EPIPE; tests assert on the exit instead.
  child.stdin.on('error', () => undefined);

  const invalidLines: string[] = [];
  const [reader, writer] = options.framing === 'content-length'
    ? [new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin)]
    : [new NdjsonMessageReader(child.stdout, { onInvalidLine: (line) => invalidLines.push(line) }), new NdjsonMessageWriter(child.stdin)];
  const connection = createMessageConnection(reader, writer);
  connection.listen();

  return {
    child,
    connection,
    invalidLines,
    stderr: () => stderr,
    waitForStderr: (text, timeoutMs = 10_000) => stderr.includes(text)
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stderr never contained ${JSON.stringify(text)}; stderr was:\n${stderr}`)), timeoutMs);
        stderrWaiters.push({ text, resolve: () => { clearTimeout(timer); resolve(); } });
      }),
    exited,
    async handshake() {
      const result = await connection.sendRequest(Initialize, { runtime_protocol_version: 1 });
      await connection.sendNotification(Initialized, {});
      return result;
    },
    async close(graceMs = 5_000) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      connection.dispose();
    },
  };
}
