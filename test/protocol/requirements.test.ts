import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REQUIREMENTS } from './requirements.js';

const root = resolve(import.meta.dirname, '../..');

describe('protocol requirements are each proven by a test', () => {
  it('has unique requirement ids', () => {
    expect(new Set(REQUIREMENTS.map((r) => r.id)).size).toBe(REQUIREMENTS.length);
  });

  for (const r of REQUIREMENTS) {
    it(`${r.id}: ${r.says}`, () => {
      const file = resolve(root, r.file);
      expect(existsSync(file), r.file).toBe(true);
      const text = readFileSync(file, 'utf8');
      // The test must exist under exactly this name, as a plain it(...) / test(...): not
      // .skip, .todo, .skipIf or .runIf, and in a file with no describe that skips. (Under
      // CI=true any skip also fails the build: .ci/report.mjs.)
      const quoted = [`'${r.test}'`, `"${r.test}"`, `\`${r.test}\``];
      const at = quoted.map((q) => text.indexOf(q)).find((i) => i >= 0);
      expect(at, `${r.file} has no test named "${r.test}"`).toBeDefined();
      const call = /(?:^|[^\w.])((?:it|test)(?:\.[\w]+)*)\(\s*$/.exec(text.slice(Math.max(0, at! - 200), at));
      expect(call?.[1], `"${r.test}" in ${r.file} is not an it(...) or test(...) title`).toMatch(/^(it|test)(\.(concurrent|sequential))?$/);
      expect(text, `${r.file} skips a describe block`).not.toMatch(/describe\.(skip|skipIf|runIf|todo)\b/);
    });
  }
});
