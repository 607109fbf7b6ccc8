import type { AsyncStore } from './async-state-store.js';
import { toAsyncStore } from './async-state-adapter.js';
import { openStore, type OpenStoreOptions } from './open-store.js';
import type { PostgresConnectOptions } from './postgres-connect.js';

export interface OpenAsyncStoreOptions extends Omit<OpenStoreOptions, 'type'> {
  /** `sqlite` (default), `memory` (Stepflow's `inMemory`) or `postgres` (needs `url`). */
  type?: OpenStoreOptions['type'] | 'postgres';
  /** PostgreSQL: postgres://user:password@host:5432/database. */
  url?: string;
  /** How a PostgreSQL server that is not up yet is waited for (and told about). */
  connect?: PostgresConnectOptions;
}

/** Whether `s` names a PostgreSQL server (`postgres://…`, `postgresql://…`). */
export const isPostgresUrl = (s: string | undefined): boolean => s !== undefined && /^postgres(ql)?:\/\//i.test(s);

/**
 * Any store, in its asynchronous form: PostgreSQL when the type or URL says so
 * (connected, its schema migrated), else the in-process stores of `openStore`.
 */
export async function openAsyncStore(options: OpenAsyncStoreOptions = {}): Promise<AsyncStore> {
  const url = options.url ?? (isPostgresUrl(options.databaseUrl) ? options.databaseUrl : undefined);
  if (options.type === 'postgres' || (options.type === undefined && url)) {
    if (!url) throw new Error('stateStore type postgres needs url (postgres://user:password@host:5432/database)');
    // Loaded only for PostgreSQL: the driver costs ~40 ms of every `weft run` on SQLite otherwise.
    const { PostgresStore } = await import('./postgres-store.js');
    return PostgresStore.open(url, options.connect);
  }
  const { url: _url, connect: _connect, ...rest } = options;
  return toAsyncStore(openStore(rest as OpenStoreOptions));
}
