import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ajv2020 as Ajv2020Type } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { packageRoot } from './package-root.js';

type Ajv2020Class = typeof Ajv2020Type;
let AjvClass: Ajv2020Class | undefined;
/**
 * ajv is loaded on first use, not at import: it costs 20-25 ms of start-up, and every
 * component server (SDK) and CLI command imports this module whether it validates or not.
 */
function ajvClass(): Ajv2020Class {
  AjvClass ??= (createRequire(import.meta.url)('ajv/dist/2020.js') as { Ajv2020: Ajv2020Class }).Ajv2020;
  return AjvClass;
}

/**
 * `format` keywords (email, date, date-time, uri, uuid, ipv4, ...) are checked, not ignored:
 * without ajv-formats ajv warns `unknown format "email" ignored` and accepts any string.
 */
function withFormats(ajv: Ajv2020Type): Ajv2020Type {
  const addFormats = createRequire(import.meta.url)('ajv-formats') as { default: (ajv: Ajv2020Type) => Ajv2020Type };
  return addFormats.default(ajv);
}

/**
 * One ajv instance for weft's own schemas (schemas/*.json): each validator is compiled
 * once, on first use, and reused. User schemas (component input/output, flow input)
 * go through `compileUserSchema`, cached by identity. Our schemas are not checked against
 * the 2020-12 meta-schema here (compiling it cost every command ~20 ms at start): a test
 * does that (test/protocol/schemas-valid.test.ts).
 */
let ajv: Ajv2020Type | undefined;
function instance(): Ajv2020Type {
  if (!ajv) ajv = withFormats(new (ajvClass())({ allErrors: true, strict: false, allowUnionTypes: true, validateSchema: false }));
  return ajv;
}

const loaded = new Set<string>();
const compiled = new Map<string, ValidateFunction>();

/** Validator for `schemas/<file>.json#/$defs/<def>` (or the whole file when def is omitted). */
export function validatorFor(file: 'protocol' | 'flow' | 'config' | 'http', def?: string): ValidateFunction {
  const key = `${file}#${def ?? ''}`;
  let fn = compiled.get(key);
  if (fn) return fn;
  const id = `https://weft.dev/schemas/${file}.json`;
  if (!loaded.has(file)) {
    const schema = JSON.parse(readFileSync(join(packageRoot(), 'schemas', `${file}.json`), 'utf8')) as Record<string, unknown>;
    instance().addSchema({ ...schema, $id: id });
    loaded.add(file);
  }
  fn = instance().getSchema(def ? `${id}#/$defs/${def}` : id);
  if (!fn) throw new Error(`weft: schemas/${file}.json has no $defs/${def}`);
  compiled.set(key, fn);
  return fn;
}

// User schemas: a separate lenient instance so a bad user schema cannot clash with ours.
let userAjv: Ajv2020Type | undefined;
const userCache = new WeakMap<object, ValidateFunction>();

/** Compiles a JSON Schema supplied by a user or a component; throws with ajv's message if invalid. */
export function compileUserSchema(schema: unknown): ValidateFunction {
  if (schema === true || schema === undefined || schema === null) return acceptAll;
  if (typeof schema !== 'object') throw new Error(`schema must be an object, got ${typeof schema}`);
  let fn = userCache.get(schema);
  if (fn) return fn;
  if (!userAjv) userAjv = withFormats(new (ajvClass())({ allErrors: true, strict: false, allowUnionTypes: true, validateSchema: false, addUsedSchema: false }));
  const { $schema: _drop, ...rest } = schema as Record<string, unknown>;
  fn = userAjv.compile(rest);
  userCache.set(schema, fn);
  return fn;
}
const acceptAll = Object.assign(() => true, { errors: null }) as unknown as ValidateFunction;

/** `a.b[2].c` from a JSON pointer `/a/b/2/c`. */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export interface ValidationIssue { path: string; rule: string; message: string }

/** ajv errors as `{path, rule, message}`, most specific first, duplicates dropped. */
export function validationIssues(errors: ErrorObject[] | null | undefined, base = ''): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let path = pointerToPath(e.instancePath);
    if (e.keyword === 'required') path += (path ? '.' : '') + String((e.params as { missingProperty: string }).missingProperty);
    if (e.keyword === 'additionalProperties') path += (path ? '.' : '') + String((e.params as { additionalProperty: string }).additionalProperty);
    const full = base && path ? `${base}${path.startsWith('[') ? '' : '.'}${path}` : base || path;
    let message = e.message ?? e.keyword;
    if (e.keyword === 'enum') message += `: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    if (e.keyword === 'const') message += `: ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    const key = `${full}|${e.keyword}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: full || '(root)', rule: e.keyword, message });
  }
  return out;
}

/** One line per issue: `file: path: message (rule)`. */
export function formatValidationError(file: string | undefined, issues: ValidationIssue[]): string {
  return issues.map((i) => `${file ? `${file}: ` : ''}${i.path}: ${i.message} (${i.rule})`).join('\n');
}
