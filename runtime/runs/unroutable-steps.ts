import type { Flow } from '../../protocol/index.js';
import type { PluginRouter } from '../plugins/plugin-router.js';

/** The components of `flow`'s steps that no route of `router` reaches (empty: every step can run). */
export function unroutableSteps(flow: Flow, router: PluginRouter): string[] {
  return [...new Set((flow.steps ?? []).map((s) => s.component).filter((c) => !router.canRoute(c)))];
}
