import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { Flow, StepOverrides } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError } from '../../protocol/index.js';

/**
 * Stepflow's step overrides: `{stepId: {$type?: 'merge_patch' | 'json_patch', value}}`,
 * also accepted wrapped in `{steps: {...}}` (the shape of Stepflow's generated schema).
 * Returns a new flow; the stored flow is never modified.
 */
export function applyOverrides(flow: Flow, overrides: unknown): Flow {
  const table = unwrap(overrides);
  if (!table || Object.keys(table).length === 0) return flow;
  const steps = (flow.steps ?? []).map((s) => ({ ...s }));
  for (const [stepId, override] of Object.entries(table)) {
    const index = steps.findIndex((s) => s.id === stepId);
    if (index < 0) throw invalid(`overrides: unknown step "${stepId}"`);
    if (!override || typeof override !== 'object' || !('value' in override)) {
      throw invalid(`overrides.${stepId}: expected {"$type"?: "merge_patch" | "json_patch", "value": ...}`);
    }
    const kind = override.$type ?? 'merge_patch';
    let patched: unknown;
    if (kind === 'merge_patch') {
      patched = mergePatch(steps[index], override.value);
    } else if (kind === 'json_patch') {
      if (!Array.isArray(override.value)) throw invalid(`overrides.${stepId}.value: a json_patch is an array of operations`);
      try {
        patched = fastJsonPatch.applyPatch(structuredClone(steps[index]), override.value as Operation[], true, false).newDocument;
      } catch (error) {
        throw invalid(`overrides.${stepId}: json_patch failed: ${(error as Error).message.split('\n')[0]}`);
      }
    } else {
      throw invalid(`overrides.${stepId}.$type: must be "merge_patch" or "json_patch", got ${JSON.stringify(kind)}`);
    }
    const step = patched as Flow['steps'] extends (infer S)[] | null | undefined ? S : never;
    if (!step || typeof step !== 'object' || step.id !== stepId) throw invalid(`overrides.${stepId}: an override may not change or remove the step id`);
    steps[index] = step;
  }
  return { ...flow, steps };
}

function unwrap(overrides: unknown): StepOverrides | undefined {
  if (overrides === null || overrides === undefined) return undefined;
  if (typeof overrides !== 'object' || Array.isArray(overrides)) throw invalid('overrides: expected an object keyed by step id');
  const o = overrides as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === 'steps' && o.steps && typeof o.steps === 'object' && !('value' in (o.steps as object))) {
    return o.steps as StepOverrides;
  }
  return o as StepOverrides;
}

/** RFC 7396 JSON Merge Patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const invalid = (message: string) => new ProtocolError(ErrorCodes.InvalidParams, message);
