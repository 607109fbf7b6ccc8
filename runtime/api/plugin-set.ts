import type { Plugin } from '../plugins/plugin.js';
import { createPlugins } from '../plugins/create-plugins.js';
import { RouteTable } from '../plugins/route-table.js';
import { BuiltinPlugin } from '../plugins/builtins.js';
import { MockPlugin } from '../plugins/mock-plugin.js';
import type { WeftConfig } from './config-types.js';

/** A config's plugins (not yet started) and the route table over them. */
export function pluginSet(config: WeftConfig): { plugins: Map<string, Plugin>; router: RouteTable } {
  const plugins = createPlugins(config, {
    builtin: () => new BuiltinPlugin({ workingDirectory: config.workingDirectory }),
    mock: (name, pc) => new MockPlugin(name, pc),
  });
  return { plugins, router: new RouteTable(config.routes, plugins) };
}
