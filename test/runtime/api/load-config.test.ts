import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../protocol/index.js';
import { configFromObject, defaultConfig, findConfig, loadConfig, resolveConfig } from '../../../runtime/api/load-config.js';

const configs = join(packageRoot(), 'test', 'fixtures', 'configs');
const temps: string[] = [];
function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
  temps.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
afterEach(() => { for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true }); });

describe('loadConfig', () => {
  it("loads Stepflow's stepflow-config.yml unchanged, paths relative to the file", () => {
    const config = loadConfig(join(configs, 'stepflow-config.yml'));
    expect(config.workingDirectory).toBe(configs);
    expect(config.source).toBe(join(configs, 'stepflow-config.yml'));
    expect(config.plugins.python).toMatchObject({ type: 'stepflow', transport: 'stdio', command: 'python3', args: ['../servers/python_server.py'] });
    expect(config.plugins.builtin).toEqual({ type: 'builtin' });
    expect(config.routes).toEqual({ '/python/{component}': [{ plugin: 'python' }], '/builtin/{component}': [{ plugin: 'builtin' }] });
  });

  it('turns mock behaviors keyed by YAML mappings into input/output pairs (YAML 1.2: timestamps stay strings)', () => {
    const dir = tempDir({
      'weft.config.yml': `
workingDirectory: work
plugins:
  mock:
    type: mock
    components:
      /one_output:
        input_schema: { type: object }
        behaviors:
          ? input: hello
          : outcome: success
            result: { output: world }
          ? { at: 2024-01-01 00:00:00+00:00 }
          : { outcome: failed, error: { code: 7, message: nope } }
          plain: { error: boom }
  server:
    type: stepflow
    transport: stdio
    command: node
    env: { PORT: 8080, MODE: "\${MODE:-dev}" }
routes:
  "/mock/{*component}":
    - plugin: mock
stateStore: { type: sqlite, databaseUrl: "sqlite:runs.db?mode=rwc" }
`,
    });
    const config = loadConfig(join(dir, 'weft.config.yml'));
    expect(config.workingDirectory).toBe(join(dir, 'work'));
    expect(config.plugins.mock).toEqual({
      type: 'mock',
      components: {
        '/one_output': {
          input_schema: { type: 'object' },
          behaviors: [
            { input: { input: 'hello' }, output: { outcome: 'success', result: { output: 'world' } } },
            { input: { at: '2024-01-01 00:00:00+00:00' }, output: { outcome: 'failed', error: { code: 7, message: 'nope' } } },
            { input: 'plain', output: { error: 'boom' } },
          ],
        },
      },
    });
    // env values are strings; ${VAR} is substituted when the server is spawned, not here.
    expect(config.plugins.server).toMatchObject({ args: [], env: { PORT: '8080', MODE: '${MODE:-dev}' } });
    expect(config.stateStore).toEqual({ type: 'sqlite', databaseUrl: 'sqlite:runs.db?mode=rwc' });
  });

  it("accepts JSON, and Stepflow's documented state_store spelling", () => {
    const dir = tempDir({ 'weft.json': JSON.stringify({ plugins: { b: { type: 'builtin' } }, state_store: { type: 'in_memory', database_url: 'x' } }) });
    const config = loadConfig(join(dir, 'weft.json'));
    expect(config.stateStore).toEqual({ type: 'inMemory', databaseUrl: 'x' });
    expect(config.routes).toEqual({});
  });

  it('takes the store durability (full by default in the store, normal on request) and rejects others', () => {
    const dir = tempDir({
      'normal.yml': 'plugins: {b: {type: builtin}}\nstateStore: {type: sqlite, path: runs.db, durability: normal}\n',
      'bogus.yml': 'plugins: {b: {type: builtin}}\nstateStore: {type: sqlite, durability: sometimes}\n',
    });
    expect(loadConfig(join(dir, 'normal.yml')).stateStore).toEqual({ type: 'sqlite', path: 'runs.db', durability: 'normal' });
    expect(() => loadConfig(join(dir, 'bogus.yml'))).toThrow(/stateStore\.durability: must be equal to one of the allowed values: \["full","normal"\] \(enum\)/);
  });

  it('names the file, the path and the rule when the config is invalid', () => {
    const dir = tempDir({
      'bad.yml': 'plugins:\n  py:\n    type: stepflow\n    transport: stdio\n    command: ""\n',
      'missing.yml': 'routes: {}\n',
      'extra.yml': 'plugins: {}\nplugin: {}\n',
      'route.yml': 'plugins:\n  b: { type: builtin }\nroutes:\n  "/x/{component}":\n    - plugin: ghost\n',
      'rule.yml': 'plugins:\n  b: { type: builtin }\nroutes:\n  "/x/{component}":\n    - plugin: b\n      componentAlow: [/a]\n',
      'syntax.yml': 'plugins:\n  b: [\n',
    });
    const message = (name: string) => { try { loadConfig(join(dir, name)); } catch (e) { return (e as Error).message; } return 'no error'; };
    expect(message('bad.yml')).toContain(`${join(dir, 'bad.yml')}: plugins.py.command: must NOT have fewer than 1 characters (minLength)`);
    expect(message('missing.yml')).toContain(`${join(dir, 'missing.yml')}: plugins: must have required property 'plugins' (required)`);
    expect(message('extra.yml')).toContain('extra.yml: plugin: must NOT have additional properties (additionalProperties)');
    expect(message('route.yml')).toContain('route.yml: routes["/x/{component}"][0].plugin: unknown plugin "ghost"');
    expect(message('rule.yml')).toMatch(/rule\.yml: routes\["\/x\/\{component\}"\]\[0\]\.componentAlow: must NOT have additional properties/);
    expect(message('syntax.yml')).toMatch(/syntax\.yml:\d+:\d+: /);
  });

  it('validates an inline config object against the same schema', () => {
    expect(configFromObject({ plugins: { b: { type: 'builtin' } } }, 'flow.yaml (test.config)', '/base')).toMatchObject({ workingDirectory: '/base', source: 'flow.yaml (test.config)' });
    expect(() => configFromObject({ plugins: { b: { type: 'builtin' }, c: { type: 'mock' } } }, 'flow.yaml (test.config)', '/base')).toThrow(/flow\.yaml \(test\.config\): plugins\.c\.components: must have required property 'components'/);
  });
});

