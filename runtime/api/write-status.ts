import { randomBytes } from 'node:crypto';
import type { RunStatus } from '../../protocol/index.js';

/** Pieces are joined up to this size before a write; a larger value is written on its own. */
const FLUSH_CHARS = 1 << 20;

/**
 * Writes a RunStatus as JSON, exactly as `JSON.stringify(status, null, space)` would,
 * without ever holding that whole text: a success result carries its value under both
 * `value` and `result`, so one string of the status held every large output twice (a 50 MB
 * output took `weft run` to 784 MB). Each value is serialized once and written twice.
 */
export function writeStatus(status: RunStatus, write: (text: string) => void, space = 2): void {
  const token = `@@weft-value-${randomBytes(6).toString('hex')}-`;
  const values: unknown[] = [];
  const skeletonOf = (value: unknown): string => {
    values.push(value);
    return `${token}${values.length - 1}@@`;
  };
  const results = status.results?.map((item) => {
    const r = item.result as { outcome?: string; value?: unknown; result?: unknown } | undefined;
    if (!r || r.outcome !== 'success' || r.value === undefined) return item;
    // Both keys get one placeholder: the same value, serialized once.
    const placeholder = skeletonOf(r.value);
    return { ...item, result: { ...r, value: placeholder, ...('result' in r ? { result: placeholder } : {}) } };
  });
  const skeleton = JSON.stringify(results ? { ...status, results } : status, null, space);

  let out = '';
  const flush = () => { if (out !== '') { write(out); out = ''; } };
  const emit = (text: string) => {
    if (text.length >= FLUSH_CHARS) { flush(); write(text); return; }
    out += text;
    if (out.length >= FLUSH_CHARS) flush();
  };
  const pattern = new RegExp(`"${token}(\\d+)@@"`, 'g');
  let last = 0;
  let cached: { index: number; text: string } | undefined;
  for (let m = pattern.exec(skeleton); m !== null; m = pattern.exec(skeleton)) {
    const before = skeleton.slice(last, m.index);
    emit(before);
    last = m.index + m[0].length;
    const index = Number(m[1]);
    if (cached?.index !== index) {
      const lineStart = skeleton.lastIndexOf('\n', m.index) + 1;
      const indent = /^ */.exec(skeleton.slice(lineStart, m.index))![0];
      const text = JSON.stringify(values[index], null, space);
      cached = { index, text: indent === '' ? text : text.replace(/\n/g, `\n${indent}`) };
    }
    emit(cached.text);
  }
  emit(`${skeleton.slice(last)}${space ? '\n' : ''}`);
  flush();
}
