import type { Plugin } from '../../runtime/plugins/plugin.js';
import type { PluginRouter, ResolvedRoute } from '../../runtime/plugins/plugin-router.js';

/**
 * A minimal PluginRouter for flow tests: each prefix (`/mock/`, or `/` for everything)
 * sends `<prefix><rest>` to its plugin as `/<rest>`, like Stepflow's `/mock/{component}`.
 * The longest matching prefix wins.
 */
export class StaticRouter implements PluginRouter {
  private readonly prefixes: [string, Plugin][];

  constructor(routes: Record<string, Plugin>) {
    this.prefixes = Object.entries(routes).sort((a, b) => b[0].length - a[0].length);
  }

  resolve(component: string, _input: unknown): ResolvedRoute | { error: string } {
    for (const [prefix, plugin] of this.prefixes) {
      if (component.startsWith(prefix)) return { plugin, component: `/${component.slice(prefix.length)}` };
    }
    return { error: `no route matches component "${component}"` };
  }

  canRoute(component: string): boolean {
    return this.prefixes.some(([prefix]) => component.startsWith(prefix));
  }

  plugins(): Plugin[] {
    return [...new Set(this.prefixes.map(([, p]) => p))];
  }
}