describe('config discovery', () => {
  it("finds weft.config.yml or Stepflow's names in the directory or its parents", () => {
    const dir = tempDir({ 'stepflow_config.yaml': 'plugins: {}\n', 'flows/deep/flow.yaml': '' });
    expect(findConfig(join(dir, 'flows', 'deep'))).toBe(join(dir, 'stepflow_config.yaml'));
    const near = tempDir({ 'a/weft.config.yml': 'plugins: {}\n', 'stepflow-config.yml': 'plugins: {}\n' });
    expect(findConfig(join(near, 'a'))).toBe(join(near, 'a', 'weft.config.yml'));
  });

  it('refuses two config files in one directory', () => {
    const dir = tempDir({ 'weft.config.yml': 'plugins: {}\n', 'stepflow-config.yaml': 'plugins: {}\n' });
    expect(() => findConfig(dir)).toThrow(/ambiguous configuration: found weft\.config\.yml and stepflow-config\.yaml/);
  });

  it('falls back to the builtins routed at /builtin/{*component}', () => {
    const dir = tempDir({ 'flow.yaml': '' });
    expect(findConfig(dir)).toBeUndefined();
    expect(resolveConfig({ flowPath: join(dir, 'flow.yaml') })).toEqual(defaultConfig(dir));
    expect(defaultConfig(dir)).toEqual({ workingDirectory: dir, plugins: { builtin: { type: 'builtin' } }, routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] } });
    expect(resolveConfig({ config: join(configs, 'stepflow-config.yml') }).source).toBe(join(configs, 'stepflow-config.yml'));
  });
});
