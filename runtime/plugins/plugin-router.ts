import type { Plugin } from './plugin.js';

export interface ResolvedRoute { plugin: Plugin; component: string }

/** Maps a step's component path (and its evaluated input, for conditions) to a plugin. */
export interface PluginRouter {
  /** A route, or an error message (the step then fails with COMPONENT_NOT_FOUND). */
  resolve(component: string, input: unknown): ResolvedRoute | { error: string };
  /** Whether some route pattern matches the path (conditions ignored): for validation. */
  canRoute(component: string): boolean;
  plugins(): Plugin[];
}
