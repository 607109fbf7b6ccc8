import {
  StreamMessageReader, StreamMessageWriter, createMessageConnection,
} from 'vscode-jsonrpc/node';
import type { CancellationToken, ConnectionOptions, MessageConnection, MessageReader, MessageWriter } from 'vscode-jsonrpc/node';
import { ComponentErrorCodes, ErrorCodes, ProtocolError } from '../protocol/errors.js';
import { ComponentsExecute, ComponentsInferSchema, ComponentsInfo, ComponentsList } from '../protocol/methods/components.js';
import { Initialize, Initialized, RUNTIME_PROTOCOL_VERSION } from '../protocol/methods/initialize.js';
import { NdjsonMessageReader, NdjsonMessageWriter } from '../protocol/ndjson.js';
import type { ComponentExecuteParams, ComponentInfo } from '../protocol/index.js';
import { DirectRequests } from '../protocol/direct-requests.js';
import type { DirectRequestHooks } from '../protocol/direct-requests.js';
import { DEFAULT_OUTPUT_WINDOW, ExecutionContext } from './component-context.js';
import { defineComponent } from './define-component.js';
import type { ComponentDefinition, ComponentHandler, ComponentOptions, JsonSchema } from './define-component.js';
import type { InputOf } from './schema-type.js';
import { interceptReader } from './intercept-reader.js';
import { OutputChannel } from './output-channel.js';
import { RequestTracker } from './request-tracker.js';
import { RuntimeCalls } from './runtime-calls.js';
import { guardStdout } from './stdio-guard.js';

/** The protocol version this SDK speaks (Stepflow's stdio era is 1). */
export const SERVER_PROTOCOL_VERSION = RUNTIME_PROTOCOL_VERSION;

export interface ServeStdioOptions {
  /** `ndjson` (default, Stepflow's framing) or LSP-style `content-length` headers. */
  framing?: 'ndjson' | 'content-length';
  /**
   * Exit the process once stdin has ended (the runtime closes stdin to shut a server down)
   * and the requests already received have been answered. Default true.
   */
  exitOnClose?: boolean;
  /**
   * When stdin ends, running executions see `ctx.signal` abort, and the server leaves after
   * at most this long even if one of them ignores it (default 3000 ms): a server whose
   * runtime was killed must not linger as an orphan.
   */
  shutdownGraceMs?: number;
}

/**
 * A component server: a registry of components served over one JSON-RPC connection.
 * Every request is handled in its own async handler, so many executions run at once.
 */
export class ComponentServer {
  private readonly components = new Map<string, ComponentDefinition>();
  /** Executions in progress: told to stop when the connection goes away. */
  private readonly running = new Set<ExecutionContext>();
  private connection: MessageConnection | undefined;
  private outputs: OutputChannel | undefined;

  /** `outputWindow`: chunks of one execution in flight, not yet taken, before `ctx.emit` waits (default 64). */
  constructor(private readonly serverOptions: { outputWindow?: number } = {}) {}

  /**
   * Registers `'/' + name`; chainable, so a server is five lines. `input` is typed from
   * `inputSchema` (see SchemaType), or by annotating the handler's parameter.
   */
  component<const S extends JsonSchema | undefined = undefined, O = unknown, I = InputOf<S>>(name: string, options: ComponentOptions<S>, handler: ComponentHandler<I, O>): this {
    return this.register(defineComponent(name, options, handler));
  }

  register(definition: ComponentDefinition): this {
    if (this.components.has(definition.path)) throw new Error(`component '${definition.path}' is already registered`);
    this.components.set(definition.path, definition);
    return this;
  }

  listComponents(): ComponentInfo[] {
    return [...this.components.values()].map((c) => c.info);
  }

  /**
   * Serves on any reader/writer pair (stdio, a socket, a test stream). `hooks` hear of the
   * components/execute requests answered past the connection (serveStdio counts them).
   */
  listen(reader: MessageReader, writer: MessageWriter, options?: ConnectionOptions, hooks?: DirectRequestHooks): MessageConnection {
    if (this.connection) throw new Error('this ComponentServer is already serving');
    const calls = new RuntimeCalls(writer);
    const outputs = (this.outputs = new OutputChannel(writer));
    // Executions start, and the runtime's answers to our callbacks arrive, as they are read.
    const executes = new DirectRequests(writer,
      new Map([[ComponentsExecute.method, (params, token) => this.execute(calls, params as ComponentExecuteParams, token)]]), hooks);
    const connection = createMessageConnection(
      interceptReader(reader, (message) => calls.intercept(message) || executes.intercept(message) || outputs.intercept(message)), writer, undefined, options);
    calls.follow(connection);
    connection.onDispose(() => outputs.close(new Error('ctx.emit: the connection to the runtime is gone')));
    this.connection = connection;
    this.registerHandlers(connection, calls);
    connection.listen();
    return connection;
  }

