import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

const SEGMENT = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;

/**
 * Maps a diagnostic path (`steps[2].input.x`, `output["odd key"]`) to its 1-based line
 * in a YAML (or JSON) text: the line of the deepest part of the path that exists, so a
 * missing key points at the object that lacks it. Undefined for `(root)` or unparsable text.
 */
export function lineFinder(text: string): (path: string) => number | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'core', uniqueKeys: false, lineCounter });
  if (doc.errors.length > 0) return () => undefined;
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  return (path) => {
    if (path === '(root)' || path === '') return undefined;
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const m of path.matchAll(SEGMENT)) {
      const key: string | number = m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(m[3]) as string);
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
        if (!pair) break;
        line = lineAt((pair.key as Node | undefined)?.range?.[0]) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        const item = node.items[key] as Node | undefined;
        if (!item) break;
        line = lineAt(item.range?.[0]) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
}
