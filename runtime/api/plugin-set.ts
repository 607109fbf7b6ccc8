import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Plugin } from '../plugins/plugin.js';
import { createPlugins } from '../plugins/create-plugins.js';
import { RouteTable } from '../plugins/route-table.js';
import { BuiltinPlugin } from '../plugins/builtins.js';
import type { LoadFileScope } from '../plugins/builtins/load-file.js';
import { MockPlugin } from '../plugins/mock-plugin.js';
import type { WeftConfig } from './config-types.js';

/** A config's plugins (not yet started) and the route table over them. */
export function pluginSet(config: WeftConfig, flowDirectory?: (flowId: string) => string | undefined): { plugins: Map<string, Plugin>; router: RouteTable } {
  const plugins = createPlugins(config, {
    builtin: () => new BuiltinPlugin({ loadFile: loadFileScope(config, flowDirectory) }),
    mock: (name, pc) => new MockPlugin(name, pc),
  });
  return { plugins, router: new RouteTable(config.routes, plugins) };
}

/**
 * `/load_file`'s root is the project's: the config file's directory, or the working
 * directory when there is none (or it was given inline). The config file and a store
 * file are never readable, beside any `.weft/` directory.
 */
export function loadFileScope(config: WeftConfig, flowDirectory?: (flowId: string) => string | undefined): LoadFileScope {
  const file = config.source && isAbsolute(config.source) && existsSync(config.source) ? config.source : undefined;
  const store = config.stateStore?.path ? [resolve(config.workingDirectory, config.stateStore.path)] : [];
  return {
    root: file ? dirname(file) : config.workingDirectory,
    privateFiles: [...(file ? [file] : []), ...store],
    ...(flowDirectory ? { flowDirectory } : {}),
  };
}
