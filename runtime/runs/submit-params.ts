import type { BlobId, SubmitRunParams } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError, formatValidationError, normalizeBlobId, validationIssues, validatorFor } from '../../protocol/index.js';

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
  variables?: Record<string, unknown>; timeoutSecs?: number; subflowKey?: string; flowLabel?: string; affinity?: 'creator';
}

/**
 * Checks runs/submit params, the wire's and the embedding API's, once, against
 * schemas/protocol.json#/$defs/SubmitRunParams: the schema is the one statement of what
 * is valid (the stdio callback does not check them again), and the error names the field.
 */
export function checkSubmitParams(p: SubmitRunParams): CheckedSubmit {
  const bad = (msg: string) => new ProtocolError(ErrorCodes.InvalidParams, `runs/submit: ${msg}`);
  if (!p || typeof p !== 'object') throw bad('params must be an object');
  // JSON carries arrays; the embedding API may pass any iterable (e.g. a generator over a file), which the schema cannot see.
  const validate = validatorFor('protocol', 'SubmitRunParams');
  if (!validate(Array.isArray(p.inputs) || !isIterable(p.inputs) ? p : { ...p, inputs: [] })) {
    throw bad(formatValidationError(undefined, validationIssues(validate.errors, 'params')).replace(/\n/g, '; '));
  }
  const mc = p.maxConcurrency;
  return {
    flowId: normalizeBlobId(p.flowId)!, // the schema's pattern admits only ids it normalizes
    inputs: p.inputs,
    wait: p.wait === true,
    ...(mc ? { maxConcurrency: mc } : {}),
    ...(p.overrides ? { overrides: p.overrides } : {}),
    ...(p.variables ? { variables: p.variables } : {}),
    ...(typeof p.timeoutSecs === 'number' ? { timeoutSecs: p.timeoutSecs } : {}),
    ...(p.subflowKey ? { subflowKey: String(p.subflowKey) } : {}),
    ...(p.flowLabel ? { flowLabel: String(p.flowLabel) } : {}),
    ...(p.affinity === 'creator' ? { affinity: 'creator' as const } : {}),
  };
}
