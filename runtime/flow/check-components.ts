import { closest, distance } from 'fastest-levenshtein';
import type { ComponentInfo, Flow } from '../../protocol/index.js';
import type { Plugin } from '../plugins/plugin.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import type { Diagnostic } from './diagnostic.js';

/** What a plugin answered to components/list, or why it could not. */
export type ComponentList = ComponentInfo[] | Error;

/**
 * Checks that each step's component exists on the plugin its route reaches, as that
 * plugin's `components/list` says: a typo (`/enrich/scroe`) is an error with a "did you
 * mean", instead of a flow that validates and then fails every item. Steps routed by
 * conditions on their input are not checked (the plugin depends on the item).
 */
export async function checkComponents(flow: Flow, router: PluginRouter, list: (plugin: Plugin) => Promise<ComponentList>): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const unavailable = new Set<string>();
  for (const [i, step] of (flow.steps ?? []).entries()) {
    if (typeof step.component !== 'string' || !step.component.startsWith('/') || !router.canRoute(step.component)) continue;
    const route = router.resolve(step.component, undefined);
    if ('error' in route) continue;
    const path = `steps[${i}].component`;
    const listed = await list(route.plugin);
    if (listed instanceof Error) {
      if (!unavailable.has(route.plugin.name)) {
        unavailable.add(route.plugin.name);
        out.push({ level: 'error', rule: 'ComponentServerUnavailable', path,
          message: `cannot check component "${step.component}": plugin "${route.plugin.name}" did not list its components: ${listed.message.split('\n')[0]}` });
      }
      continue;
    }
    const names = listed.map((c) => c.component);
    if (names.includes(route.component)) continue;
    out.push({ level: 'error', rule: 'UnknownComponent', path,
      message: `plugin "${route.plugin.name}" has no component "${route.component}"${suggestion(step.component, route.component, names)}` });
  }
  return out;
}

/** `; did you mean "/enrich/score"?` when a listed name is a few edits away. */
function suggestion(stepPath: string, name: string, names: string[]): string {
  if (names.length === 0) return ' (it lists none)';
  const best = closest(name, names);
  if (distance(name, best) > Math.max(2, Math.floor(name.length / 3))) return ` (it has: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})`;
  // Say it as the flow would write it: the step path with the plugin's name replaced.
  const bare = name.replace(/^\//, '');
  const asWritten = stepPath.endsWith(bare) ? `${stepPath.slice(0, stepPath.length - bare.length)}${best.replace(/^\//, '')}` : best;
  return `; did you mean "${asWritten}"?`;
}
