import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import {
  compileUserSchema, DEFAULT_MAX_JSON_DEPTH, depthReason, FLOW_SCHEMA_URL, jsonTooDeep, validationIssues, validatorFor, yamlTooDeep,
} from '../../protocol/index.js';
import type { ErrorAction, Flow } from '../../protocol/index.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import { childPath, hasError, hasFatal } from './diagnostic.js';
import type { Diagnostic } from './diagnostic.js';
import { checkStepReferences } from './step-graph.js';
import { parseExpr, visitVariables } from './value-expr.js';
import type { Expr, ExprIssue } from './value-expr.js';

export type { Diagnostic } from './diagnostic.js';
export { formatDiagnostic, formatDiagnosticWithLine, formatDiagnostics } from './diagnostic.js';
import { lineFinder } from './yaml-lines.js';

/** A step with its input parsed once, for every item. */
export interface LoadedStep {
  readonly id: string;
  readonly index: number;
  readonly component: string;
  readonly input: Expr;
  readonly onError: ErrorAction;
  readonly mustExecute: boolean;
}

/** A flow that passed the fatal checks, plus everything the executor precomputes at load. */
export interface LoadedFlow {
  readonly flow: Flow;
  readonly file?: string;
  readonly steps: readonly LoadedStep[];
  readonly stepIds: readonly string[];
  readonly stepIndex: ReadonlyMap<string, number>;
  readonly output: Expr;
  readonly mustExecute: readonly number[];
  /** Variable defaults from `schemas.properties.variables` (flows.md §6). */
  readonly variableDefaults: ReadonlyMap<string, unknown>;
  /** The flow input schema, compiled once; absent when the flow declares none. */
  readonly validateInput?: ValidateFunction;
  /** Non-fatal findings (errors and warnings). */
  readonly diagnostics: readonly Diagnostic[];
}

/** `flow` is present unless a fatal diagnostic blocks execution; `ok` also requires no errors. */
export type LoadResult =
  | { ok: true; flow: LoadedFlow; diagnostics: Diagnostic[] }
  | { ok: false; flow?: LoadedFlow; diagnostics: Diagnostic[] };

export interface AnalyzeOptions {
  /** The file the flow came from, kept on the LoadedFlow (diagnostics are formatted with it by callers). */
  file?: string;
  /** When given, components no route matches are reported (NoRoute). */
  router?: PluginRouter;
  /** Variables the caller supplies: not reported as UndefinedVariable. */
  variablesProvided?: Iterable<string>;
}

export interface LoadTextOptions extends AnalyzeOptions {
  format?: 'yaml' | 'json';
  /** limits.maxJsonDepth (default 256): a deeper file is refused before it is parsed. */
  maxDepth?: number;
}

