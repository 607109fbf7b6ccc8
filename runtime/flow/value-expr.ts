import { failure, success } from '../../protocol/index.js';
import type { FlowResult } from '../../protocol/index.js';
import { childPath } from './diagnostic.js';
import { applyPath, EMPTY_PATH, JsonPath, JsonPathError, NOT_FOUND, parsePath } from '../../protocol/json-path.js';

/**
 * A value expression parsed once at load (flows.md §5). Objects and arrays without any
 * expression inside are folded into one `literal` node, so evaluating them is free;
 * the folded value is shared between items and must not be mutated by consumers.
 */
export type Expr =
  | { readonly k: 'literal'; readonly value: unknown; readonly result: FlowResult }
  | { readonly k: 'if'; readonly cond: Expr; readonly then: Expr; readonly else?: Expr }
  | { readonly k: 'coalesce'; readonly items: readonly Expr[] }
  | { readonly k: 'step'; readonly stepId: string; readonly index: number; readonly path: JsonPath; readonly at: string }
  | { readonly k: 'input'; readonly path: JsonPath }
  | { readonly k: 'variable'; readonly name: string; readonly path: JsonPath; readonly fullPath: JsonPath; readonly default?: Expr; readonly at: string }
  | { readonly k: 'object'; readonly keys: readonly string[]; readonly values: readonly Expr[] }
  | { readonly k: 'array'; readonly items: readonly Expr[] };

export interface ExprIssue { path: string; rule: 'InvalidReferenceExpression'; message: string }

/** What an expression sees while one item executes. `results` is indexed by step position. */
export interface EvalEnv {
  readonly input: unknown;
  readonly results: ReadonlyArray<FlowResult | undefined>;
  /** Values supplied for the run (CLI `--variables`, runs/submit). */
  readonly variables: Readonly<Record<string, unknown>> | undefined;
  /** Defaults from the flow's variables schema (flows.md §6), computed at load. */
  readonly variableDefaults: ReadonlyMap<string, unknown>;
}

const literal = (value: unknown): Expr => ({ k: 'literal', value, result: success(value) });
const NULL_LITERAL: Expr = literal(null);
const SUCCESS_NULL = success(null);

/**
 * Parses `raw` found at `at` (a diagnostic path). Keys are checked in Stepflow's order:
 * `$literal`, `$if`, `$coalesce`, `$step`, `$input`, `$variable`. Malformed forms are
 * reported to `issues` and parse as `null`. `stepIndex` maps ids to positions (-1: unknown).
 */
export function parseExpr(raw: unknown, at: string, stepIndex: ReadonlyMap<string, number>, issues: ExprIssue[]): Expr {
  if (raw === null || typeof raw !== 'object') return raw === null ? NULL_LITERAL : literal(raw);
  if (Array.isArray(raw)) {
    const items = raw.map((v, i) => parseExpr(v, childPath(at, i), stepIndex, issues));
    // Fold from the children's values, not `raw`: a `$literal` inside must be unwrapped.
    return items.every(isLiteral) ? literal(items.map(literalValue)) : { k: 'array', items };
  }
  const o = raw as Record<string, unknown>;
  const bad = (where: string, message: string): Expr => {
    issues.push({ path: where, rule: 'InvalidReferenceExpression', message });
    return NULL_LITERAL;
  };
  if (has(o, '$literal')) return literal(o.$literal);
  if (has(o, '$if')) {
    if (!has(o, 'then')) return bad(at, '`$if` requires a `then` expression');
    const cond = parseExpr(o.$if, childPath(at, '$if'), stepIndex, issues);
    const then = parseExpr(o.then, childPath(at, 'then'), stepIndex, issues);
    return has(o, 'else') ? { k: 'if', cond, then, else: parseExpr(o.else, childPath(at, 'else'), stepIndex, issues) } : { k: 'if', cond, then };
  }
  if (has(o, '$coalesce')) {
    if (!Array.isArray(o.$coalesce)) return bad(childPath(at, '$coalesce'), '`$coalesce` must be an array of expressions');
    const base = childPath(at, '$coalesce');
    return { k: 'coalesce', items: o.$coalesce.map((v, i) => parseExpr(v, childPath(base, i), stepIndex, issues)) };
  }
  if (has(o, '$step')) {
    if (typeof o.$step !== 'string') return bad(childPath(at, '$step'), '`$step` must be a step id (a string)');
    const path = parsePathAt(o.path, childPath(at, 'path'), issues);
    if (!path) return NULL_LITERAL;
    return { k: 'step', stepId: o.$step, index: stepIndex.get(o.$step) ?? -1, path, at };
  }
  if (has(o, '$input')) {
    const path = parsePathAt(o.$input, childPath(at, '$input'), issues);
    return path ? { k: 'input', path } : NULL_LITERAL;
  }
  if (has(o, '$variable')) {
    const fullPath = parsePathAt(o.$variable, childPath(at, '$variable'), issues);
    if (!fullPath) return NULL_LITERAL;
    const [name, ...rest] = fullPath.segments;
    if (typeof name !== 'string') return bad(childPath(at, '$variable'), '`$variable` must start with a variable name');
    const path = rest.length === 0 ? EMPTY_PATH : parsePath(`$${rest.map((s) => `[${JSON.stringify(s)}]`).join('')}`);
    const dflt = has(o, 'default') ? parseExpr(o.default, childPath(at, 'default'), stepIndex, issues) : undefined;
    return dflt ? { k: 'variable', name, path, fullPath, default: dflt, at } : { k: 'variable', name, path, fullPath, at };
  }
  const keys = Object.keys(o);
  const values = keys.map((key) => parseExpr(o[key], childPath(at, key), stepIndex, issues));
  if (!values.every(isLiteral)) return { k: 'object', keys, values };
  const folded: Record<string, unknown> = {};
  keys.forEach((key, i) => { folded[key] = literalValue(values[i]); });
  return literal(folded);
}

