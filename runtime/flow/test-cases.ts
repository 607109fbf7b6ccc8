import type { FlowError, FlowResult, FlowTestCase } from '../../protocol/index.js';
import { childPath } from './diagnostic.js';

/**
 * The `weft test` matcher (flows.md §10). An expected error may name weft's kind (`kind:
 * COMPONENT_FAILED`, or the former string form `code: COMPONENT_FAILED`), an integer
 * `code`, or both; expectations written for Stepflow keep working:
 *
 * - Stepflow reports every failed component call (and routing failure) as `code: 500,
 *   message: 'step "<id>" failed'` with its own error stack in `data`. An expected
 *   `code: 500` without a kind therefore matches any failure except EXPRESSION_FAILURE and
 *   CANCELLED; `step "<id>" failed` holds when the item's error is the failure of step
 *   `<id>` (checked when the runner passes the step results, else not checked); `error
 *   routing component` requires COMPONENT_NOT_FOUND; any other message must be equal.
 *   `data` of such an expectation (Stepflow's stack) is not compared.
 * - Expected `code: 1` or `404` without a kind (Stepflow's expression failures) match
 *   EXPRESSION_FAILURE, with the message compared exactly.
 * - Otherwise a given kind and a given code (such as the mock's own `8`) must be equal,
 *   the message equal, and `data` match partially when given.
 */
export type ExpectedOutput = NonNullable<FlowTestCase['output']>;

export interface MatchContext {
  /** Step results of the case's item, by step id (from the journal), to check `step "x" failed`. */
  stepResults?: ReadonlyMap<string, FlowResult>;
}

export type CaseMatch = { pass: true } | { pass: false; message: string };

export const ZERO_RUN_ID = '00000000-0000-0000-0000-000000000000';

/** Sorted keys, string `run_id`s replaced by the zero UUID, `backtrace` keys dropped. */
export function normalizeForTest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeForTest);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (key === 'backtrace') continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out[key] = key === 'run_id' && typeof v === 'string' ? ZERO_RUN_ID : normalizeForTest(v);
  }
  return out;
}

const STEP_FAILED = /^step "(.*)" failed$/;

export function matchTestCase(expected: ExpectedOutput | undefined, actual: FlowResult, ctx: MatchContext = {}): CaseMatch {
  const got = normalizeForTest(actual) as FlowResult;
  if (expected === undefined) return { pass: false, message: `no expected output; actual result:\n${show(got)}` };
  const want = normalizeForTest(expected) as ExpectedOutput;
  if (want.outcome !== got.outcome) {
    return { pass: false, message: `expected outcome ${want.outcome}, got ${got.outcome}:\n${show(got)}` };
  }
  const problems: string[] = [];
  if (want.outcome === 'success' && got.outcome === 'success') {
    partialMatch(want.result, got.result, 'result', problems);
  } else if (want.outcome === 'failed' && got.outcome === 'failed') {
    const { code, kind, message, data } = want.error;
    const actualError = got.error;
    // weft's own kind, given as `kind` or in the former string form of `code`.
    const wantKind = kind ?? (typeof code === 'string' ? code : undefined);
    if (wantKind === undefined && code === 500) {
      if (actualError.kind === 'EXPRESSION_FAILURE' || actualError.kind === 'CANCELLED') {
        problems.push(`error.kind: expected a step failure (Stepflow's 500), got ${show(actualError.kind)}`);
      }
      const step = STEP_FAILED.exec(message)?.[1];
      if (step !== undefined) {
        const stepResult = ctx.stepResults?.get(step);
        if (ctx.stepResults && !(stepResult?.outcome === 'failed' && sameError(stepResult.error, actualError))) {
          problems.push(`error: expected the failure of step "${step}", got ${show(actualError)}`);
        }
      } else if (message === 'error routing component') {
        if (actualError.kind !== 'COMPONENT_NOT_FOUND') problems.push(`error.kind: expected COMPONENT_NOT_FOUND (routing), got ${show(actualError.kind)}`);
      } else if (message !== actualError.message) {
        problems.push(`error.message: expected ${show(message)}, got ${show(actualError.message)}`);
      }
    } else {
      if (wantKind !== undefined && wantKind !== actualError.kind) problems.push(`error.kind: expected ${show(wantKind)}, got ${show(actualError.kind)}`);
      if (typeof code === 'number') {
        const codeOk = wantKind === undefined && (code === 1 || code === 404) ? actualError.kind === 'EXPRESSION_FAILURE' : code === actualError.code;
        if (!codeOk) problems.push(`error.code: expected ${show(code)}, got ${show(actualError.code)} (${show(actualError.kind)})`);
      }
      if (message !== actualError.message) problems.push(`error.message: expected ${show(message)}, got ${show(actualError.message)}`);
      if (data !== undefined) partialMatch(data, actualError.data, 'error.data', problems);
    }
  }
  return problems.length === 0 ? { pass: true } : { pass: false, message: `${problems.join('\n')}\nactual result:\n${show(got)}` };
}

const sameError = (a: FlowError, b: FlowError): boolean => a.code === b.code && a.kind === b.kind && a.message === b.message;

/** Expected keys must exist and match recursively; extra actual keys are fine; arrays match element-wise. */
function partialMatch(want: unknown, got: unknown, at: string, problems: string[]): void {
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return void problems.push(`${at}: expected an array, got ${show(got)}`);
    if (want.length !== got.length) return void problems.push(`${at}: expected ${want.length} elements, got ${got.length}`);
    want.forEach((w, i) => partialMatch(w, got[i], childPath(at, i), problems));
    return;
  }
  if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return void problems.push(`${at}: expected an object, got ${show(got)}`);
    for (const [k, w] of Object.entries(want)) {
      if (!Object.prototype.hasOwnProperty.call(got, k)) problems.push(`${childPath(at, k)}: missing (expected ${show(w)})`);
      else partialMatch(w, (got as Record<string, unknown>)[k], childPath(at, k), problems);
    }
    return;
  }
  if (want !== got) problems.push(`${at}: expected ${show(want)}, got ${show(got)}`);
}

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
