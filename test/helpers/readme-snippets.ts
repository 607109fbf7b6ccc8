import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const README = resolve(import.meta.dirname, '../../README.md');

/**
 * The README's code blocks marked `<!-- tested: NAME -->`, by NAME: tests run them as they
 * are printed, so the README cannot drift from what works.
 */
export function readmeSnippets(file = README): Map<string, string> {
  const text = readFileSync(file, 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<!-- tested: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)) {
    if (out.has(m[1])) throw new Error(`${file}: two snippets are marked "${m[1]}"`);
    out.set(m[1], `${m[2]}\n`);
  }
  return out;
}

/** The `npx weft ...` command lines of a shell snippet, split into arguments (single quotes only). */
export function weftCommands(sh: string): string[][] {
  return sh.split('\n').filter((l) => l.startsWith('npx weft ')).map((l) => {
    const args: string[] = [];
    for (const m of l.slice('npx '.length).replace(/\s+#.*$/, '').matchAll(/'([^']*)'|(\S+)/g)) args.push(m[1] ?? m[2]);
    return args;
  });
}
