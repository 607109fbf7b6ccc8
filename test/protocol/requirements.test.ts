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
      // The test must exist under exactly this name (an it(...) or describe(...) title).
      const quoted = [`'${r.test}'`, `"${r.test}"`, `\`${r.test}\``];
      expect(quoted.some((q) => text.includes(q)), `${r.file} has no test named "${r.test}"`).toBe(true);
    });
  }
});