export async function loadFlowFile(path: string, options: Omit<LoadTextOptions, 'format'> = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return fail('ReadError', '(root)', `cannot read flow file: ${(e as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  return loadFlowText(text, { file: path, ...options, format: ext === '.json' ? 'json' : 'yaml' });
}

/** Parses YAML (1.2 core schema: `2024-01-01` stays a string) or JSON, then analyzes. */
export function loadFlowText(text: string, options: LoadTextOptions = {}): LoadResult {
  // Checked on the text: the yaml parser overflows its stack (and aborts the process on
  // 3,000 nested `[`) long before an analysis could say anything.
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if ((options.format === 'json' ? jsonTooDeep : yamlTooDeep)(text, maxDepth)) {
    return fail('MaxDepth', '(root)', `the flow ${depthReason(maxDepth)}`);
  }
  let raw: unknown;
  if (options.format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return fail('JsonSyntax', '(root)', `invalid JSON: ${(e as Error).message}`);
    }
  } else {
    const doc = parseDocument(text, { schema: 'core', uniqueKeys: true });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(root)';
      return fail('YamlSyntax', where, `invalid YAML: ${e.message.split('\n')[0]}`);
    }
    raw = doc.toJS({ maxAliasCount: 1000 });
  }
  const result = analyzeFlow(raw, options);
  if (result.diagnostics.length > 0) {
    const lineOf = lineFinder(text);
    for (const d of result.diagnostics) {
      const line = lineOf(d.path);
      if (line !== undefined) d.line = line;
    }
  }
  return result;
}

const fail = (rule: string, path: string, message: string): LoadResult =>
  ({ ok: false, diagnostics: [{ level: 'fatal', rule, path, message }] });

const TOP_KEYS = new Set(['schema', 'name', 'description', 'version', 'metadata', 'schemas', 'steps', 'output', 'test', 'examples']);
const STEP_KEYS = new Set(['id', 'component', 'input', 'onError', 'mustExecute', 'metadata']);
const ERROR_ACTION_KEYS: Record<string, Set<string>> = {
  fail: new Set(['action']),
  useDefault: new Set(['action', 'defaultValue']),
  retry: new Set(['action', 'maxRetries']),
};
const TEST_KEYS = new Set(['config', 'stepflow_config', 'servers', 'cases']);
const CASE_KEYS = new Set(['name', 'description', 'input', 'output']);
const DEFAULT_ON_ERROR: ErrorAction = Object.freeze({ action: 'fail' });

/** Validates a parsed flow (schema + the semantic rules of flows.md §7) and precomputes its analysis. */
export function analyzeFlow(raw: unknown, options: AnalyzeOptions = {}): LoadResult {
  const validate = validatorFor('flow');
  if (!validate(raw)) {
    const diagnostics = validationIssues(validate.errors).map((i): Diagnostic => ({ level: 'fatal', rule: i.rule, path: i.path, message: i.message }));
    return { ok: false, diagnostics };
  }
  const flow = raw as Flow;
  const diags: Diagnostic[] = [];
  const warn = (rule: string, path: string, message: string): void => { diags.push({ level: 'warning', rule, path, message }); };

  if (flow.name === undefined) warn('MissingFlowName', '(root)', 'the flow has no `name`');
  if (flow.description === undefined) warn('MissingFlowDescription', '(root)', 'the flow has no `description`');
  reportUnknownKeys(flow, TOP_KEYS, '', warn);
  if (flow.test) {
    reportUnknownKeys(flow.test, TEST_KEYS, 'test', warn);
    flow.test.cases?.forEach((c, i) => reportUnknownKeys(c, CASE_KEYS, `test.cases[${i}]`, warn));
  }

  const rawSteps = flow.steps ?? [];
  const stepIndex = new Map<string, number>();
  rawSteps.forEach((s, i) => {
    const at = `steps[${i}]`;
    reportUnknownKeys(s, STEP_KEYS, at, warn);
    if (s.onError) reportUnknownKeys(s.onError, ERROR_ACTION_KEYS[s.onError.action], `${at}.onError`, warn);
    if (s.id === '') diags.push({ level: 'fatal', rule: 'EmptyStepId', path: `${at}.id`, message: 'step id must not be empty' });
    else if (stepIndex.has(s.id)) {
      diags.push({ level: 'fatal', rule: 'DuplicateStepId', path: `${at}.id`, message: `duplicate step id "${s.id}" (first defined at steps[${stepIndex.get(s.id)}])` });
    } else stepIndex.set(s.id, i);
    if (!s.component.startsWith('/')) {
      diags.push({ level: 'error', rule: 'InvalidComponent', path: `${at}.component`, message: `component "${s.component}" must be a path starting with "/"` });
    } else if (options.router && !options.router.canRoute(s.component)) {
      diags.push({ level: 'error', rule: 'NoRoute', path: `${at}.component`, message: `no route in the configuration matches component "${s.component}"` });
    }
  });

  const issues: ExprIssue[] = [];
  const steps: LoadedStep[] = rawSteps.map((s, i) => ({
    // Duplicates keep their position so diagnostics and results stay index-aligned.
    id: s.id,
    index: i,
    component: s.component,
    input: parseExpr(s.input ?? null, `steps[${i}].input`, stepIndex, issues),
    onError: s.onError ?? DEFAULT_ON_ERROR,
    mustExecute: s.mustExecute === true,
  }));
  const output = parseExpr(flow.output ?? null, 'output', stepIndex, issues);
  for (const i of issues) diags.push({ level: 'fatal', rule: i.rule, path: i.path, message: i.message });

  const referenced = checkStepReferences(steps, output, diags);
  steps.forEach((s, i) => {
    if (!referenced[i]) {
      warn('UnreachableStep', `steps[${i}]`, `step "${s.id}" is used neither by \`output\` nor by another step${s.mustExecute ? ' (it runs only because of mustExecute)' : ' and will never run'}`);
    }
  });

  const variablesSchema = asObject(flow.schemas?.properties?.variables);
  const declared = new Set(Object.keys(asObject(variablesSchema?.properties) ?? {}));
  const provided = new Set(options.variablesProvided ?? []);
  const checkVariables = (e: Expr): void => visitVariables(e, (v) => {
    if (!declared.has(v.name) && !provided.has(v.name) && !v.default) {
      diags.push({
        level: 'error', rule: 'UndefinedVariable', path: v.at,
        message: `undefined variable "${v.name}": declare it in schemas.properties.variables or give an inline default`,
      });
    }
  });
  steps.forEach((s) => checkVariables(s.input));
  checkVariables(output);

  rawSteps.forEach((s, i) => checkSubflowLiterals(s.input, `steps[${i}].input`, options.router, diags));

  let validateInput: ValidateFunction | undefined;
  const inputSchema = flow.schemas?.properties?.input;
  if (inputSchema !== undefined && inputSchema !== null && inputSchema !== true) {
    try {
      validateInput = compileUserSchema(withFlowDefs(inputSchema, flow.schemas?.$defs));
    } catch (e) {
      diags.push({ level: 'error', rule: 'InvalidSchema', path: 'schemas.properties.input', message: `the input schema does not compile: ${(e as Error).message}` });
    }
  }

  if (hasFatal(diags)) return { ok: false, diagnostics: diags };
  const loaded: LoadedFlow = {
    flow,
    file: options.file,
    steps,
    stepIds: steps.map((s) => s.id),
    stepIndex,
    output,
    mustExecute: steps.filter((s) => s.mustExecute).map((s) => s.index),
    variableDefaults: variableDefaults(variablesSchema),
    validateInput,
    diagnostics: diags,
  };
  return hasError(diags) ? { ok: false, flow: loaded, diagnostics: diags } : { ok: true, flow: loaded, diagnostics: diags };
}

