/**
 * Nesting limits checked on the text, before it is parsed. JSON.parse itself copes with any
 * depth, but what comes after does not: JSON.stringify, schema validation and every
 * recursive walk overflow the stack somewhere past a few thousand levels ("Maximum call
 * stack size exceeded"), and the yaml parser runs out of memory and aborts the process on
 * 3,000 nested `[`. So a value deeper than the limit is refused where it enters.
 */

/** Default for `limits.maxJsonDepth`: far deeper than any real document, far below where Node's stack ends. */
export const DEFAULT_MAX_JSON_DEPTH = 256;

/** Why a text was refused, naming the limit so the writer knows what to raise. */
export function depthReason(maxDepth: number): string {
  return `nests deeper than ${maxDepth} levels (limits.maxJsonDepth)`;
}

export function tooDeepMessage(what: string, maxDepth: number): string {
  return `${what} ${depthReason(maxDepth)}`;
}

/**
 * True if the JSON text nests arrays/objects deeper than `maxDepth`. Invalid JSON gives some
 * answer; its parse fails anyway. Text shorter than 2 × (maxDepth + 1) cannot be that deep
 * (every level is an opening and a closing bracket), so the hot path of small messages costs
 * one comparison; longer text is one pass that jumps over strings with indexOf.
 */
export function jsonTooDeep(text: string, maxDepth: number): boolean {
  if (text.length < 2 * (maxDepth + 1)) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i + 1);
    else if (c === 0x7b || c === 0x5b) { if (++depth > maxDepth) return true; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** The index of the quote closing a string whose content starts at `from` (text.length if none). */
function stringEnd(text: string, from: number): number {
  for (let i = from; ;) {
    const q = text.indexOf('"', i);
    if (q === -1) return text.length;
    let slashes = 0;
    for (let b = q - 1; b >= from && text.charCodeAt(b) === 0x5c; b--) slashes++;
    if (slashes % 2 === 0) return q;
    i = q + 1;
  }
}

/**
 * An upper bound on the nesting of a YAML text, without parsing it: flow brackets outside
 * quotes and comments, plus the stack of block indentations (each `- ` of a compact
 * sequence counts as one more). It may count a level or two too many (an indented block
 * scalar), never too few, so a document it passes cannot overflow the parser.
 */
export function yamlTooDeep(text: string, maxDepth: number): boolean {
  if (jsonLike(text)) return jsonTooDeep(text, maxDepth);
  const indents: number[] = [];
  let flow = 0;
  for (const line of text.split('\n')) {
    let i = 0;
    while (line.charCodeAt(i) === 0x20) i++;
    if (i === line.length || line[i] === '#') continue;
    let indent = i;
    while (line[i] === '-' && (line[i + 1] === ' ' || i + 1 === line.length)) {
      if (flow === 0) { push(indents, indent); if (indents.length + flow > maxDepth) return true; }
      i += 2;
      while (line.charCodeAt(i) === 0x20) i++;
      indent = i;
    }
    if (flow === 0) push(indents, indent);
    for (; i < line.length; i++) {
      const c = line[i];
      if (c === '"' || c === "'") i = quotedEnd(line, i);
      else if (c === '#' && (i === 0 || line[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') flow++;
      else if ((c === ']' || c === '}') && flow > 0) flow--;
      if (indents.length + flow > maxDepth) return true;
    }
  }
  return indents.length + flow > maxDepth;
}

/** Keeps the block-indentation stack: deeper lines push, shallower ones pop back to their level. */
function push(indents: number[], indent: number): void {
  while (indents.length > 0 && indents[indents.length - 1] >= indent) indents.pop();
  indents.push(indent);
}

function quotedEnd(line: string, open: number): number {
  const quote = line[open];
  for (let i = open + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') { i++; continue; }
    if (line[i] === quote) {
      if (quote === "'" && line[i + 1] === "'") { i++; continue; }
      return i;
    }
  }
  return line.length;
}

function jsonLike(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}
