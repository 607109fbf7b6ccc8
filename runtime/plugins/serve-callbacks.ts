import { CancellationToken, Disposable, ResponseError } from 'vscode-jsonrpc/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import type { ValidateFunction } from 'ajv';
import {
  BlobsGet, BlobsPut, ErrorCodes, InputsAwait, ProtocolError, RunsGet, RunsSubmit,
  formatValidationError, validationIssues, validatorFor,
} from '../../protocol/index.js';
import type { ObservabilityContext } from '../../protocol/index.js';
import type { CallerContext, RuntimeContext } from './runtime-context.js';

/**
 * Answers a component server's calls back into the runtime (blobs/*, runs/*,
 * inputs/await) on its connection, through `runtime`. Params are validated against
 * schemas/protocol.json when it has a $def for them (-32602 naming the path);
 * ProtocolErrors go back with their own code; anything else becomes -32000. Methods
 * not registered here get vscode-jsonrpc's -32601.
 */
export function serveCallbacks(connection: MessageConnection, runtime: RuntimeContext): Disposable {
  return combine([
    connection.onRequest(BlobsPut, handler(BlobsPut.method, 'PutBlobParams', async (p, caller) =>
      ({ blob_id: await runtime.putBlob(p.blob_type === 'binary' ? bytesFromWire(p.data) : p.data, p.blob_type, caller) }))),
    connection.onRequest(BlobsGet, handler(BlobsGet.method, 'GetBlobParams', async (p, caller) => {
      const blob = await runtime.getBlob(p.blob_id, caller);
      // JSON has no bytes: binary blobs travel as base64 strings both ways (the SDK does the same).
      const data = blob.blobType === 'binary' ? Buffer.from(blob.data as Uint8Array).toString('base64') : blob.data;
      return { data, blob_type: blob.blobType };
    })),
    connection.onRequest(RunsSubmit, handler(RunsSubmit.method, 'SubmitRunParams', (p, caller) => runtime.submitRun(p, caller))),
    connection.onRequest(RunsGet, handler(RunsGet.method, 'GetRunParams', (p, caller) => runtime.getRun(p, caller))),
    connection.onRequest(InputsAwait, handler(InputsAwait.method, 'AwaitInputParams', async (p, caller) =>
      ({ value: await runtime.awaitInput(p, caller) }))),
  ]);
}

/** A binary blob's data on the wire: a base64 string. */
function bytesFromWire(data: unknown): Uint8Array {
  if (typeof data !== 'string') throw new ProtocolError(ErrorCodes.InvalidParams, 'blobs/put: a binary blob\'s data must be a base64 string');
  return new Uint8Array(Buffer.from(data, 'base64'));
}

function handler<P, R>(method: string, def: string, answer: (params: P, caller: CallerContext) => Promise<R>) {
  return async (params: P, token: CancellationToken): Promise<R> => {
    const validate = protocolValidator(def);
    if (validate && !validate(params)) {
      const detail = formatValidationError(undefined, validationIssues(validate.errors, 'params'));
      throw new ProtocolError(ErrorCodes.InvalidParams, `Invalid parameters for ${method}: ${detail}`);
    }
    const observability = (params as { observability?: ObservabilityContext | null } | undefined)?.observability ?? undefined;
    try {
      return await answer(params, callerOf(observability, token));
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      throw new ResponseError(ErrorCodes.ServerError, `${method} failed: ${(error as Error)?.message ?? String(error)}`);
    }
  };
}

/** The execution a callback belongs to, from the observability context the server echoes back. */
export function callerOf(observability: ObservabilityContext | undefined, token?: CancellationToken): CallerContext {
  const caller: CallerContext = {};
  if (observability?.run_id) caller.runId = observability.run_id;
  if (typeof observability?.item_index === 'number') caller.itemIndex = observability.item_index;
  if (observability?.step_id) caller.stepId = observability.step_id;
  if (token) caller.signal = abortSignalOf(token);
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

function combine(disposables: Disposable[]): Disposable {
  return Disposable.create(() => { for (const d of disposables) d.dispose(); });
}
