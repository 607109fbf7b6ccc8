import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/api is generated from the TSDoc by TypeDoc (`npm run docs:api`); it must not drift
// from the code: regenerated here, it must be the same, file for file.
const ROOT = resolve(import.meta.dirname, '../..');

const files = (dir: string): Map<string, string> => {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return out;
};

describe('API reference (docs/api)', () => {
  it('is what TypeDoc generates from the code now (run `npm run docs:api` after changing the public API)', () => {
    const out = mkdtempSync(join(tmpdir(), 'weft-apidocs-'));
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--out', out, '--logLevel', 'Error'], { cwd: ROOT, stdio: 'pipe' });
      const fresh = files(out);
      const committed = files(join(ROOT, 'docs/api'));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [name, text] of fresh) expect(committed.get(name), `docs/api/${name}`).toBe(text);
      // Runtime's internals stay out of it.
      const api = fresh.get('weft.md')!;
      const runtime = api.slice(api.indexOf('\n### Runtime\n'), api.indexOf('\n## Interfaces\n'));
      expect(runtime).toMatch(/^##### submit\(\)$/m);
      expect(runtime).not.toMatch(/^#+ (store|router|runs)\b/m);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
