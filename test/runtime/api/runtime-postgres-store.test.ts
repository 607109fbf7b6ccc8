import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobIdOf } from '../../../protocol/index.js';
import { Runtime } from '../../../runtime/api/runtime.js';
import { loadConfig } from '../../../runtime/api/load-config.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../../helpers/postgres-cluster.js';
import { FLOW_SCHEMA } from '../../helpers/runtime-fixture.js';
import { runWeft } from '../../helpers/weft-process.js';

warnIfNoPostgres('selecting the PostgreSQL store (config, WEFT_DATABASE_URL, --store)');

// A builtin step that writes to the store too (a data blob of its input).
const ECHO = { schema: FLOW_SCHEMA, name: 'echo', steps: [{ id: 'e', component: '/builtin/put_blob', input: { data: { $input: 'x' }, blob_type: 'data' } }], output: { $step: 'e' } };
const ECHO_YAML = `schema: ${FLOW_SCHEMA}
name: echo
steps:
  - id: e
    component: /builtin/put_blob
    input: {data: {$input: x}, blob_type: data}
output: {$step: e}
`;
const CONFIG = `plugins:\n  builtin: {type: builtin}\nroutes:\n  "/builtin/{*component}":\n    - plugin: builtin\n`;

describe.skipIf(!postgresAvailable)('selecting the PostgreSQL store', () => {
  const pg = sharedPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'weft-pg-select-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = (stateStore: string) => {
    const file = join(mkdtempSync(join(dir, 'c-')), 'weft.config.yml');
    writeFileSync(file, `${CONFIG}${stateStore}`);
    return file;
  };
  const runOn = async (rt: Runtime) => {
    try {
      const status = await rt.run(await rt.putFlow(ECHO), [{ x: 1 }, { x: 2 }]);
      expect(status.status).toBe('success');
      return rt.store.location;
    } finally { await rt.close(); }
  };

  it('config stateStore {type: postgres, url}, and Stepflow\'s databaseUrl spelling of the same setting', async () => {
    const url = await pg.database();
    const db = new URL(url.replace('@/', '@localhost/')).pathname.slice(1);
    expect(await runOn(await Runtime.open({ config: config(`stateStore: {type: postgres, url: "${url}"}\n`), cwd: dir }))).toMatch(new RegExp(`^postgres://postgres@.*/${db}$`));
    const rt = await Runtime.open({ config: config(`stateStore:\n  type: postgres\n  databaseUrl: "${url}"\n`), cwd: dir });
    expect((await rt.listRuns()).map((r) => r.status)).toEqual(['success']); // the same database
    await runOn(rt);
  });

  it('refuses a postgres store without a URL, and a url on another store type, naming the file', () => {
    const none = config('stateStore: {type: postgres}\n');
    expect(() => loadConfig(none)).toThrow(new RegExp(`${none.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: stateStore: type postgres needs url`));
    expect(() => loadConfig(config('stateStore: {type: sqlite, url: "postgres://x@y/z"}\n'))).toThrow(/url is for type postgres/);
  });

  it('WEFT_DATABASE_URL when no store is given (over the config), and a store option over both', async () => {
    const url = await pg.database();
    process.env.WEFT_DATABASE_URL = url;
    try {
      expect(await runOn(await Runtime.open({ config: config('stateStore: {type: memory}\n'), cwd: dir }))).toMatch(/^postgres:/);
      expect(await runOn(await Runtime.open({ config: config(''), cwd: dir, store: 'memory' }))).toBe('memory');
    } finally {
      delete process.env.WEFT_DATABASE_URL;
    }
    expect(await runOn(await Runtime.open({ config: config(''), cwd: dir, store: url }))).toMatch(/^postgres:/);
  });

  it('weft run, weft runs and weft resume with --store postgres://… (and WEFT_DATABASE_URL)', async () => {
    const url = await pg.database();
    const ws = mkdtempSync(join(dir, 'cli-'));
    writeFileSync(join(ws, 'weft.config.yml'), CONFIG);
    writeFileSync(join(ws, 'flow.yaml'), ECHO_YAML);
    const run = await runWeft(['run', 'flow.yaml', '--input', '{"x": 7}', '--store', url], ws);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'success', results: [{ result: { value: { blob_id: blobIdOf(7) } } }] });
    const runs = await runWeft(['runs', 'list', '--store', url], ws);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/success\s+1\/1 ok/);
    const resume = await runWeft(['resume'], ws, { WEFT_DATABASE_URL: url });
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stderr).toMatch(/no unfinished runs to resume/);
  });

  it('a wrong URL, a missing database and a refused --store kind fail with one line saying what to fix', async () => {
    const ws = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(ws, 'weft.config.yml'), CONFIG);
    writeFileSync(join(ws, 'flow.yaml'), ECHO_YAML);
    const url = await pg.database();
    const missing = url.replace(/\/weft_test_\d+\?/, '/no_such_db?');
    const r1 = await runWeft(['run', 'flow.yaml', '--input', '{"x": 1}', '--store', missing], ws);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/weft store postgres:\/\/postgres@.*\/no_such_db: .*no_such_db.*create it \(createdb\)/);
    const r2 = await runWeft(['run', 'flow.yaml', '--input', '{"x": 1}', '--store', 'mysql://x'], ws);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--store must be "sqlite", "memory" or a PostgreSQL URL/);
    const r3 = await runWeft(['run', 'flow.yaml', '--input', '{"x": 1}'], ws, { WEFT_DATABASE_URL: 'mysql://u:secret@h/db' });
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(/WEFT_DATABASE_URL "mysql:\/\/u:\*\*\*@h\/db": expected postgres:\/\//);
    expect(r3.stderr).not.toMatch(/secret/);
  });
});
