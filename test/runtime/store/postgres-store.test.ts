import { afterAll, beforeAll } from 'vitest';
import { PostgresStore } from '../../../runtime/store/postgres-store.js';
import { PostgresCluster, postgresAvailable, warnIfNoPostgres } from '../../helpers/postgres-cluster.js';
import { describeStore } from './store-contract.js';

warnIfNoPostgres('the store contract');

let cluster: PostgresCluster | undefined;
let url = '';
beforeAll(async () => {
  if (!postgresAvailable) return;
  cluster = await PostgresCluster.start();
  url = await cluster.createDatabase();
  await (await PostgresStore.open(url)).close(); // migrated once, before the tests
});
afterAll(async () => { await cluster?.stop(); });

// One database, emptied before each test: cheaper than a database per test.
async function openEmpty(): Promise<PostgresStore> {
  const store = await PostgresStore.open(url);
  await cluster!.sql('TRUNCATE weft.blobs, weft.runs, weft.run_params, weft.items, weft.steps, weft.event_batches, weft.run_owners RESTART IDENTITY', new URL(url.replace('@/', '@localhost/')).pathname.slice(1));
  return store;
}

if (postgresAvailable) describeStore('postgres', openEmpty, { batchesRollBack: true });
