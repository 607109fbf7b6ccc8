import { Disposable, RequestType, ResponseError } from 'vscode-jsonrpc/node';
import type { CancellationToken, MessageConnection } from 'vscode-jsonrpc/node';
import type { ValidateFunction } from 'ajv';
import {
  BlobsGet, BlobsPut, ErrorCodes, InputsAwait, ProtocolError, RunsGet, RunsSubmit,
  formatValidationError, validationIssues, validatorFor,
} from '../../protocol/index.js';
import type { GetBlobResult, ObservabilityContext } from '../../protocol/index.js';
import type { DirectHandler } from '../../protocol/direct-requests.js';
import { parentOf } from '../telemetry/span-ids.js';
import { activeTracer } from '../telemetry/tracer.js';
import type { CallerContext, RuntimeContext } from './runtime-context.js';
import type { ServedExecutions } from './served-executions.js';

/** Answers one callback's params; `token` is cancelled when the server cancels the request. */
export type CallbackHandler = DirectHandler;

/**
 * A component server's calls back into the runtime (blobs/*, runs/*, inputs/await) by
 * method, answered through `runtime`. Params are validated against schemas/protocol.json
 * when it has a $def for them (-32602 naming the path; runs/submit's by the runtime); ProtocolErrors go back with their
 * own code; anything else becomes -32000.
 */
export function runtimeCallbacks(runtime: RuntimeContext, served?: ServedExecutions): Map<string, CallbackHandler> {
  const handler = <P, R>(type: RequestType<P, R, void>, def: string | undefined, answer: (params: P, caller: CallerContext) => Promise<R>) =>
    callbackHandler(type, def, answer, served);
  return new Map([
    [BlobsPut.method, handler(BlobsPut, 'PutBlobParams', async (p, caller) =>
      ({ blob_id: await runtime.putBlob(p.blob_type === 'binary' ? bytesFromWire(p.data) : p.data, p.blob_type, caller) }))],
    [BlobsGet.method, handler(BlobsGet, 'GetBlobParams', async (p, caller): Promise<GetBlobResult> => {
      const blob = await runtime.getBlob(p.blob_id, caller);
      // JSON has no bytes: binary blobs travel as base64 strings both ways (the SDK does the same),
      // typed `data` with `encoding: base64` since Stepflow's SDK knows no `binary` blob type.
      if (blob.blobType !== 'binary') return { data: blob.data, blob_type: blob.blobType };
      return { data: Buffer.from(blob.data as Uint8Array).toString('base64'), blob_type: 'data', encoding: 'base64' };
    })],
    // Checked once, by the runtime against the same $def (checkSubmitParams), for the wire and the embedding API alike.
    [RunsSubmit.method, handler(RunsSubmit, undefined, (p, caller) => runtime.submitRun(p, caller))],
    [RunsGet.method, handler(RunsGet, 'GetRunParams', (p, caller) => runtime.getRun(p, caller))],
    [InputsAwait.method, handler(InputsAwait, 'AwaitInputParams', async (p, caller) =>
      ({ value: await runtime.awaitInput(p, caller) }))],
  ]);
}

/** Serves `callbacks` on a vscode-jsonrpc connection; methods not among them get its -32601. */
export function serveCallbacks(connection: MessageConnection, callbacks: Map<string, CallbackHandler>): Disposable {
  const registered = [...callbacks].map(([method, handle]) =>
    // A RequestType (one param), so a request without params gets vscode-jsonrpc's -32602.
    connection.onRequest(new RequestType<unknown, unknown, void>(method), handle));
  return Disposable.create(() => { for (const d of registered) d.dispose(); });
}

/** A binary blob's data on the wire: a base64 string. */
function bytesFromWire(data: unknown): Uint8Array {
  if (typeof data !== 'string') throw new ProtocolError(ErrorCodes.InvalidParams, 'blobs/put: a binary blob\'s data must be a base64 string');
  return new Uint8Array(Buffer.from(data, 'base64'));
}

function callbackHandler<P, R>(
  type: RequestType<P, R, void>, def: string | undefined, answer: (params: P, caller: CallerContext) => Promise<R>, served: ServedExecutions | undefined,
): CallbackHandler {
  const method = type.method;
  return async (params: unknown, token: CancellationToken): Promise<R> => {
    const validate = def ? protocolValidator(def) : undefined;
    if (validate && !validate(params)) {
      const detail = formatValidationError(undefined, validationIssues(validate.errors, 'params'));
      throw new ProtocolError(ErrorCodes.InvalidParams, `Invalid parameters for ${method}: ${detail}`);
    }
    const observability = (params as { observability?: ObservabilityContext | null } | undefined)?.observability ?? undefined;
    let signal: AbortSignal | undefined;
    const signalOf = () => (signal ??= abortSignalOf(token));
    // Who calls is what weft serves on that connection; only the span to hang under is the server's echo.
    const caller = served ? withSignal(served.callerOf(observability), signalOf) : callerOf(observability, signalOf);
    const echoed = parentOf(observability);
    if (echoed) caller.trace = echoed;
    // Tracing on: a SERVER span per callback, under the span the server says it calls from
    // (what Stepflow's handle_method_call does); a sub-run it submits hangs under it.
    const tracer = activeTracer();
    const span = tracer?.startSpan(method, {
      kind: 'server',
      ...(caller.trace ? { parent: caller.trace } : {}),
      attributes: { 'rpc.system.name': 'jsonrpc', 'rpc.method': method, 'weft.run.id': caller.runId, 'weft.item.index': caller.itemIndex, 'weft.step.id': caller.stepId },
    });
    if (span) caller.trace = span.context;
    try {
      return await answer(params as P, caller);
    } catch (error) {
      if (span) span.fail(error instanceof ResponseError ? String(error.code) : 'Error', (error as Error)?.message ?? String(error));
      if (error instanceof ResponseError) throw error;
      throw new ResponseError(ErrorCodes.ServerError, `${method} failed: ${(error as Error)?.message ?? String(error)}`);
    } finally {
      span?.end();
    }
  };
}

/**
 * The execution a callback belongs to, taken from the observability context as the
 * server echoes it (for a context with no connection of its own; stdio plugins map
 * callbacks to what they serve with ServedExecutions).
 */
export function callerOf(observability: ObservabilityContext | undefined, signal?: () => AbortSignal): CallerContext {
  const caller: CallerContext = {};
  if (observability?.run_id) caller.runId = observability.run_id;
  if (typeof observability?.item_index === 'number') caller.itemIndex = observability.item_index;
  if (observability?.step_id) caller.stepId = observability.step_id;
  const trace = parentOf(observability);
  if (trace) caller.trace = trace;
  // Made when first read: an AbortSignal costs ~2 µs, and most callbacks never look at theirs.
  if (signal) Object.defineProperty(caller, 'signal', { get: signal, enumerable: true });
  return caller;
}

function withSignal(caller: CallerContext, signal: () => AbortSignal): CallerContext {
  Object.defineProperty(caller, 'signal', { get: signal, enumerable: true });
  return caller;
}

function abortSignalOf(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

// schemas/protocol.json is written concurrently: a missing $def means "not validated yet".
const validators = new Map<string, ValidateFunction | null>();
function protocolValidator(def: string): ValidateFunction | undefined {
  if (!validators.has(def)) {
    try {
      validators.set(def, validatorFor('protocol', def));
    } catch {
      validators.set(def, null);
    }
  }
  return validators.get(def) ?? undefined;
}