  /**
   * Serves on stdin/stdout. console.log & co. go to stderr meanwhile (stdout is the wire).
   * Resolves when stdin ends; then exits the process unless `exitOnClose: false`.
   */
  serveStdio(options: ServeStdioOptions = {}): Promise<void> {
    const restoreConsole = guardStdout();
    const [reader, writer] = options.framing === 'content-length'
      ? [new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout)]
      : [new NdjsonMessageReader(process.stdin, { onInvalidLine: reportInvalidLine }), new NdjsonMessageWriter(process.stdout)];
    const tracker = new RequestTracker();
    const connection = this.listen(tracker.wrap(reader), writer, { messageStrategy: tracker }, tracker.direct);
    return new Promise((resolve) => {
      let closing = false;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        restoreConsole();
        resolve();
        // Let the last responses reach the pipe before leaving.
        if (options.exitOnClose !== false) process.stdout.write('', () => process.exit(0));
      };
      const close = async () => {
        if (closing) return;
        closing = true;
        // The runtime is gone or shutting down: running components are told to stop, and the
        // server leaves after a grace period even if one ignores that (no lingering orphan).
        for (const ctx of this.running) ctx.abort('the runtime closed the connection (stdin ended)');
        setTimeout(finish, options.shutdownGraceMs ?? 3000).unref();
        await tracker.allDispatched();
        // Nobody can answer our callbacks any more: disposing fails them, so their executions end.
        connection.dispose();
        await tracker.allSettled();
        finish();
      };
      process.stdin.once('end', () => void close());
      connection.onClose(() => void close());
      // EPIPE on stdout: the runtime is gone and nothing we write can arrive.
      process.stdout.once('error', () => {
        closing = true;
        connection.dispose();
        finish();
      });
    });
  }

  private registerHandlers(connection: MessageConnection, calls: RuntimeCalls): void {
    connection.onRequest(Initialize, () => ({ server_protocol_version: SERVER_PROTOCOL_VERSION, capabilities: { cancel_request: true } }));
    // The handshake is not enforced (as in Stepflow's SDK): components/* are served before it.
    connection.onNotification(Initialized, () => undefined);
    connection.onRequest(ComponentsList, () => ({ components: this.listComponents() }));
    connection.onRequest(ComponentsInfo, (params) => ({ info: this.find(params?.component).info }));
    connection.onRequest(ComponentsInferSchema, (params) => ({ output_schema: this.find(params?.component).info.output_schema ?? null }));
    connection.onRequest(ComponentsExecute, (params, token) => this.execute(calls, params, token));
    connection.onRequest((method) => {
      throw new ProtocolError(ErrorCodes.MethodNotFound, `Method not found: '${method}'`);
    });
  }

  private async execute(calls: RuntimeCalls, params: ComponentExecuteParams, token: CancellationToken): Promise<{ output: unknown }> {
    const definition = this.find(params?.component);
    const ctx = new ExecutionContext(calls, params, token, this.outputs, this.serverOptions.outputWindow ?? DEFAULT_OUTPUT_WINDOW);
    this.running.add(ctx);
    try {
      return { output: await definition.execute(params.input ?? null, ctx) };
    } finally {
      this.running.delete(ctx);
      ctx.dispose();
    }
  }

  private find(component: unknown): ComponentDefinition {
    const definition = typeof component === 'string' ? this.components.get(component) : undefined;
    if (!definition) {
      throw new ProtocolError(ComponentErrorCodes.ComponentNotFound, `Component '${String(component)}' not found`, { component });
    }
    return definition;
  }
}

function reportInvalidLine(line: string, reason: string): void {
  process.stderr.write(`weft sdk: ignored an input line (${reason}): ${line.slice(0, 200)}\n`);
}
