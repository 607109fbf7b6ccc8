import {
  CancellationTokenSource, Disposable, ErrorCodes as RpcErrorCodes, ResponseError, StreamMessageReader, StreamMessageWriter, createMessageConnection,
} from 'vscode-jsonrpc/node';
import type { Logger, Message, MessageConnection, MessageReader, MessageWriter, RequestType } from 'vscode-jsonrpc/node';
import { Initialize, Initialized, NdjsonMessageReader, NdjsonMessageWriter, OutputsEmit, RUNTIME_PROTOCOL_VERSION } from '../../protocol/index.js';
import type { ComponentExecuteParams, ObservabilityContext } from '../../protocol/index.js';
import { log, logEnabled } from '../telemetry/logger.js';
import type { LogFields } from '../telemetry/logger.js';
import { metricsSink } from '../telemetry/metrics-sink.js';
import type { RuntimeContext } from './runtime-context.js';
import { DirectCalls } from '../../protocol/direct-calls.js';
import { DirectRequests } from '../../protocol/direct-requests.js';
import { onAbort } from './on-abort.js';
import { OutputReceiver } from './output-receiver.js';
import { InvalidLines } from './invalid-lines.js';
import type { LiveExecution } from './output-receiver.js';
import { runtimeCallbacks, serveCallbacks } from './serve-callbacks.js';
import { ServedExecutions } from './served-executions.js';
import type { CallbackHandler } from './serve-callbacks.js';
import { spawnServer } from './spawn-server.js';
import type { ServerExit, ServerProcess } from './spawn-server.js';

export interface StdioInstanceOptions {
  pluginName: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd: string;
  framing: 'ndjson' | 'content-length';
  runtime: RuntimeContext;
  /** Plain diagnostic lines (tests); default: structured lines in the runtime's log. */
  log?: (message: string) => void;
  onInvalidLine: () => void;
  onRestart: () => void;
  backoff: { initialMs: number; maxMs: number; healthyMs: number };
  stopGraceMs: number;
  handshakeTimeoutMs: number;
  /** limits.maxMessageBytes and limits.maxJsonDepth: a longer or deeper line is refused with an error naming the limit. */
  maxMessageBytes?: number;
  maxJsonDepth?: number;
}

/** How one request ended. `unreachable` = the process crashed / the pipe broke (retry-worthy). */
export type CallOutcome<R> =
  | { kind: 'ok'; value: R }
  | { kind: 'error'; error: ResponseError<unknown> }
  | { kind: 'unreachable'; message: string; data?: unknown }
  | { kind: 'timeout' }
  | { kind: 'cancelled' };

interface CrashReport { message: string; data: unknown }

interface Generation {
  proc: ServerProcess;
  connection: MessageConnection;
  /** Resolves with the crash report when this process dies (or its pipes break). */
  crashed: Promise<CrashReport>;
  /**
   * Calls in flight on this process, each with its params: ended as `unreachable` when it
   * dies, or with an error when a chunk it streams breaks a limit (found by its params).
   */
  pending: Map<(outcome: CallOutcome<never>) => void, unknown>;
  /** Set once the process is gone. */
  report?: CrashReport;
  /** The server said it handles `$/cancelRequest` (initialize's capabilities.cancel_request). */
  cancels?: boolean;
  startedAt: number;
  reason?: string;
  /** NDJSON framing: the runtime's requests, answered without vscode-jsonrpc's per-message turn. */
  direct?: DirectCalls;
}

// Local vscode-jsonrpc codes meaning "the connection went away", not "the server said no".
const CONNECTION_LOST = new Set<number>([
  RpcErrorCodes.PendingResponseRejected, RpcErrorCodes.ConnectionInactive, RpcErrorCodes.MessageWriteError, RpcErrorCodes.MessageReadError,
]);

