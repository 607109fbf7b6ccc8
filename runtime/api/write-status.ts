import { randomBytes } from 'node:crypto';
import type { ItemResult, RunStatus } from '../../protocol/index.js';

/** Pieces are joined up to this size before a write; a larger value is written on its own. */
const FLUSH_CHARS = 1 << 20;

/**
 * Writes a RunStatus as JSON, exactly as `JSON.stringify(status, null, space)` would,
 * without ever holding that whole text: a success result carries its value under both
 * `value` and `result`, so one string of the status held every large output twice (a 50 MB
 * output took `weft run` to 784 MB). Each value is serialized once and written twice.
 */
export function writeStatus(status: RunStatus, write: (text: string) => void, space = 2): void {
  if (!status.results) {
    write(`${JSON.stringify(status, null, space)}${space ? '\n' : ''}`);
    return;
  }
  // The spread keeps `results` where it was among the keys.
  const out = new StatusWriter({ ...status, results: [] }, write, space);
  for (const item of status.results) out.item(item);
  out.end();
}

/**
 * Writes the status `writeStatus` would write had `status.results` held every item of
 * `pages`, in order, reading one page at a time: the CLI prints a million results in the
 * memory of one page. `status` is read without results; they go where the run manager puts
 * them (after `completedAt`, before a run's `error`).
 */
export async function writeStatusPages(status: RunStatus, pages: AsyncIterable<readonly ItemResult[]>, write: (text: string) => void, space = 2): Promise<void> {
  const { results: _results, error, ...rest } = status as RunStatus & { error?: unknown };
  const out = new StatusWriter({ ...rest, results: [], ...('error' in status ? { error } : {}) } as RunStatus, write, space);
  for await (const page of pages) for (const item of page) out.item(item);
  out.end();
}

/** The status's JSON written around its results, one item at a time. */
class StatusWriter {
  private readonly token = `@@weft-value-${randomBytes(6).toString('hex')}@@`;
  private readonly tail: string;
  /** The indent of the `results` line, and of the items in it. */
  private readonly indent: string;
  private readonly itemIndent: string;
  private count = 0;
  private out = '';

  constructor(framed: RunStatus, private readonly write: (text: string) => void, private readonly space: number) {
    const skeleton = JSON.stringify({ ...framed, results: this.token }, null, space);
    const at = skeleton.indexOf(`"${this.token}"`);
    this.indent = lineIndent(skeleton, at);
    this.itemIndent = this.indent + ' '.repeat(space);
    this.tail = `${skeleton.slice(at + this.token.length + 2)}${space ? '\n' : ''}`;
    this.emit(skeleton.slice(0, at));
  }

  item(item: ItemResult): void {
    const space = this.space;
    this.emit(this.count++ === 0 ? (space ? `[\n${this.itemIndent}` : '[') : (space ? `,\n${this.itemIndent}` : ','));
    const r = item.result as { outcome?: string; value?: unknown; result?: unknown } | undefined;
    if (!r || r.outcome !== 'success' || r.value === undefined) {
      this.emit(indented(JSON.stringify(item, null, space), this.itemIndent));
      return;
    }
    // Both keys get one placeholder: the same value, serialized once.
    const placeholder = this.token;
    const skeleton = indented(JSON.stringify({ ...item, result: { ...r, value: placeholder, ...('result' in r ? { result: placeholder } : {}) } }, null, space), this.itemIndent);
    const parts = skeleton.split(`"${placeholder}"`);
    // `value` and `result` are keys of one object: one indent for both.
    const text = indented(JSON.stringify(r.value, null, space), lineIndent(skeleton, parts[0].length));
    this.emit(parts[0]);
    for (let i = 1; i < parts.length; i++) { this.emit(text); this.emit(parts[i]); }
  }

  end(): void {
    this.emit(this.count === 0 ? '[]' : this.space ? `\n${this.indent}]` : ']');
    this.emit(this.tail);
    if (this.out !== '') this.write(this.out);
    this.out = '';
  }

  private emit(text: string): void {
    if (text.length >= FLUSH_CHARS) {
      if (this.out !== '') this.write(this.out);
      this.out = '';
      this.write(text);
      return;
    }
    this.out += text;
    if (this.out.length >= FLUSH_CHARS) { this.write(this.out); this.out = ''; }
  }
}

/** The spaces that start the line holding position `at`. */
function lineIndent(text: string, at: number): string {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  return /^ */.exec(text.slice(lineStart, at))![0];
}

/** A JSON text placed at `indent`: its later lines shifted by it (JSON strings hold no raw newline). */
function indented(text: string, indent: string): string {
  return indent === '' ? text : text.replace(/\n/g, `\n${indent}`);
}