function parsePathAt(raw: unknown, at: string, issues: ExprIssue[]): JsonPath | undefined {
  if (raw === undefined || raw === null) return EMPTY_PATH;
  if (typeof raw !== 'string') {
    issues.push({ path: at, rule: 'InvalidReferenceExpression', message: `a path must be a string, got ${JSON.stringify(raw)}` });
    return undefined;
  }
  try {
    return parsePath(raw);
  } catch (e) {
    if (!(e instanceof JsonPathError)) throw e;
    issues.push({ path: at, rule: 'InvalidReferenceExpression', message: e.message });
    return undefined;
  }
}

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const isLiteral = (e: Expr): boolean => e.k === 'literal';
const literalValue = (e: Expr): unknown => (e as Extract<Expr, { k: 'literal' }>).value;

/** Truthiness of flows.md §5: only `false`, `null` and a failed condition are falsy. */
function truthy(r: FlowResult): boolean {
  return r.outcome === 'success' && r.result !== false && r.result !== null && r.result !== undefined;
}

/** Evaluates `e`; callers make sure `needs(e)` is empty first (else an unfinished step is an orchestrator error). */
export function evaluate(e: Expr, env: EvalEnv): FlowResult {
  switch (e.k) {
    case 'literal':
      return e.result;
    case 'input': {
      if (e.path.segments.length === 0) return success(env.input);
      const v = applyPath(env.input, e.path);
      return v === NOT_FOUND ? failure('EXPRESSION_FAILURE', `Input path ${e.path.text} not found`) : success(v);
    }
    case 'step': {
      const r = e.index >= 0 ? env.results[e.index] : undefined;
      if (r === undefined) {
        return e.index < 0
          ? failure('EXPRESSION_FAILURE', `Unknown step: ${e.stepId}`)
          : failure('ORCHESTRATOR_ERROR', `step "${e.stepId}" has not finished`);
      }
      // A failed step's failure propagates unchanged; a null result stays null whatever the path.
      if (r.outcome === 'failed' || e.path.segments.length === 0 || r.result === null) return r;
      const v = applyPath(r.result, e.path);
      return v === NOT_FOUND ? failure('EXPRESSION_FAILURE', `Path ${e.path.text} not found`) : success(v);
    }
    case 'variable': {
      const value = lookupVariable(env, e.name);
      if (value !== NOT_FOUND) {
        const v = applyPath(value, e.path);
        if (v !== NOT_FOUND) return success(v);
        return e.default ? evaluate(e.default, env) : failure('EXPRESSION_FAILURE', `Variable path ${e.fullPath.text} not found`);
      }
      return e.default ? evaluate(e.default, env) : failure('EXPRESSION_FAILURE', `Undefined variable: ${e.name}`);
    }
    case 'if':
      if (truthy(evaluate(e.cond, env))) return evaluate(e.then, env);
      return e.else ? evaluate(e.else, env) : SUCCESS_NULL;
    case 'coalesce':
      for (const item of e.items) {
        const r = evaluate(item, env);
        if (r.outcome === 'failed' || (r.result !== null && r.result !== undefined)) return r;
      }
      return SUCCESS_NULL;
    case 'object': {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < e.keys.length; i++) {
        const r = evaluate(e.values[i], env);
        if (r.outcome === 'failed') return r;
        out[e.keys[i]] = r.result;
      }
      return success(out);
    }
    case 'array': {
      const out: unknown[] = new Array(e.items.length);
      for (let i = 0; i < e.items.length; i++) {
        const r = evaluate(e.items[i], env);
        if (r.outcome === 'failed') return r;
        out[i] = r.result;
      }
      return success(out);
    }
  }
}

