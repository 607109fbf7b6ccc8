/**
 * A finding about a flow file. `fatal` blocks execution, `error` makes `validate`/`run`
 * exit non-zero (the flow can still execute, as in Stepflow), `warning` is shown only.
 */
export interface Diagnostic {
  level: 'fatal' | 'error' | 'warning';
  /** Stepflow's diagnostic name (`UndefinedStepReference`) or the ajv keyword for schema errors. */
  rule: string;
  /** Where in the file: `steps[2].input.x`, or `(root)`. */
  path: string;
  message: string;
  /** 1-based line of `path` in the file, when the flow was read from YAML/JSON text. */
  line?: number;
}

/** `file: path: message (rule)`, the shape of every validation error weft prints. */
export function formatDiagnostic(d: Diagnostic, file?: string): string {
  return `${file ? `${file}: ` : ''}${d.path}: ${d.message} (${d.rule})`;
}

/** `file:12: path: message (rule)`: with the line when known (what `weft validate` prints). */
export function formatDiagnosticWithLine(d: Diagnostic, file: string): string {
  return formatDiagnostic(d, d.line !== undefined ? `${file}:${d.line}` : file);
}

export function formatDiagnostics(ds: readonly Diagnostic[], file?: string): string {
  return ds.map((d) => formatDiagnostic(d, file)).join('\n');
}

const IDENT = /^[A-Za-z_$][\w$-]*$/;

/** `base.key`, `base[3]` or `base["odd key"]`, matching protocol/validate.ts's pointerToPath. */
export function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (IDENT.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

export const hasFatal = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.level === 'fatal');
export const hasError = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.level !== 'warning');
