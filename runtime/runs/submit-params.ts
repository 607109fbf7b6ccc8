import type { BlobId, SubmitRunParams } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError, normalizeBlobId } from '../../protocol/index.js';

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

export function timeoutMs(secs: number | null | undefined): number | undefined {
  return typeof secs === 'number' && secs >= 0 ? secs * 1000 : undefined;
}

export function normalizeOrder(order: unknown): 'byIndex' | 'byCompletion' {
  if (order === undefined || order === null || order === 'byIndex' || order === 'by_index') return 'byIndex';
  if (order === 'byCompletion' || order === 'by_completion') return 'byCompletion';
  throw new ProtocolError(ErrorCodes.InvalidParams, `runs/get: resultOrder must be "byIndex" or "byCompletion", got ${JSON.stringify(order)}`);
}

/** runs/submit params after checking: defaults applied, nulls dropped, the blob id normalized. */
export interface CheckedSubmit {
  flowId: BlobId; inputs: Iterable<unknown>; wait: boolean; maxConcurrency?: number; overrides?: unknown;
  variables?: Record<string, unknown>; timeoutSecs?: number; subflowKey?: string; flowLabel?: string;
}

/** Checks runs/submit params (the wire's and the embedding API's), naming the field at fault. */
export function checkSubmitParams(p: SubmitRunParams): CheckedSubmit {
  const bad = (msg: string) => new ProtocolError(ErrorCodes.InvalidParams, `runs/submit: ${msg}`);
  if (!p || typeof p !== 'object') throw bad('params must be an object');
  const flowId = normalizeBlobId(p.flowId);
  if (!flowId) throw bad(`flowId must be a blob id ("sha256:<64 hex>" or 64 hex), got ${JSON.stringify(p.flowId)}`);
  // JSON carries arrays; the embedding API may pass any iterable (e.g. a generator over a file).
  if (!Array.isArray(p.inputs) && !isIterable(p.inputs)) throw bad('inputs must be an array (one element per item)');
  const mc = p.maxConcurrency;
  if (mc !== undefined && mc !== null && (!Number.isInteger(mc) || mc < 1)) throw bad(`maxConcurrency must be a positive integer, got ${JSON.stringify(mc)}`);
  if (p.variables !== undefined && p.variables !== null && (typeof p.variables !== 'object' || Array.isArray(p.variables))) throw bad('variables must be an object');
  if (p.timeoutSecs !== undefined && p.timeoutSecs !== null && !(typeof p.timeoutSecs === 'number' && p.timeoutSecs >= 0)) throw bad('timeoutSecs must be a non-negative number');
  return {
    flowId,
    inputs: p.inputs,
    wait: p.wait === true,
    ...(mc ? { maxConcurrency: mc } : {}),
    ...(p.overrides ? { overrides: p.overrides } : {}),
    ...(p.variables ? { variables: p.variables } : {}),
    ...(typeof p.timeoutSecs === 'number' ? { timeoutSecs: p.timeoutSecs } : {}),
    ...(p.subflowKey ? { subflowKey: String(p.subflowKey) } : {}),
    ...(p.flowLabel ? { flowLabel: String(p.flowLabel) } : {}),
  };
}
