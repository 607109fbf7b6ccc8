import type { ResponseError } from 'vscode-jsonrpc/node';
import { ComponentsExecute, ComponentsList, ErrorCodes, failure, success } from '../../protocol/index.js';
import type { ComponentExecuteResult, ComponentInfo, FlowResult, TaskErrorCode } from '../../protocol/index.js';
import type { StdioPluginConfig } from '../api/config-types.js';
import { parentOf } from '../telemetry/span-ids.js';
import { activeTracer } from '../telemetry/tracer.js';
import type { ExecuteRequest, Plugin } from './plugin.js';
import type { RuntimeContext } from './runtime-context.js';
import { StdioInstance } from './stdio-instance.js';
import type { CallOutcome } from './stdio-instance.js';

export interface StdioPluginOptions extends Omit<StdioPluginConfig, 'type' | 'transport'> {
  name: string;
  /** Absolute: the child's cwd and the base for a relative command. */
  workingDirectory: string;
  /** Diagnostics (garbage lines, restarts, verbose stderr) as plain lines; default: the runtime's log (telemetry/logger.ts). */
  log?: (message: string) => void;
  /** Restart backoff: initial delay doubling to max; reset after a process lived healthyMs. */
  backoff?: { initialMs?: number; maxMs?: number; healthyMs?: number };
  /** Shutdown ladder step (stdin end → wait → SIGTERM → wait → SIGKILL). */
  stopGraceMs?: number;
  /** Overrides handshakeTimeoutSecs (tests). */
  handshakeTimeoutMs?: number;
  /** limits.maxMessageBytes (default 64 MiB): the largest output or callback line. */
  maxMessageBytes?: number;
  /** limits.maxJsonDepth (default 256). */
  maxJsonDepth?: number;
}

/** How long a server may take to answer initialize unless its config says otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT_SECS = 60;

export interface StdioPluginStats { invalidLines: number; restarts: number; inFlight: number }

/**
 * A component server run as `instances` child processes speaking JSON-RPC over stdio.
 * Failures are data: a server error, crash, timeout or cancellation becomes a failed
 * FlowResult (crashes as UNREACHABLE, which executeWithRetries retries).
 */
export class StdioPlugin implements Plugin {
  readonly name: string;
  private instances: StdioInstance[] = [];
  private components?: Promise<ComponentInfo[]>;
  private invalidLines = 0;
  private restarts = 0;
  private turn = 0;

  readonly affinity: 'creator' | undefined;

  constructor(private readonly options: StdioPluginOptions) {
    this.name = options.name;
    this.affinity = options.affinity;
  }