/** Supplied value, then the variables-schema default, else NOT_FOUND (the inline default is the caller's). */
export function lookupVariable(env: EvalEnv, name: string): unknown {
  const supplied = env.variables;
  if (supplied !== undefined && Object.prototype.hasOwnProperty.call(supplied, name)) return supplied[name];
  return env.variableDefaults.has(name) ? env.variableDefaults.get(name) : NOT_FOUND;
}

/**
 * Adds to `out` the indexes of unfinished steps that `e` needs *now* (flows.md §7 step 2):
 * an `$if` needs only its condition until that is known, then only the branch taken;
 * `$coalesce` scans until an element is unfinished, non-null or failed.
 */
export function collectNeeds(e: Expr, env: EvalEnv, out: number[]): void {
  switch (e.k) {
    case 'literal':
    case 'input':
      return;
    case 'step':
      if (e.index >= 0 && env.results[e.index] === undefined) out.push(e.index);
      return;
    case 'variable':
      if (e.default && !variableResolves(e, env)) collectNeeds(e.default, env, out);
      return;
    case 'if': {
      const before = out.length;
      collectNeeds(e.cond, env, out);
      if (out.length > before) return;
      if (truthy(evaluate(e.cond, env))) collectNeeds(e.then, env, out);
      else if (e.else) collectNeeds(e.else, env, out);
      return;
    }
    case 'coalesce':
      for (const item of e.items) {
        const before = out.length;
        collectNeeds(item, env, out);
        if (out.length > before) return;
        const r = evaluate(item, env);
        if (r.outcome === 'failed' || (r.result !== null && r.result !== undefined)) return;
      }
      return;
    case 'object':
      for (const v of e.values) collectNeeds(v, env, out);
      return;
    case 'array':
      for (const v of e.items) collectNeeds(v, env, out);
      return;
  }
}

function variableResolves(e: Extract<Expr, { k: 'variable' }>, env: EvalEnv): boolean {
  const value = lookupVariable(env, e.name);
  return value !== NOT_FOUND && applyPath(value, e.path) !== NOT_FOUND;
}

/** The ids of the unfinished steps `e` currently needs (convenience over `collectNeeds`). */
export function needs(e: Expr, env: EvalEnv, stepIds: readonly string[]): string[] {
  const out: number[] = [];
  collectNeeds(e, env, out);
  return [...new Set(out)].map((i) => stepIds[i]);
}

/** The sub-expressions of `e` (a `$variable`'s inline default included; `$literal` has none). */
function forEachChild(e: Expr, fn: (child: Expr) => void): void {
  switch (e.k) {
    case 'variable':
      if (e.default) fn(e.default);
      return;
    case 'if':
      fn(e.cond);
      fn(e.then);
      if (e.else) fn(e.else);
      return;
    case 'coalesce':
    case 'array':
      for (const x of e.items) fn(x);
      return;
    case 'object':
      for (const x of e.values) fn(x);
      return;
    default:
      return;
  }
}

/** Every `$step` reference in an expression (static analysis: both `$if` branches). */
export function visitStepRefs(e: Expr, visit: (ref: Extract<Expr, { k: 'step' }>) => void): void {
  if (e.k === 'step') visit(e);
  else forEachChild(e, (child) => visitStepRefs(child, visit));
}

/** Every `$variable` in an expression (static analysis). */
export function visitVariables(e: Expr, visit: (ref: Extract<Expr, { k: 'variable' }>) => void): void {
  if (e.k === 'variable') visit(e);
  forEachChild(e, (child) => visitVariables(child, visit));
}
