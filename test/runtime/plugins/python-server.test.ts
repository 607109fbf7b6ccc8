import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../protocol/index.js';
import { loadConfig } from '../../../runtime/api/load-config.js';
import { createPlugins } from '../../../runtime/plugins/create-plugins.js';
import { executeWithRetries } from '../../../runtime/plugins/execute-with-retries.js';
import type { Plugin } from '../../../runtime/plugins/plugin.js';
import { RouteTable } from '../../../runtime/plugins/route-table.js';
import { StdioPlugin } from '../../../runtime/plugins/stdio-plugin.js';
import { MapRuntimeContext } from '../../helpers/map-runtime-context.js';
import { isProcessAlive as isPidAlive } from '../../../runtime/store/run-ownership.js';

const configPath = join(packageRoot(), 'test', 'fixtures', 'configs', 'stepflow-config.yml');
const stubBuiltin = (): Plugin => ({
  name: 'builtin', init: async () => undefined, listComponents: async () => [], componentInfo: async () => undefined,
  execute: async () => ({ outcome: 'success', result: 'builtin' }), close: async () => undefined,
});
let plugins: Map<string, Plugin> | undefined;
afterEach(async () => { await Promise.all([...(plugins?.values() ?? [])].map((p) => p.close())); plugins = undefined; });

describe('a Python (stdlib) component server from a Stepflow config', () => {
  it('is built from the config, routed, executed, and shut down without leftovers', async () => {
    const config = loadConfig(configPath);
    plugins = createPlugins(config, { builtin: stubBuiltin });
    expect(plugins.get('python')).toBeInstanceOf(StdioPlugin);
    const router = new RouteTable(config.routes, plugins);
    await Promise.all([...plugins.values()].map((p) => p.init(new MapRuntimeContext())));

    const route = router.resolve('/python/add', { a: 2, b: 3 });
    if ('error' in route) throw new Error(route.error);
    expect(route.component).toBe('/add');
    const result = await executeWithRetries(route.plugin, {
      component: route.component, input: { a: 2, b: 3 }, attempt: 1, observability: { step_id: 'sum' }, caller: { stepId: 'sum' },
    });
    expect(result).toEqual({ outcome: 'success', result: { sum: 5 } });

    const failed = await route.plugin.execute({ component: '/add', input: { a: 1 }, attempt: 1, observability: {}, caller: { stepId: 'sum' } });
    expect(failed).toMatchObject({ outcome: 'failed', error: { kind: 'COMPONENT_FAILED', message: expect.stringMatching(/^step "sum" failed: Component execution failed: /), data: { code: -32003 } } });

    const [pid] = (route.plugin as StdioPlugin).pids();
    await Promise.all([...plugins.values()].map((p) => p.close()));
    expect(isPidAlive(pid!)).toBe(false);
  });

  it('refuses a plugin type it has no factory for, naming the plugin', () => {
    expect(() => createPlugins(loadConfig(configPath))).toThrow(/plugin "builtin": type "builtin" is not available here/);
  });
});
