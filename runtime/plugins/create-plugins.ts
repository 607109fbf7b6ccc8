import type { PluginConfig, WeftConfig } from '../api/config-types.js';
import type { Plugin } from './plugin.js';
import { StdioPlugin } from './stdio-plugin.js';
import { UnavailablePlugin } from './unavailable-plugin.js';
import type { StdioPluginOptions } from './stdio-plugin.js';

/** Builds a plugin of one in-process type (builtin, mock) from its config entry. */
export type PluginFactory<C extends PluginConfig = PluginConfig> = (name: string, config: C, weft: WeftConfig) => Plugin;

export interface PluginFactories {
  builtin?: PluginFactory<Extract<PluginConfig, { type: 'builtin' }>>;
  mock?: PluginFactory<Extract<PluginConfig, { type: 'mock' }>>;
}

/** Extra options for every stdio plugin (logging, backoff, shutdown grace). */
export type StdioDefaults = Partial<Omit<StdioPluginOptions, 'name' | 'workingDirectory' | 'command' | 'args'>>;

/**
 * WeftConfig → Plugin instances, in config order (not yet initialized). `stepflow`
 * plugins are built here; builtin and mock come from `factories`, so this file does not
 * depend on their implementations.
 */
export function createPlugins(config: WeftConfig, factories: PluginFactories = {}, stdioDefaults: StdioDefaults = {}): Map<string, Plugin> {
  const plugins = new Map<string, Plugin>();
  for (const [name, plugin] of Object.entries(config.plugins)) {
    switch (plugin.type) {
      case 'stepflow':
        plugins.set(name, new StdioPlugin({
          ...limitsOf(config), ...stdioDefaults, ...withoutKind(plugin), name, workingDirectory: config.workingDirectory,
        }));
        break;
      case 'unavailable':
        plugins.set(name, new UnavailablePlugin(name, plugin.reason));
        break;
      case 'builtin':
      case 'mock': {
        const factory = factories[plugin.type] as PluginFactory | undefined;
        if (!factory) throw new Error(`plugin "${name}": type "${plugin.type}" is not available here (no factory given)`);
        plugins.set(name, factory(name, plugin, config));
        break;
      }
      default:
        throw new Error(`plugin "${name}": unknown type "${(plugin as { type: string }).type}"`);
    }
  }
  return plugins;
}

function withoutKind(plugin: Extract<PluginConfig, { type: 'stepflow' }>): Omit<StdioPluginOptions, 'name' | 'workingDirectory'> {
  const { type: _type, transport: _transport, ...rest } = plugin;
  return rest;
}

function limitsOf(config: WeftConfig): Pick<StdioPluginOptions, 'maxMessageBytes' | 'maxJsonDepth'> {
  const { maxMessageBytes, maxJsonDepth } = config.limits ?? {};
  return { ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}), ...(maxJsonDepth !== undefined ? { maxJsonDepth } : {}) };
}
