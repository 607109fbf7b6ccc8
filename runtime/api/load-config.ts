import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ErrorObject } from 'ajv';
import { formatValidationError, validationIssues, validatorFor } from '../../protocol/index.js';
import type { MockBehavior, PluginConfig, RouteRule, StateStoreConfig, WeftConfig } from './config-types.js';

/** Names looked for, in each directory from the flow's upwards; two in one directory is an error. */
export const CONFIG_FILE_NAMES = [
  'weft.config.yml', 'weft.config.yaml',
  'stepflow-config.yml', 'stepflow-config.yaml', 'stepflow_config.yml', 'stepflow_config.yaml',
] as const;

/** weft's config when there is none: the builtins, routed at /builtin/... */
export function defaultConfig(cwd: string): WeftConfig {
  return {
    workingDirectory: resolve(cwd),
    plugins: { builtin: { type: 'builtin' } },
    routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
  };
}

/** The config file that applies to `startDir` (searching its parents too), or undefined. */
export function findConfig(startDir: string): string | undefined {
  for (let dir = resolve(startDir); ; dir = dirname(dir)) {
    const found = CONFIG_FILE_NAMES.filter((name) => existsSync(join(dir, name)));
    if (found.length > 1) {
      throw new Error(`${dir}: ambiguous configuration: found ${found.join(' and ')}; keep one, or pass --config`);
    }
    if (found.length === 1) return join(dir, found[0]);
    if (dirname(dir) === dir) return undefined;
  }
}

/** `--config` if given, else the discovered file for the flow's directory (or cwd), else the default (working in that directory). */
export function resolveConfig(options: { config?: string; flowPath?: string; cwd?: string } = {}): WeftConfig {
  const cwd = options.cwd ?? process.cwd();
  if (options.config) return loadConfig(resolve(cwd, options.config));
  const dir = options.flowPath ? dirname(resolve(cwd, options.flowPath)) : cwd;
  const found = findConfig(dir);
  return found ? loadConfig(found) : defaultConfig(dir);
}

/**
 * Reads weft.config.yml / stepflow-config.yml (YAML 1.2) or JSON, validates it against
 * schemas/config.json and normalizes it: Stepflow's spellings accepted, paths absolute,
 * mock `behaviors` (YAML mappings used as keys) turned into input/output pairs.
 * Errors name the file, the path inside it and the rule broken.
 */
export function loadConfig(path: string): WeftConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read config: ${(error as Error).message}`, { cause: error });
  }
  const raw = file.endsWith('.json') ? parseJson(text, file) : parseYaml(text, file);
  return configFromObject(raw, file, dirname(file));
}

/**
 * Validates and normalizes a config given as a value (e.g. a flow's inline `test.config`).
 * `source` names it in errors; a relative workingDirectory is taken from `baseDir`.
 */
export function configFromObject(value: unknown, source: string, baseDir: string): WeftConfig {
  const raw = toPlain(value, [], source);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: a config must be a mapping (with at least "plugins")`);
  const validate = validatorFor('config');
  if (!validate(raw)) {
    // if/then branches add a vague "must match then schema" on top of the real error.
    const errors = (validate.errors ?? []).filter((e: ErrorObject) => e.keyword !== 'if');
    throw new Error(`invalid config:\n${formatValidationError(source, validationIssues(errors))}`);
  }
  return normalize(raw as RawConfig, source, baseDir);
}

interface RawConfig {
  workingDirectory?: string;
  plugins: Record<string, PluginConfig & { env?: Record<string, unknown> }>;
  routes?: Record<string, RouteRule[]>;
  stateStore?: RawStateStore;
  state_store?: RawStateStore;
  limits?: WeftConfig['limits'];
  observability?: WeftConfig['observability'];
  cluster?: WeftConfig['cluster'];
  validateInput?: boolean;
}
interface RawStateStore { type: string; path?: string; url?: string; durability?: 'full' | 'normal'; databaseUrl?: string; database_url?: string }

const PLUGIN_TYPES = ['builtin', 'stepflow', 'mock'];

/** Why weft cannot run a plugin the config names (it loads, as unavailable), or undefined. */
function unsupportedPlugin(plugin: { type: string; transport?: unknown }): string | undefined {
  if (!PLUGIN_TYPES.includes(plugin.type)) {
    return `weft does not support plugin type "${plugin.type}"${plugin.type === 'mcp' ? " (Stepflow's MCP servers)" : ''}; it runs ${PLUGIN_TYPES.join(', ')}`;
  }
  if (plugin.type === 'stepflow' && plugin.transport !== undefined && plugin.transport !== 'stdio') {
    return `weft does not support transport ${JSON.stringify(plugin.transport)}; its component servers speak stdio`;
  }
  return undefined;
}

