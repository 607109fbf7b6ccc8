import { NOT_FOUND, applyPath, canonicalJson, parsePath } from '../../protocol/index.js';
import type { JsonPath } from '../../protocol/index.js';
import type { RouteRule } from '../api/config-types.js';
import type { Plugin } from './plugin.js';
import type { PluginRouter, ResolvedRoute } from './plugin-router.js';

type Segment = { kind: 'static'; text: string } | { kind: 'param'; name: string } | { kind: 'catchAll'; name: string };
interface CompiledRoute { pattern: string; segments: Segment[]; rules: RouteRule[] }

const RANK = { static: 0, param: 1, catchAll: 2 } as const;
/** Bound on cached component paths (they come from flows, so this is never reached in practice). */
const MAX_CACHED = 10_000;

/** weft's default when there is no config: builtins under /builtin/... */
export const DEFAULT_ROUTES: Record<string, RouteRule[]> = { '/builtin/{*component}': [{ plugin: 'builtin' }] };

/**
 * Component path → plugin, from config routes (Stepflow's matchit-style patterns):
 * `{name}` is one segment, `{*name}` the rest; static beats param beats catch-all.
 * The name sent to the plugin is the rule's `component` template, or "/" + the value
 * captured by `{component}` / `{*component}`.
 */
export class RouteTable implements PluginRouter {
  private readonly routes: CompiledRoute[];
  private readonly byName: Map<string, Plugin>;
  private readonly cache = new Map<string, ResolvedRoute | { error: string }>();

  constructor(routes: Record<string, RouteRule[]>, plugins: Map<string, Plugin> | Record<string, Plugin>) {
    this.byName = plugins instanceof Map ? plugins : new Map(Object.entries(plugins));
    this.routes = Object.entries(routes).map(([pattern, rules]) => {
      rules.forEach((rule, i) => {
        if (!this.byName.has(rule.plugin)) {
          throw new Error(`routes["${pattern}"][${i}].plugin: unknown plugin "${rule.plugin}" (configured: ${[...this.byName.keys()].join(', ') || 'none'})`);
        }
        (rule.conditions ?? []).forEach((condition, c) => {
          try {
            parsePath(condition.path);
          } catch (error) {
            throw new Error(`routes["${pattern}"][${i}].conditions[${c}].path: ${(error as Error).message}`, { cause: error });
          }
        });
      });
      return { pattern, segments: compilePattern(pattern), rules };
    });
  }

  resolve(component: string, input: unknown): ResolvedRoute | { error: string } {
    const cached = this.cache.get(component);
    if (cached) return cached;
    const match = this.match(component);
    const resolved = this.resolveMatch(component, input, match);
    // Every step of every item resolves its component: remember answers that do not
    // depend on the input (no rule of the matched route has conditions).
    if (this.cache.size < MAX_CACHED && !match?.route.rules.some((r) => (r.conditions?.length ?? 0) > 0)) this.cache.set(component, resolved);
    return resolved;
  }

  private resolveMatch(component: string, input: unknown, match: ReturnType<RouteTable['match']>): ResolvedRoute | { error: string } {
    if (!match) return { error: `no route matches component "${component}" (routes: ${this.routes.map((r) => r.pattern).join(', ') || 'none'})` };
    const { route, params } = match;
    for (const rule of route.rules) {
      let conditionsHold = true;
      for (const condition of rule.conditions ?? []) {
        const found = evaluatePath(condition.path, input);
        // As in Stepflow: a missing path aborts routing rather than falling through.
        if (!found.ok) return { error: `routing component "${component}": condition path ${condition.path} not found in the step input` };
        if (canonicalJson(found.value) !== canonicalJson(condition.value)) { conditionsHold = false; break; }
      }
      if (!conditionsHold) continue;
      const name = resolvedName(rule, params);
      if (name === undefined) {
        return { error: `routing component "${component}": route "${route.pattern}" captures no {component} and its rule has no component template` };
      }
      if (rule.componentAllow && !rule.componentAllow.includes(name)) continue;
      if (rule.componentDeny?.includes(name)) continue;
      return { plugin: this.byName.get(rule.plugin)!, component: name };
    }
    return { error: `no matching rule found for component "${component}" (route "${route.pattern}")` };
  }

  canRoute(component: string): boolean {
    return this.match(component) !== undefined;
  }

  plugins(): Plugin[] {
    return [...new Set(this.byName.values())];
  }

  /** The best matching route: compared segment by segment, static < param < catch-all. */
  private match(path: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
    if (!path.startsWith('/')) return undefined;
    const parts = path.slice(1).split('/');
    let best: { route: CompiledRoute; params: Record<string, string>; ranks: number[] } | undefined;
    for (const route of this.routes) {
      const m = matchSegments(route.segments, parts);
      if (m && (!best || compareRanks(m.ranks, best.ranks) < 0)) best = { route, ...m };
    }
    return best && { route: best.route, params: best.params };
  }
}

function compilePattern(pattern: string): Segment[] {
  if (!pattern.startsWith('/')) throw new Error(`routes["${pattern}"]: a route pattern must start with "/"`);
  const parts = pattern.slice(1).split('/');
  return parts.map((part, i) => {
    const param = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
    if (!param) {
      if (/[{}]/.test(part)) throw new Error(`routes["${pattern}"]: "${part}": a parameter must be a whole segment ({name} or {*name})`);
      return { kind: 'static', text: part };
    }
    if (param[1]) {
      if (i !== parts.length - 1) throw new Error(`routes["${pattern}"]: catch-all {*${param[2]}} must be the last segment`);
      return { kind: 'catchAll', name: param[2] };
    }
    return { kind: 'param', name: param[2] };
  });
}

function matchSegments(segments: Segment[], parts: string[]): { params: Record<string, string>; ranks: number[] } | undefined {
  const params: Record<string, string> = {};
  const ranks: number[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    ranks.push(RANK[seg.kind]);
    if (seg.kind === 'catchAll') {
      const rest = parts.slice(i).join('/');
      if (i >= parts.length || rest === '') return undefined;
      params[seg.name] = rest;
      return { params, ranks };
    }
    if (i >= parts.length) return undefined;
    if (seg.kind === 'static' ? parts[i] !== seg.text : parts[i] === '') return undefined;
    if (seg.kind === 'param') params[seg.name] = parts[i];
  }
  return segments.length === parts.length ? { params, ranks } : undefined;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function resolvedName(rule: RouteRule, params: Record<string, string>): string | undefined {
  if (rule.component !== undefined) return rule.component.replace(/\{\*?([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => params[name] ?? whole);
  return params.component === undefined ? undefined : `/${params.component}`;
}

const parsedPaths = new Map<string, JsonPath>();

/**
 * A route condition's path into the step input: the same JSONPath subset as flows
 * (flows.md §5.1), parsed once per distinct path.
 */
export function evaluatePath(path: string, value: unknown): { ok: true; value: unknown } | { ok: false } {
  let parsed = parsedPaths.get(path);
  if (!parsed) {
    try {
      parsed = parsePath(path);
    } catch {
      return { ok: false };
    }
    parsedPaths.set(path, parsed);
  }
  const found = applyPath(value, parsed);
  return found === NOT_FOUND ? { ok: false } : { ok: true, value: found };
}
