import type { Diagnostic } from './diagnostic.js';
import type { LoadedFlow, LoadedStep } from './load-flow.js';
import { collectNeeds, visitStepRefs } from './value-expr.js';
import type { EvalEnv, Expr } from './value-expr.js';

/**
 * Static checks of `$step` references (flows.md §7): a step may reference only earlier
 * steps, so the graph is acyclic by construction; `output` may reference any step.
 * Returns, per step, whether anything references it (for UnreachableStep).
 */
export function checkStepReferences(steps: readonly LoadedStep[], output: Expr, diags: Diagnostic[]): boolean[] {
  const referenced = new Array<boolean>(steps.length).fill(false);
  for (const step of steps) {
    visitStepRefs(step.input, (ref) => {
      if (ref.index < 0) {
        diags.push({ level: 'fatal', rule: 'UndefinedStepReference', path: ref.at, message: `unknown step "${ref.stepId}"` });
      } else if (ref.index === step.index) {
        diags.push({ level: 'fatal', rule: 'SelfReference', path: ref.at, message: `step "${ref.stepId}" references itself` });
      } else if (ref.index > step.index) {
        diags.push({
          level: 'fatal', rule: 'UndefinedStepReference', path: ref.at,
          message: `step "${ref.stepId}" is defined later (steps[${ref.index}]); a step may only reference earlier steps`,
        });
      } else {
        referenced[ref.index] = true;
      }
    });
  }
  visitStepRefs(output, (ref) => {
    if (ref.index < 0) diags.push({ level: 'fatal', rule: 'UndefinedStepReference', path: ref.at, message: `unknown step "${ref.stepId}"` });
    else referenced[ref.index] = true;
  });
  return referenced;
}

/** Per-step state of one item's execution. */
export const PENDING = 0;
export const RUNNING = 1;
export const DONE = 2;

/**
 * Pushes onto `ready` (ascending) every step that is needed now and can start: the lazy
 * needed set of flows.md §7 — from `output` and the `mustExecute` steps, through what each
 * needed step's input currently needs — restricted to pending steps whose needs are all done.
 */
export function findReadySteps(flow: LoadedFlow, env: EvalEnv, state: Uint8Array, ready: number[]): void {
  const stack: number[] = [];
  collectNeeds(flow.output, env, stack);
  for (const m of flow.mustExecute) if (state[m] !== DONE) stack.push(m);
  const seen = new Uint8Array(state.length);
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (seen[i] === 1) continue;
    seen[i] = 1;
    if (state[i] !== PENDING) continue;
    const before = stack.length;
    collectNeeds(flow.steps[i].input, env, stack);
    if (stack.length === before) ready.push(i);
  }
  if (ready.length > 1) ready.sort((a, b) => a - b);
}

/**
 * `fromStep` and every step that depends on it, transitively (through either `$if`
 * branch): what a fork re-executes. Steps reference only earlier steps, so one pass in
 * order is enough.
 */
export function downstreamSteps(flow: LoadedFlow, fromStep: string): Set<string> {
  const redo = new Set([fromStep]);
  for (const step of flow.steps) {
    if (redo.has(step.id)) continue;
    let depends = false;
    visitStepRefs(step.input, (ref) => { if (redo.has(ref.stepId)) depends = true; });
    if (depends) redo.add(step.id);
  }
  return redo;
}
