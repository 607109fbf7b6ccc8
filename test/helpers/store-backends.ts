import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from './postgres-cluster.js';

/** A store a `weft` process of a suite runs on: its env (empty: the workspace's SQLite file). */
export interface StoreBackend { name: string; env(): Promise<Record<string, string>> }

/**
 * SQLite and, where its binaries are (always under CI), PostgreSQL: one cluster for the
 * calling file, a fresh database per `env()` (passed as WEFT_DATABASE_URL).
 */
export function storeBackends(suite: string): StoreBackend[] {
  warnIfNoPostgres(suite);
  const backends: StoreBackend[] = [{ name: 'SQLite', env: async () => ({}) }];
  if (postgresAvailable) {
    const pg = sharedPostgres();
    backends.push({ name: 'PostgreSQL', env: async () => ({ WEFT_DATABASE_URL: await pg.database() }) });
  }
  return backends;
}
