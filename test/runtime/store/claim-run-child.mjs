// A second runtime process for the ownership test: opens the store file, tries to claim
// a run, prints {"claimed": boolean}, and with --hold keeps the claim until killed.
// Usage: node claim-run-child.mjs <db> <runId> <ownerId> [--hold]
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const [dbPath, runId, ownerId, hold] = process.argv.slice(2);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const { module } = await runnerImport(`${root}runtime/store/sqlite-store.ts`, { root, configFile: false, logLevel: 'silent' });
const store = new module.SqliteStore({ path: dbPath });
const claimed = store.claimRun(runId, { id: ownerId, pid: process.pid, host: hostname() });
process.stdout.write(`${JSON.stringify({ claimed })}\n`);
if (hold === '--hold') setInterval(() => {}, 60_000);
else store.close();