function reportUnknownKeys(obj: object, known: Set<string>, at: string, warn: (rule: string, path: string, message: string) => void): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) warn('UnknownKey', childPath(at, key), `unknown key "${key}" is ignored`);
  }
}

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * Values of variables nobody supplied: a property's `default`, else for a property not in
 * `required` an implied default by `type` (string "", number/integer 0, boolean false, null).
 */
function variableDefaults(schema: Record<string, unknown> | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const props = asObject(schema?.properties) ?? {};
  const required = new Set(Array.isArray(schema?.required) ? (schema.required as unknown[]) : []);
  for (const [name, p] of Object.entries(props)) {
    const prop = asObject(p);
    if (!prop) continue;
    if ('default' in prop) out.set(name, prop.default);
    else if (!required.has(name)) {
      const types = Array.isArray(prop.type) ? (prop.type as unknown[]) : [prop.type];
      if (types.includes('null')) out.set(name, null);
      else if (types[0] === 'string') out.set(name, '');
      else if (types[0] === 'number' || types[0] === 'integer') out.set(name, 0);
      else if (types[0] === 'boolean') out.set(name, false);
    }
  }
  return out;
}

/** Flow schemas reference shared definitions as `#/schemas/$defs/Name`; make that resolvable standalone. */
function withFlowDefs(schema: unknown, defs: Record<string, unknown> | undefined): unknown {
  if (!defs || typeof schema !== 'object' || schema === null) return schema;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/schemas/$defs/') ? `#/$defs/${x.slice('#/schemas/$defs/'.length)}` : rewrite(x);
    }
    return out;
  };
  return { ...(rewrite(schema) as object), $defs: rewrite(defs) };
}

/** An object carrying the flow `schema` URL inside a step input is a nested flow: validate it too. */
function checkSubflowLiterals(value: unknown, at: string, router: PluginRouter | undefined, diags: Diagnostic[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkSubflowLiterals(v, childPath(at, i), router, diags));
    return;
  }
  const obj = value as Record<string, unknown>;
  if (obj.schema === FLOW_SCHEMA_URL) {
    for (const d of analyzeFlow(obj, { router }).diagnostics) {
      if (d.level === 'warning') continue;
      const path = d.path === '(root)' ? at : `${at}${d.path.startsWith('[') ? '' : '.'}${d.path}`;
      diags.push({ level: 'error', rule: 'InvalidSubflowLiteral', path, message: `nested flow: ${d.message} (${d.rule})` });
    }
    return;
  }
  for (const [k, v] of Object.entries(obj)) checkSubflowLiterals(v, childPath(at, k), router, diags);
}