  async init(runtime: RuntimeContext): Promise<void> {
    const o = this.options;
    const count = Math.max(1, o.instances ?? 1);
    this.instances = Array.from({ length: count }, () => new StdioInstance({
      pluginName: o.name, command: o.command, args: o.args ?? [], env: o.env, cwd: o.workingDirectory,
      framing: o.framing ?? 'ndjson', runtime, ...(o.log ? { log: o.log } : {}),
      onInvalidLine: () => { this.invalidLines++; },
      onRestart: () => { this.restarts++; },
      backoff: { initialMs: o.backoff?.initialMs ?? 100, maxMs: o.backoff?.maxMs ?? 5000, healthyMs: o.backoff?.healthyMs ?? 10_000 },
      stopGraceMs: o.stopGraceMs ?? 2000,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? (o.handshakeTimeoutSecs ?? DEFAULT_HANDSHAKE_TIMEOUT_SECS) * 1000,
      ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
      ...(o.maxJsonDepth !== undefined ? { maxJsonDepth: o.maxJsonDepth } : {}),
    }));
    const started = await Promise.allSettled(this.instances.map((instance) => instance.start()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
  }

  listComponents(): Promise<ComponentInfo[]> {
    this.components ??= this.pick().request(ComponentsList, {}).then((outcome) => {
      if (outcome.kind === 'ok') return outcome.value.components ?? [];
      throw new Error(`plugin "${this.name}": components/list failed: ${describe(outcome)}`);
    });
    // A failed listing is not cached: the next caller asks again.
    this.components.catch(() => { this.components = undefined; });
    return this.components;
  }

  async componentInfo(component: string): Promise<ComponentInfo | undefined> {
    return (await this.listComponents()).find((info) => info.component === component);
  }

  async execute(request: ExecuteRequest): Promise<FlowResult> {
    const { caller, component } = request;
    const step = caller.stepId ?? request.observability.step_id ?? component;
    let observability = request.observability;
    // Copied only when the caller fills a gap (the executor always sends all three).
    if ((caller.runId && !observability.run_id) || (caller.stepId && !observability.step_id) || (caller.itemIndex !== undefined && observability.item_index === undefined)) {
      observability = { ...observability };
      if (caller.runId && !observability.run_id) observability.run_id = caller.runId;
      if (caller.stepId && !observability.step_id) observability.step_id = caller.stepId;
      if (caller.itemIndex !== undefined && observability.item_index === undefined) observability.item_index = caller.itemIndex;
    }

    // Tracing on: the call is a CLIENT span under the step's, and the server's spans hang under it.
    const tracer = activeTracer();
    const span = tracer?.startSpan(ComponentsExecute.method, {
      kind: 'client',
      ...(parentOf(observability) ? { parent: parentOf(observability) } : {}),
      attributes: {
        'rpc.system.name': 'jsonrpc', 'rpc.method': ComponentsExecute.method, 'jsonrpc.protocol.version': '2.0',
        'weft.plugin': this.name, 'weft.component': request.componentPath ?? component, 'weft.step.attempt': request.attempt,
      },
    });
    if (span) observability = { ...observability, trace_id: span.context.traceId, span_id: span.context.spanId };

    const timeoutSecs = this.options.timeoutSecs;
    const instance = this.pick();
    // While it is in flight, the server's callbacks can be told apart as this execution's.
    const served = instance.served.begin({
      runId: caller.runId ?? observability.run_id, itemIndex: caller.itemIndex ?? observability.item_index,
      stepId: caller.stepId ?? observability.step_id, attempt: request.attempt, spanId: observability.span_id,
    });
    try {
      const outcome = await instance.request(ComponentsExecute,
        { component, input: request.input ?? null, attempt: request.attempt, observability },
        { timeoutMs: timeoutSecs === undefined ? undefined : timeoutSecs * 1000, signal: request.signal });
      if (span) {
        if (outcome.kind === 'error') span.setAttributes({ 'rpc.response.status_code': String(outcome.error.code) });
        if (outcome.kind === 'error') span.fail(String(outcome.error.code), outcome.error.message);
        else if (outcome.kind !== 'ok') span.fail(outcome.kind, outcome.kind === 'unreachable' ? outcome.message : outcome.kind);
        span.end();
      }
      return this.toFlowResult(outcome, step, component);
    } finally {
      served();
    }
  }

  stats(): StdioPluginStats {
    return {
      invalidLines: this.invalidLines,
      restarts: this.restarts,
      inFlight: this.instances.reduce((sum, instance) => sum + instance.inFlight, 0),
    };
  }

  /** The pids of the running processes (one per instance; undefined while restarting). */
  pids(): Array<number | undefined> {
    return this.instances.map((instance) => instance.pid);
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.close()));
  }

  private toFlowResult(outcome: CallOutcome<ComponentExecuteResult>, step: string, component: string): FlowResult {
    const where = `step "${step}" failed`;
    switch (outcome.kind) {
      case 'ok': {
        const result = outcome.value as unknown;
        if (result !== null && typeof result === 'object' && 'output' in result) return success((result as ComponentExecuteResult).output);
        return failure('WORKER_ERROR', `${where}: plugin "${this.name}" answered components/execute for "${component}" without an "output"`, { result });
      }
      case 'error': {
        const { code, message, data } = outcome.error;
        return failure(taskCodeOf(code), `${where}: ${message}`, data === undefined ? { code, message } : { code, message, data });
      }
      case 'unreachable':
        return failure('UNREACHABLE', `${where}: ${outcome.message}`, outcome.data);
      case 'timeout':
        return failure('TIMEOUT', `${where}: component "${component}" on plugin "${this.name}" did not answer within ${this.options.timeoutSecs}s`);
      case 'cancelled':
        return failure('CANCELLED', `step "${step}" was cancelled`);
    }
  }

  /** Least requests in flight; ties rotate so idle instances share the work. */
  private pick(): StdioInstance {
    if (this.instances.length === 0) throw new Error(`plugin "${this.name}" is not initialized (call init first)`);
    const n = this.instances.length;
    const start = this.turn++ % n;
    let best = this.instances[start];
    for (let i = 1; i < n; i++) {
      const candidate = this.instances[(start + i) % n];
      if (candidate.inFlight < best.inFlight) best = candidate;
    }
    return best;
  }
}

/** SE-era server codes → TaskErrorCode (reference/protocol.md §10.4, "Recommendation"). */
export function taskCodeOf(code: number): TaskErrorCode {
  switch (code) {
    case ErrorCodes.ComponentNotFound: return 'COMPONENT_NOT_FOUND';
    case ErrorCodes.ServerNotInitialized: return 'INVALID_INPUT';
    case ErrorCodes.RequestCancelled: return 'CANCELLED';
    default: return 'COMPONENT_FAILED';
  }
}

function describe(outcome: Exclude<CallOutcome<unknown>, { kind: 'ok' }>): string {
  switch (outcome.kind) {
    case 'error': return `${(outcome.error as ResponseError<unknown>).message} (code ${outcome.error.code})`;
    case 'unreachable': return outcome.message;
    default: return outcome.kind;
  }
}
