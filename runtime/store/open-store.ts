import { resolve } from 'node:path';
import { MemoryStore } from './memory-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './state-store.js';

export const DEFAULT_STORE_PATH = '.weft/weft.db';

export interface OpenStoreOptions {
  /** `sqlite` (default) or `memory`; Stepflow's `inMemory` is accepted. */
  type?: 'sqlite' | 'memory' | 'inMemory';
  /** SQLite file, relative to `cwd` (default `.weft/weft.db`). */
  path?: string;
  /** Stepflow's spelling: `sqlite:path/to/db?mode=rwc`, `sqlite://path`, `sqlite::memory:`. */
  databaseUrl?: string;
  /** Base for a relative path (default: the process's cwd). */
  cwd?: string;
  durability?: 'normal' | 'full';
}

/** The configured store: SQLite at `.weft/weft.db` unless told otherwise. */
export function openStore(options: OpenStoreOptions = {}): Store {
  const type = options.type ?? 'sqlite';
  if (type === 'memory' || type === 'inMemory') return new MemoryStore();
  if (type !== 'sqlite') throw new Error(`unknown store type ${JSON.stringify(type)} (expected sqlite or memory)`);
  const path = options.path ?? (options.databaseUrl !== undefined ? pathOfDatabaseUrl(options.databaseUrl) : DEFAULT_STORE_PATH);
  return new SqliteStore({
    path: path === ':memory:' ? path : resolve(options.cwd ?? process.cwd(), path),
    ...(options.durability ? { durability: options.durability } : {}),
  });
}

/** `sqlite:` URL (sqlx style, as Stepflow writes them) → a file path or `:memory:`. */
export function pathOfDatabaseUrl(url: string): string {
  const match = /^sqlite:(.*)$/i.exec(url);
  if (!match) throw new Error(`databaseUrl ${JSON.stringify(url)}: expected sqlite:<path> (e.g. sqlite:.weft/weft.db?mode=rwc or sqlite::memory:)`);
  let rest = match[1].replace(/\?.*$/, '');
  if (rest.startsWith('//')) rest = rest.slice(2); // sqlite://rel/path, sqlite:///abs/path
  if (rest === '' || rest === ':memory:') return ':memory:';
  return decodeURIComponent(rest);
}
