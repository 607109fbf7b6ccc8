import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Imports point one way: cli / server → api → runs → flow → plugins → protocol, with
// store beside runs and flow. protocol/ imports nothing of ours; sdk/ only protocol/.
const root = resolve(import.meta.dirname, '..');

/** layer → the layers it may import (besides itself). */
const allowed: Record<string, string[]> = {
  protocol: [],
  sdk: ['protocol'],
  'runtime/store': ['protocol'],
  // Traces, logs and metrics: below everything that reports to them.
  'runtime/telemetry': ['protocol'],
  'runtime/plugins': ['protocol', 'runtime/telemetry', 'runtime/api/config-types'],
  'runtime/flow': ['protocol', 'runtime/plugins', 'runtime/store', 'runtime/telemetry', 'runtime/api/config-types'],
  'runtime/runs': ['protocol', 'runtime/flow', 'runtime/plugins', 'runtime/store', 'runtime/telemetry', 'runtime/api/config-types'],
  'runtime/api': ['protocol', 'runtime/runs', 'runtime/flow', 'runtime/plugins', 'runtime/store', 'runtime/telemetry'],
  'runtime/client': ['protocol'],
  'runtime/server': ['protocol', 'runtime/api', 'runtime/runs', 'runtime/store', 'runtime/flow', 'runtime/plugins', 'runtime/telemetry'],
  'runtime/cli': ['protocol', 'runtime/api', 'runtime/client', 'runtime/server', 'runtime/flow', 'runtime/store', 'runtime/plugins', 'runtime/runs', 'runtime/telemetry'],
};

function layerOf(file: string, base = root): string | undefined {
  const rel = relative(base, file).split('\\').join('/');
  if (rel === 'runtime/api/config-types.ts') return 'runtime/api/config-types';
  return Object.keys(allowed).sort((a, b) => b.length - a.length).find((l) => rel.startsWith(`${l}/`));
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import in the tree under `base` that goes up or sideways between layers, one line each. */
function violationsUnder(base: string): string[] {
  const files = ['protocol', 'sdk', 'runtime'].filter((d) => existsSync(join(base, d))).flatMap((d) => sources(join(base, d)));
  const violations: string[] = [];
  for (const file of files) {
    const from = layerOf(file, base);
    if (!from) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const to = layerOf(target, base);
      if (!to || to === from) continue;
      if (from === 'runtime/api/config-types') continue;
      // Config types are data shapes: whoever may import api/ may import them.
      if (to === 'runtime/api/config-types' && (from === 'runtime/api' || allowed[from].includes('runtime/api'))) continue;
      if (!allowed[from].includes(to)) violations.push(`${relative(base, file)} imports ${relative(base, target)} (${from} → ${to})`);
    }
  }
  return violations;
}

describe('architecture', () => {
  const files = ['protocol', 'sdk', 'runtime'].flatMap((d) => sources(join(root, d)));

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('has no upward or sideways import between layers', () => {
    expect(violationsUnder(root)).toEqual([]);
  });

  it('detects a violation (the rule is not vacuous): the same scan of a fixture tree that breaks it', () => {
    // test/fixtures/architecture: protocol/ re-exports from runs/, plugins/ imports runs/ dynamically.
    expect(violationsUnder(join(root, 'test/fixtures/architecture')).sort()).toEqual([
      'protocol/reaches-up.ts imports runtime/runs/runs-constant.ts (protocol → runtime/runs)',
      'runtime/plugins/reaches-sideways.ts imports runtime/runs/runs-constant.ts (runtime/plugins → runtime/runs)',
    ]);
    expect(layerOf(join(root, 'runtime/api/config-types.ts'))).toBe('runtime/api/config-types');
  });
});
