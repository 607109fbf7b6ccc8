import { dirname, resolve } from 'node:path';
import { Runtime } from '../api/runtime.js';
import { findConfig, loadConfig } from '../api/load-config.js';
import { UsageError } from './usage-error.js';
import { isPostgresUrl } from '../store/open-async-store.js';

export interface CommonOptions { config?: string; store?: string }

/**
 * Opens the runtime the way every command does: config from `--config`, else discovered
 * beside the flow (or cwd) and its parents; store from `--store` (sqlite at .weft/weft.db
 * by default).
 */
export interface OpenExtra {
  resume?: boolean | { runId: string };
  startPlugins?: boolean;
  /** The command, as the cluster names this process (PostgreSQL). */
  role?: string;
  cluster?: { capacity?: number };
}

export async function openRuntime(opts: CommonOptions, near?: string, extra: OpenExtra = {}): Promise<Runtime> {
  if (opts.store !== undefined && opts.store !== 'sqlite' && opts.store !== 'memory' && !isPostgresUrl(opts.store)) {
    throw new UsageError(`--store must be "sqlite", "memory" or a PostgreSQL URL (postgres://user:password@host:5432/database), got "${opts.store}"`);
  }
  let config;
  try {
    const found = opts.config ? resolve(opts.config) : findConfig(near ? dirname(resolve(near)) : process.cwd());
    config = found ? loadConfig(found) : undefined;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return Runtime.open({
    ...(config ? { config } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    resume: extra.resume ?? false,
    ...(extra.startPlugins === false ? { startPlugins: false } : {}),
    ...(extra.role ? { role: extra.role } : {}),
    ...(extra.cluster ? { cluster: extra.cluster } : {}),
  });
}
