import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Ajv2020 as Ajv2020Type } from 'ajv/dist/2020.js';

// The runtime compiles schemas/*.json without checking them against the JSON Schema
// 2020-12 meta-schema (that compile cost every command ~20 ms at start), so this test does.
const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020Type };
const dir = join(import.meta.dirname, '..', '..', 'schemas');
const metaErrors = (schema: unknown): string[] => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.validateSchema(schema as object) ? [] : (ajv.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

describe('schemas/*.json', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('are the four weft ships', () => {
    expect(files.sort()).toEqual(['config.json', 'flow.json', 'http.json', 'protocol.json']);
  });

  for (const file of files) {
    it(`${file} is a valid JSON Schema 2020-12 document`, () => {
      expect(metaErrors(JSON.parse(readFileSync(join(dir, file), 'utf8')))).toEqual([]);
    });
  }

  it('the check catches a schema the meta-schema rejects', () => {
    expect(metaErrors({ $defs: { A: { type: 'strnig' } } }).length).toBeGreaterThan(0);
  });
});
