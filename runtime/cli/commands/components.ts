import { resolve } from 'node:path';
import type { ComponentInfo } from '../../../protocol/index.js';
import type { RouteRule, WeftConfig } from '../../api/config-types.js';
import { defaultConfig, findConfig, loadConfig } from '../../api/load-config.js';
import { loadFileScope } from '../../api/plugin-set.js';
import { createPlugins } from '../../plugins/create-plugins.js';
import type { PluginFactories } from '../../plugins/create-plugins.js';
import { BuiltinPlugin } from '../../plugins/builtins.js';
import { MockPlugin } from '../../plugins/mock-plugin.js';
import type { Plugin } from '../../plugins/plugin.js';
import type { RuntimeContext } from '../../plugins/runtime-context.js';
import { UsageError } from '../usage-error.js';

export interface ComponentsOptions { config?: string; json?: boolean; cwd?: string }
export interface CommandIo { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } }

/** One listed component: the path a flow uses (when some route reaches it) and what its server says. */
export interface ListedComponent {
  path?: string;
  plugin: string;
  component: string;
  description?: string;
  input_schema?: unknown;
  output_schema?: unknown;
}

/** The in-process plugin types, built as Runtime.open builds them. */
export const DEFAULT_FACTORIES: PluginFactories = {
  builtin: (_name, _config, weft) => new BuiltinPlugin({ loadFile: loadFileScope(weft) }),
  mock: (name, config) => new MockPlugin(name, config),
};

/** Listing only (weft components, weft validate): a server calling back while listed gets a clear refusal. */
export const listingOnly: RuntimeContext = {
  putBlob: () => Promise.reject(new Error('not available while listing components')),
  getBlob: () => Promise.reject(new Error('not available while listing components')),
  submitRun: () => Promise.reject(new Error('not available while listing components')),
  getRun: () => Promise.reject(new Error('not available while listing components')),
  awaitInput: () => Promise.reject(new Error('not available while listing components')),
};

/**
 * `weft components [--config FILE] [--json]`: starts every configured plugin, lists its
 * components via components/list with the route path a flow would use, prints a table
 * (or JSON), and shuts everything down. Returns the exit code (1 if a plugin failed).
 * `factories` supplies the in-process plugin types (builtin, mock); a type without one
 * is reported and skipped.
 */
export async function componentsCommand(opts: ComponentsOptions, io: CommandIo, factories: PluginFactories = DEFAULT_FACTORIES): Promise<number> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  let config: WeftConfig;
  try {
    const found = opts.config ? resolve(cwd, opts.config) : findConfig(cwd);
    config = found ? loadConfig(found) : defaultConfig(cwd);
  } catch (error) {
    throw new UsageError((error as Error).message); // a missing or invalid config is a usage error (exit 2), as everywhere
  }

  let exitCode = 0;
  const plugins = new Map<string, Plugin>();
  for (const [name, pluginConfig] of Object.entries(config.plugins)) {
    try {
      const one = createPlugins({ ...config, plugins: { [name]: pluginConfig } }, factories);
      plugins.set(name, one.get(name)!);
    } catch (error) {
      io.stderr.write(`weft components: skipping plugin "${name}": ${(error as Error).message}\n`);
    }
  }

  const listed: ListedComponent[] = [];
  try {
    const perPlugin = await Promise.all([...plugins].map(async ([name, plugin]) => {
      try {
        await plugin.init(listingOnly);
        return { name, components: await plugin.listComponents() };
      } catch (error) {
        io.stderr.write(`weft components: plugin "${name}": ${(error as Error).message}\n`);
        exitCode = 1;
        return { name, components: [] as ComponentInfo[] };
      }
    }));
    for (const { name, components } of perPlugin) {
      for (const info of components) listed.push({ path: routePathFor(config.routes, name, info.component), plugin: name, ...info });
    }
  } finally {
    await Promise.allSettled([...plugins.values()].map((plugin) => plugin.close()));
  }

  io.stdout.write(opts.json ? `${JSON.stringify(listed, null, 2)}\n` : formatTable(listed));
  return exitCode;
}

/**
 * The step component path that routes to `component` on `plugin`: the route pattern with
 * its parameters filled in from the rule's `component` template (default `/{component}`).
 * Undefined when no route reaches it.
 */
export function routePathFor(routes: Record<string, RouteRule[]>, plugin: string, component: string): string | undefined {
  for (const [pattern, rules] of Object.entries(routes)) {
    for (const rule of rules) {
      if (rule.plugin !== plugin) continue;
      const template = rule.component ?? '/{component}';
      // A value captured by a catch-all {*name} in the pattern may contain slashes.
      const catchAll = new Set([...pattern.matchAll(/\{\*([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]));
      const names: string[] = [];
      const source = template.split(/(\{\*?[A-Za-z_][A-Za-z0-9_]*\})/).map((part) => {
        const param = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(param[2]);
        return param[1] || catchAll.has(param[2]) ? '(.+)' : '([^/]+)';
      }).join('');
      const match = new RegExp(`^${source}$`).exec(component);
      if (!match) continue;
      const captured = Object.fromEntries(names.map((n, i) => [n, match[i + 1]]));
      let ok = true;
      const path = pattern.replace(/\{(\*?)([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, star: string, name: string) => {
        const value = captured[name];
        if (value === undefined || (!star && value.includes('/'))) { ok = false; return whole; }
        return value;
      });
      if (!ok) continue;
      if (rule.componentAllow && !rule.componentAllow.includes(component)) continue;
      if (rule.componentDeny?.includes(component)) continue;
      return path;
    }
  }
  return undefined;
}

function formatTable(listed: ListedComponent[]): string {
  if (listed.length === 0) return 'No components.\n';
  const rows = listed.map((c) => [c.path ?? `(not routed: ${c.component})`, c.plugin, c.description ?? '', schemaSummary(c.input_schema), schemaSummary(c.output_schema)]);
  const header = ['PATH', 'PLUGIN', 'DESCRIPTION', 'INPUT', 'OUTPUT'];
  // Paths and plugin names are never cut; descriptions and schemas are, at 60 characters.
  const widths = header.map((h, i) => Math.min(i < 2 ? Infinity : 60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const fit = (cell: string, width: number) => (cell.length > width ? `${cell.slice(0, width - 1)}…` : cell.padEnd(width));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : fit(cell, widths[i]))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** `{a: number, b?: string}` from a JSON Schema object; `-` when there is none. */
function schemaSummary(schema: unknown): string {
  if (schema === undefined || schema === null) return '-';
  const s = schema as { type?: unknown; properties?: Record<string, { type?: unknown }>; required?: string[] };
  if (s.properties && typeof s.properties === 'object') {
    const required = new Set(s.required ?? []);
    return `{${Object.entries(s.properties).map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${typeName(v?.type)}`).join(', ')}}`;
  }
  return typeName(s.type);
}

function typeName(type: unknown): string {
  if (Array.isArray(type)) return type.join('|');
  return typeof type === 'string' ? type : 'any';
}