function normalize(raw: RawConfig, file: string, baseDir: string): WeftConfig {
  const plugins: Record<string, PluginConfig> = {};
  for (const [name, plugin] of Object.entries(raw.plugins)) {
    const unsupported = unsupportedPlugin(plugin);
    if (unsupported) {
      plugins[name] = { type: 'unavailable', reason: unsupported };
    } else if (plugin.type === 'stepflow') {
      const env = plugin.env && Object.fromEntries(Object.entries(plugin.env).map(([k, v]) => [k, String(v)]));
      plugins[name] = { ...plugin, args: plugin.args ?? [], ...(env ? { env } : {}) };
    } else {
      plugins[name] = plugin;
    }
  }
  const routes = raw.routes ?? {};
  for (const [pattern, rules] of Object.entries(routes)) {
    rules.forEach((rule, i) => {
      if (!(rule.plugin in plugins)) {
        throw new Error(`invalid config:\n${file}: routes["${pattern}"][${i}].plugin: unknown plugin "${rule.plugin}" (configured: ${Object.keys(plugins).join(', ') || 'none'})`);
      }
    });
  }
  if (raw.stateStore && raw.state_store) throw new Error(`invalid config:\n${file}: stateStore and state_store are the same setting; keep one`);
  const store = raw.stateStore ?? raw.state_store;
  const config: WeftConfig = {
    workingDirectory: resolve(baseDir, raw.workingDirectory ?? '.'),
    plugins,
    routes,
    source: file,
  };
  if (store) config.stateStore = normalizeStore(store, file);
  if (raw.limits) config.limits = raw.limits;
  if (raw.observability) config.observability = raw.observability;
  if (raw.cluster) config.cluster = raw.cluster;
  if (raw.validateInput !== undefined) config.validateInput = raw.validateInput;
  return config;
}

function normalizeStore(store: RawStateStore, file: string): StateStoreConfig {
  const type = store.type === 'in_memory' ? 'inMemory' : store.type === 'postgresql' ? 'postgres' : (store.type as StateStoreConfig['type']);
  const out: StateStoreConfig = { type };
  if (store.path !== undefined) out.path = store.path;
  if (store.durability !== undefined) out.durability = store.durability;
  const url = store.databaseUrl ?? store.database_url;
  if (url !== undefined) out.databaseUrl = url;
  if (type === 'postgres') {
    const pgUrl = store.url ?? url;
    if (!pgUrl) throw new Error(`invalid config:\n${file}: stateStore: type postgres needs url (postgres://user:password@host:5432/database)`);
    if (store.url !== undefined && url !== undefined && store.url !== url) throw new Error(`invalid config:\n${file}: stateStore: url and databaseUrl are the same setting; keep one`);
    out.url = pgUrl;
  } else if (store.url !== undefined) {
    throw new Error(`invalid config:\n${file}: stateStore: url is for type postgres (this store is ${type}; use path or databaseUrl)`);
  }
  return out;
}

function parseJson(text: string, file: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  // The yaml package (2.6–2.9) reports a spurious "Map comment with trailing content"
  // (code IMPOSSIBLE) for the second flow-mapping key of a block map, e.g. Stepflow's mock
  // `behaviors: {{input: a}: ..., {input: b}: ...}`, yet builds the right tree: ignore it.
  const errors = doc.errors.filter((e) => !(e.code === 'IMPOSSIBLE' && e.message.startsWith('Map comment with trailing content')));
  if (errors.length > 0) {
    throw new Error(errors.map((e) => {
      const at = e.linePos?.[0];
      return `${file}${at ? `:${at.line}:${at.col}` : ''}: ${e.message.split('\n')[0]}`;
    }).join('\n'));
  }
  // mapAsMap keeps mappings-as-keys (mock behaviors) intact instead of stringifying them.
  return doc.toJS({ mapAsMap: true }) as unknown;
}

/** Maps → plain objects; a mock component's `behaviors` → `MockBehavior[]` pairs. */
function toPlain(value: unknown, path: string[], file: string): unknown {
  const isBehaviors = path.length === 5 && path[0] === 'plugins' && path[2] === 'components' && path[4] === 'behaviors';
  if (isBehaviors && (value instanceof Map || isPlainObject(value))) {
    const entries: Array<[unknown, unknown]> = value instanceof Map ? [...value.entries()] : Object.entries(value);
    return entries.map(([input, output], i): MockBehavior => ({
      input: toPlain(input, [...path, String(i), 'input'], file),
      output: toPlain(output, [...path, String(i), 'output'], file),
    }));
  }
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value.entries()) {
      if (key !== null && typeof key === 'object') {
        throw new Error(`${file}: ${path.join('.') || '(top level)'}: a mapping used as a key is only allowed in a mock component's behaviors`);
      }
      out[String(key)] = toPlain(item, [...path, String(key)], file);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((item, i) => toPlain(item, [...path, String(i)], file));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v, [...path, k], file)]));
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Map) && !(value instanceof Set);
}