/**
 * One process of a stdio plugin and its connection. A crash fails the calls in flight
 * as `unreachable` and starts a replacement (handshake included) after a backoff;
 * calls made meanwhile wait for it. A handshake with the wrong protocol version is
 * fatal: no restart.
 */
export class StdioInstance {
  inFlight = 0;
  private ready?: Promise<Generation>;
  private current?: Generation;
  private readonly procs = new Set<ServerProcess>();
  private closing = false;
  private fatal?: Error;
  private backoffMs: number;
  private readonly closed = new AbortController();
  private readonly callbacks: Map<string, CallbackHandler>;
  /** The executions in flight on this instance: what its callbacks belong to. */
  readonly served = new ServedExecutions();
  /** Component stderr is shown (WEFT_COMPONENT_STDERR=verbose, or log level debug); its lines are attributed through `served`. */
  private readonly showStderr: boolean;

  constructor(private readonly o: StdioInstanceOptions) {
    this.backoffMs = o.backoff.initialMs;
    this.callbacks = runtimeCallbacks(o.runtime, this.served);
    this.showStderr = process.env.WEFT_COMPONENT_STDERR === 'verbose' || (!o.log && logEnabled('debug'));
  }

  get pid(): number | undefined { return this.current?.proc.pid; }

  /** Spawns and shakes hands; rejects (without restarting) if that fails. */
  async start(): Promise<void> {
    this.ready = this.launch();
    this.ready.catch(() => undefined);
    await this.ready;
  }

