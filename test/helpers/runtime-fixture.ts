import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WeftConfig } from '../../runtime/api/config-types.js';
import { Runtime } from '../../runtime/api/runtime.js';
import { SqliteStore } from '../../runtime/store/sqlite-store.js';

export const SERVERS_DIR = resolve(import.meta.dirname, '../fixtures/servers');

/** A config with the builtins and, for each given name, a node component server from test/fixtures/servers. */
export function configWithServers(servers: Record<string, string | { script: string; instances?: number; timeoutSecs?: number; env?: Record<string, string> }>, limits?: WeftConfig['limits']): WeftConfig {
  const plugins: WeftConfig['plugins'] = { builtin: { type: 'builtin' } };
  const routes: WeftConfig['routes'] = { '/builtin/{*component}': [{ plugin: 'builtin' }] };
  for (const [name, spec] of Object.entries(servers)) {
    const s = typeof spec === 'string' ? { script: spec } : spec;
    plugins[name] = {
      type: 'stepflow', transport: 'stdio', command: process.execPath, args: [s.script],
      ...(s.instances ? { instances: s.instances } : {}),
      ...(s.timeoutSecs ? { timeoutSecs: s.timeoutSecs } : {}),
      ...(s.env ? { env: s.env } : {}),
    };
    routes[`/${name}/{component}`] = [{ plugin: name }];
  }
  return { workingDirectory: SERVERS_DIR, plugins, routes, ...(limits ? { limits } : {}) };
}

/**
 * Opens a Runtime on a fresh SQLite store in a temp dir (`sqlite`: that store, for tests
 * that reach into it); `close()` also removes the dir.
 */
export async function openTestRuntime(config: WeftConfig, opts: { store?: 'sqlite' | 'memory' } = {}): Promise<{ rt: Runtime; dir: string; sqlite?: SqliteStore; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-test-'));
  const sqlite = opts.store === 'memory' ? undefined : new SqliteStore({ path: join(dir, 'weft.db') });
  const rt = await Runtime.open({ config, store: sqlite ?? 'memory', cwd: dir });
  return { rt, dir, ...(sqlite ? { sqlite } : {}), close: async () => { await rt.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export const FLOW_SCHEMA = 'https://stepflow.org/schemas/v1/flow.json' as const;
export const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
