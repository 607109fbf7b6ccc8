import type { Flow } from '../../protocol/index.js';

/** Ids of steps an expression can reference (statically; `$literal` contents are data). */
export function stepRefs(expr: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(expr)) {
    for (const e of expr) stepRefs(e, out);
  } else if (expr && typeof expr === 'object') {
    const o = expr as Record<string, unknown>;
    if ('$literal' in o) return out;
    if (typeof o.$step === 'string') out.add(o.$step);
    for (const v of Object.values(o)) stepRefs(v, out);
  }
  return out;
}

/** `fromStep` and every step that depends on it, transitively: what a fork re-executes. */
export function downstreamOf(flow: Flow, fromStep: string): Set<string> {
  const steps = flow.steps ?? [];
  const redo = new Set([fromStep]);
  // Steps may reference only earlier steps, so one pass in order is enough.
  for (const step of steps) {
    if (redo.has(step.id)) continue;
    for (const ref of stepRefs(step.input)) if (redo.has(ref)) { redo.add(step.id); break; }
  }
  return redo;
}