  async request<P, R>(type: RequestType<P, R, void>, params: P, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CallOutcome<R>> {
    this.inFlight++;
    const cleanup: Array<() => void> = [];
    try {
      return await new Promise<CallOutcome<R>>((settle) => {
        let done = false;
        const finish = (outcome: CallOutcome<R>) => { if (!done) { done = true; settle(outcome); } };
        // Tells the server to stop (a $/cancelRequest for this id), once the request is sent.
        let cancelRemote = (): void => undefined;
        const { signal, timeoutMs } = opts;
        if (signal) {
          if (signal.aborted) return finish({ kind: 'cancelled' });
          cleanup.push(onAbort(signal, () => { cancelRemote(); finish({ kind: 'cancelled' }); }));
        }
        if (timeoutMs !== undefined) {
          const timer = setTimeout(() => { cancelRemote(); finish({ kind: 'timeout' }); }, timeoutMs);
          cleanup.push(() => clearTimeout(timer));
        }
        // A lost connection means the process is going (onError/onClose make sure of it):
        // leave such calls to the crash report, which names the exit and has the stderr, and
        // comes after `ready` points at the replacement, so a retry does not hit the dead one.
        const onError = (error: unknown) => {
          const outcome = failedOutcome(error, this.o.pluginName);
          if (outcome.kind !== 'unreachable') finish(outcome);
        };
        const send = (gen: Generation) => {
          if (done) return;
          if (gen.report) return finish({ kind: 'unreachable', ...gen.report });
          const end = (outcome: CallOutcome<never>) => {
            if (outcome.kind !== 'unreachable') cancelRemote();
            finish(outcome);
          };
          gen.pending.set(end, params);
          cleanup.push(() => gen.pending.delete(end));
          const direct = gen.direct;
          if (direct) {
            const id = direct.send(type.method, params, (reply) => (reply.ok ? finish({ kind: 'ok', value: reply.result as R }) : onError(reply.error)));
            cancelRemote = () => direct.drop(id, gen.cancels === true);
            cleanup.push(() => direct.drop(id));
            return;
          }
          // vscode-jsonrpc sends $/cancelRequest for this id when the token is cancelled.
          const cts = new CancellationTokenSource();
          if (gen.cancels) cancelRemote = () => cts.cancel();
          cleanup.push(() => cts.dispose());
          try {
            gen.connection.sendRequest<R>(type.method, params, cts.token).then((value) => finish({ kind: 'ok', value }), onError);
          } catch (error) {
            onError(error);
          }
        };
        // The usual case, a live process, sends at once; otherwise the call waits for (re)start.
        if (this.current && this.ready) return send(this.current);
        const ready = this.ready ?? Promise.reject(new Error(`plugin "${this.o.pluginName}" is not started`));
        ready.then(send, (error: unknown) => finish({ kind: 'unreachable', message: (error as Error).message }));
      });
    } finally {
      this.inFlight--;
      for (const fn of cleanup) fn();
    }
  }

  /** Stops every process of this instance (shutdown ladder); no restart afterwards. */
  async close(): Promise<void> {
    this.closing = true;
    this.closed.abort();
    await Promise.all([...this.procs].map((proc) => proc.stop(this.o.stopGraceMs)));
    // A launch in progress notices `closing` (or loses its process) and settles; whatever
    // it spawned meanwhile is stopped too, so nothing outlives close().
    await this.ready?.catch(() => undefined);
    await Promise.all([...this.procs].map((proc) => proc.stop(this.o.stopGraceMs)));
    this.current?.connection.dispose();
  }

  private async launch(): Promise<Generation> {
    const { pluginName, command } = this.o;
    const proc = await spawnServer({
      pluginName, command, args: this.o.args, env: this.o.env, cwd: this.o.cwd,
      ...(this.o.log ? { log: this.o.log } : { onStderrLine: (line: string) => this.stderrLine(line) }),
      ...(this.showStderr ? { showStderr: true } : {}),
    });
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    if (this.closing) { await proc.stop(this.o.stopGraceMs); throw new Error(`plugin "${pluginName}" is closed`); }

    // The generation is made below; chunks can only arrive after the handshake, by then it is set.
    const made: { gen?: Generation } = {};
    const { reader, writer, direct, directCallbacks, outputs } = this.framing(proc, (o, attempt) => (made.gen ? findExecution(made.gen, o, attempt) : undefined));
    const connection = createMessageConnection(reader, writer, this.logger());
    const served = serveCallbacks(connection, this.callbacks);
    // Content-length framing has no intercept: vscode-jsonrpc delivers chunks in order with the answers.
    if (this.o.framing === 'content-length') connection.onNotification(OutputsEmit, (params) => outputs.receive(params));
    const callbacks = Disposable.create(() => { served.dispose(); directCallbacks?.dispose(); });
    const gen: Generation = { proc, connection, pending: new Map(), startedAt: Date.now(), crashed: undefined as never, direct };
    made.gen = gen;
    // A broken pipe or stream error: the process is useless; kill it and take the crash path.
    connection.onError(([error]) => {
      gen.reason ??= `connection error: ${error.message}`;
      proc.kill();
    });
    // stdout closed: the process is exiting; make sure it does.
    connection.onClose(() => { setTimeout(() => proc.kill(), 500).unref(); });
    gen.crashed = proc.exited.then((exit) => this.crashReport(gen, exit));
    void gen.crashed.then((report) => {
      gen.report = report;
      for (const end of [...gen.pending.keys()]) end({ kind: 'unreachable', ...report });
      callbacks.dispose();
      connection.dispose();
      this.onExit(gen);
    });
    connection.listen();

    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        connection.sendRequest(Initialize, { runtime_protocol_version: RUNTIME_PROTOCOL_VERSION }),
        gen.crashed.then((report) => { throw new Error(`plugin "${pluginName}" (${command}) died during the handshake: ${report.message}`); }),
        new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(new Error(`plugin "${pluginName}" (${command}) did not answer initialize within ${this.o.handshakeTimeoutMs / 1000}s`)), this.o.handshakeTimeoutMs);
        }),
      ]);
      const raw = result as { server_protocol_version?: unknown; serverProtocolVersion?: unknown; capabilities?: { cancel_request?: unknown } } | null;
      const version = raw?.server_protocol_version ?? raw?.serverProtocolVersion;
      if (version !== RUNTIME_PROTOCOL_VERSION) {
        this.fatal = new Error(`plugin "${pluginName}" (${command}): protocol version mismatch: runtime speaks ${RUNTIME_PROTOCOL_VERSION}, server answered ${JSON.stringify(version ?? null)}`);
        throw this.fatal;
      }
      gen.cancels = raw?.capabilities?.cancel_request === true;
      await connection.sendNotification(Initialized, {});
    } catch (error) {
      if (error instanceof ResponseError && CONNECTION_LOST.has(error.code)) {
        // The pipe closed before the crash report was ready: wait a moment for it, since it
        // names the exit code and carries the server's last stderr lines.
        const report = await Promise.race([gen.crashed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
        await proc.stop(0);
        if (report) {
          const tail = gen.proc.stderrTail().slice(-10);
          const stderr = tail.length > 0 ? `; its last stderr lines:\n  ${tail.join('\n  ')}` : '; it wrote nothing to stderr';
          throw new Error(`plugin "${pluginName}" (${command}) died during the handshake: ${report.message}${stderr}`, { cause: error });
        }
      } else {
        await proc.stop(0);
      }
      if (error instanceof ResponseError) throw new Error(`plugin "${pluginName}" (${command}): initialize failed: ${error.message} (code ${error.code})`, { cause: error });
      throw error;
    } finally {
      clearTimeout(timer);
    }
    this.current = gen;
    this.note('info', { serverPid: proc.pid }, `plugin "${pluginName}": component server started (pid ${proc.pid})`);
    return gen;
  }

  private onExit(gen: Generation): void {
    if (this.closing || this.fatal || gen !== this.current) return;
    this.current = undefined;
    const exit = gen.report?.data as { exitCode?: number; signal?: string } | undefined;
    this.note('warn', { serverPid: gen.proc.pid, exitCode: exit?.exitCode, signal: exit?.signal, restartInMs: this.backoffMs, stderr: gen.proc.stderrTail().slice(-5) },
      `plugin "${this.o.pluginName}": ${gen.reason ?? 'process exited'}; restarting`);
    if (Date.now() - gen.startedAt >= this.o.backoff.healthyMs) this.backoffMs = this.o.backoff.initialMs;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.backoff.maxMs);
    this.ready = (async () => {
      await delay(wait, this.closed.signal);
      if (this.closing) throw new Error(`plugin "${this.o.pluginName}" is closed`);
      this.o.onRestart();
      metricsSink()?.serverRestarted(this.o.pluginName);
      this.note('info', {}, `plugin "${this.o.pluginName}": restarting the component server`);
      try {
        return await this.launch();
      } catch (error) {
        this.note('error', {}, `plugin "${this.o.pluginName}": restart failed: ${(error as Error).message}`);
        if (!this.closing && !this.fatal) this.scheduleRestart();
        throw error;
      }
    })();
    this.ready.catch(() => undefined);
  }

  private crashReport(gen: Generation, exit: ServerExit): CrashReport {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const why = gen.reason ? ` (${gen.reason})` : '';
    return {
      message: `plugin "${this.o.pluginName}" (${this.o.command}) ${how}${why}`,
      data: { plugin: this.o.pluginName, pid: gen.proc.pid, ...exit, stderr: gen.proc.stderrTail() },
    };
  }

  /** NDJSON framing also takes responses to the runtime's requests and the server's callbacks off vscode-jsonrpc. */
  private framing(proc: ServerProcess, find: (o: ObservabilityContext, attempt: number) => LiveExecution | undefined): {
    reader: MessageReader; writer: MessageWriter; outputs: OutputReceiver; direct?: DirectCalls; directCallbacks?: DirectRequests;
  } {
    const log = (message: string) => this.note('warn', {}, `plugin "${this.o.pluginName}": ${message}`);
    if (this.o.framing === 'content-length') {
      const writer = new StreamMessageWriter(proc.stdin);
      return { reader: new StreamMessageReader(proc.stdout), writer, outputs: new OutputReceiver({ runtime: this.o.runtime, writer, find, log }) };
    }
    const writer = new NdjsonMessageWriter(proc.stdin);
    const outputs = new OutputReceiver({ runtime: this.o.runtime, writer, find, log });
    const direct = new DirectCalls(writer, 'w');
    const directCallbacks = new DirectRequests(writer, this.callbacks);
    const invalid = new InvalidLines(log);
    void proc.exited.then(() => invalid.flush());
    const reader = new NdjsonMessageReader(proc.stdout, {
      onInvalidLine: (line, reason) => {
        this.o.onInvalidLine();
        invalid.add(line, reason);
      },
      intercept: (message) => direct.intercept(message) || directCallbacks.intercept(message) || outputs.intercept(message),
      // A callback over a limit is answered, or the component would wait for ever.
      onRefusedRequest: (id, error) => { writer.write({ jsonrpc: '2.0', id, error } as Message).catch(() => undefined); },
      ...(this.o.maxMessageBytes !== undefined ? { maxLineBytes: this.o.maxMessageBytes } : {}),
      ...(this.o.maxJsonDepth !== undefined ? { maxDepth: this.o.maxJsonDepth } : {}),
    });
    return { reader, writer, outputs, direct, directCallbacks };
  }

  private logger(): Logger {
    const warn = (message: string) => this.note('warn', {}, `plugin "${this.o.pluginName}": ${message}`);
    return { error: warn, warn, info: () => undefined, log: () => undefined };
  }

  /** A diagnostic: to the plugin's own `log` when it has one, else a structured line naming the plugin. */
  private note(level: 'info' | 'warn' | 'error', fields: LogFields, message: string): void {
    if (this.o.log) {
      if (level !== 'info') this.o.log(message);
      return;
    }
    if (logEnabled(level)) log(level, { plugin: this.o.pluginName, ...fields }, message);
  }

  /**
   * One stderr line of the component server, when shown: with the run, item and step of
   * the execution it belongs to when only one is in flight on this process (with several,
   * a line cannot be told apart; the count says so).
   */
  private stderrLine(line: string): void {
    const fields: LogFields = { plugin: this.o.pluginName, serverPid: this.current?.proc.pid };
    const only = this.served.only();
    if (only) {
      Object.assign(fields, { runId: only.runId, itemIndex: only.itemIndex, stepId: only.stepId, spanId: only.spanId });
    } else if (this.served.size > 1) {
      fields.executing = this.served.size;
    }
    // Asked for (WEFT_COMPONENT_STDERR=verbose) means shown: at warn when the level hides info.
    log(logEnabled('info') ? 'info' : 'warn', fields, `[${this.o.pluginName}] ${line}`);
  }
}

/**
 * The components/execute in flight on `gen` for this run, item, step and attempt: a scan of
 * the calls in flight, made only for streamed chunks, so that a step that streams nothing
 * costs nothing more than before.
 */
function findExecution(gen: Generation, o: ObservabilityContext, attempt: number): LiveExecution | undefined {
  for (const [end, params] of gen.pending) {
    const p = params as Partial<ComponentExecuteParams> | undefined;
    const po = p?.observability;
    if (p?.attempt === attempt && po && po.step_id === o.step_id && po.item_index === o.item_index && po.run_id === o.run_id) {
      return { fail: (error) => end({ kind: 'error', error }) };
    }
  }
  return undefined;
}

function failedOutcome(error: unknown, pluginName: string): CallOutcome<never> {
  if (error instanceof ResponseError && !CONNECTION_LOST.has(error.code)) return { kind: 'error', error };
  return { kind: 'unreachable', message: `plugin "${pluginName}": ${(error as Error)?.message ?? String(error)}` };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); done(); }, { once: true });
  });
}
