/**
 * The JSONPath subset of flows.md §5.1 (step `path`, `$input`, `$variable` and route
 * conditions alike), parsed once into segments. A string segment is
 * a field, a number an array index. No wildcards, slices, filters or unions.
 */
export type PathSegment = string | number;

export interface JsonPath {
  readonly segments: readonly PathSegment[];
  /** Canonical text (`$.a[0]["b c"]`), used in messages: `Path $.a not found`. */
  readonly text: string;
}

export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

/** Returned by `applyPath` when the path leads nowhere (distinct from a JSON `null`). */
export const NOT_FOUND: unique symbol = Symbol('not found');

export const EMPTY_PATH: JsonPath = Object.freeze({ segments: Object.freeze([]), text: '$' });

/** Parses `""`, `$`, `name` (one literal key), `$.a.b`, `$[0]`, `$["a b"]`, `$['a']` and combinations. */
export function parsePath(raw: string): JsonPath {
  const text = raw.trim();
  if (text === '' || text === '$') return EMPTY_PATH;
  // Without a leading `$` the whole string is one key: `a.b` is the key "a.b".
  if (text[0] !== '$') return makePath([text]);
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      let end = i + 1;
      while (end < text.length && text[end] !== '.' && text[end] !== '[') end++;
      const name = text.slice(i + 1, end);
      // `$..a` parses as `$.a`: empty segments are dropped (Stepflow does the same).
      if (name !== '') segments.push(name);
      i = end;
    } else if (c === '[') {
      const close = findClose(text, i);
      const inner = text.slice(i + 1, close).trim();
      segments.push(parseBracket(inner, raw));
      i = close + 1;
    } else {
      throw new JsonPathError(`Invalid character '${c}' at position ${i} in path '${raw}'. Expected '.' or '['`);
    }
  }
  return makePath(segments);
}

function findClose(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length && text[i] === ' ') i++;
  const quote = text[i];
  if (quote === '"' || quote === "'") {
    i++;
    while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
    i++;
  }
  const close = text.indexOf(']', i);
  if (close < 0) throw new JsonPathError(`Unclosed '[' at position ${open} in path '${text}'`);
  return close;
}

function parseBracket(inner: string, raw: string): PathSegment {
  const q = inner[0];
  if ((q === '"' || q === "'") && inner.length >= 2 && inner[inner.length - 1] === q) {
    const body = inner.slice(1, -1);
    if (q === '"') {
      try {
        return JSON.parse(inner) as string;
      } catch {
        return body;
      }
    }
    return body.replace(/\\(.)/g, '$1');
  }
  if (/^\d+$/.test(inner)) return Number(inner);
  throw new JsonPathError(`Invalid index '${inner}' in path '${raw}': expected a non-negative integer or a quoted name`);
}

const SIMPLE_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

function makePath(segments: PathSegment[]): JsonPath {
  let text = '$';
  for (const s of segments) {
    if (typeof s === 'number') text += `[${s}]`;
    else text += SIMPLE_FIELD.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return Object.freeze({ segments: Object.freeze(segments), text });
}

/** The value at `path`, or NOT_FOUND (a field on a non-object or an index on a non-array is not found). */
export function applyPath(value: unknown, path: JsonPath): unknown {
  const segs = path.segments;
  let cur = value;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (typeof s === 'number') {
      if (!Array.isArray(cur) || s >= cur.length) return NOT_FOUND;
      cur = cur[s];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, s)) return NOT_FOUND;
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return cur;
}
