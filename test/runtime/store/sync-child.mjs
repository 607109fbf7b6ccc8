// A process whose fsyncs the durability test watches with strace. It writes markers to
// stderr (a write(2) strace records in order with the fsyncs): "OPEN" once the store is
// open, "COMMIT <k>" when the k-th deferSync transaction has returned,
//   "DEFERRED <k>" after its synced() settled (acknowledged),
//   "ORDINARY" after an ordinary transaction returned, "CLOSE" before closing.
// Usage: node sync-child.mjs <db> <full|normal>
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const [dbPath, durability] = process.argv.slice(2);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const { module } = await runnerImport(`${root}runtime/store/sqlite-store.ts`, { root, configFile: false, logLevel: 'silent' });
const store = new module.SqliteStore({ path: dbPath, durability });
const mark = (text) => process.stderr.write(`${text}\n`);
mark('OPEN');
const run = (i) => ({ runId: `r${i}`, flowId: `sha256:${'0'.repeat(64)}`, status: 'running', createdAt: 't', rootRunId: `r${i}`, depth: 0, items: {} });

// Ten deferred commits in one turn, then each acknowledged: they should share fsyncs.
const acks = [];
for (let k = 0; k < 10; k++) {
  store.transaction(() => store.createRun(run(k)), { deferSync: true });
  mark(`COMMIT ${k}`);
  const synced = store.synced();
  acks.push((synced ?? Promise.resolve()).then(() => mark(`DEFERRED ${k}`)));
}
await Promise.all(acks);
store.transaction(() => store.createRun(run(10)));
mark('ORDINARY');
process.stdout.write(`${JSON.stringify({ after: store.synced() === undefined ? 'undefined' : 'promise' })}\n`);
mark('CLOSE');
store.close();
