import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// `npm ci` installs exactly the lock file: every package in it must accept this Node 20, or
// npm prints EBADENGINE warnings; the packages users install with weft (not dev ones) must
// also accept weft's lowest Node (engines.node in package.json).
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(resolve(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean; optional?: boolean; engines?: { node?: string } | string[] }> };

describe('package-lock.json on Node 20', () => {
  const lowest = semver.minVersion(pkg.engines.node)!.version;

  it(`every locked package accepts ${process.version}, every runtime one ${lowest}`, () => {
    const refusing: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!path || !range) continue;
      checked++;
      for (const v of entry.dev ? [process.version] : [lowest, process.version]) {
        if (!semver.satisfies(v, range, { includePrerelease: true })) refusing.push(`${path}@${entry.version}: node ${range} (not ${v})`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(refusing).toEqual([]);
  });
});
