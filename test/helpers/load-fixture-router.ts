import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument } from 'yaml';
import type { MockBehavior, MockPluginConfig } from '../../runtime/api/config-types.js';
import { MockPlugin } from '../../runtime/plugins/mock-plugin.js';
import type { Plugin } from '../../runtime/plugins/plugin.js';
import { StaticRouter } from './static-router.js';

/**
 * A router over the mock plugins of a Stepflow test config (flows.md §11.1), for running
 * the fixture flows before the real config loader exists. Mock `behaviors` use YAML
 * mappings as keys, so they are read with the Document API and flattened to pairs.
 * Routes of the form `/prefix/{component}` or `/{*component}` are supported.
 */
const toJs = (n: unknown): unknown => (n && typeof n === 'object' && 'toJSON' in n ? (n as { toJSON(): unknown }).toJSON() : n);

export function loadFixtureRouter(configPath: string): StaticRouter {
  const doc = parseDocument(readFileSync(configPath, 'utf8'));
  const plugins = new Map<string, Plugin>();
  const pluginsNode = doc.get('plugins');
  if (isMap(pluginsNode)) {
    for (const pair of pluginsNode.items) {
      const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const node = pair.value;
      if (!isMap(node) || node.get('type') !== 'mock') continue;
      const components: MockPluginConfig['components'] = {};
      const componentsNode = node.get('components');
      if (isMap(componentsNode)) {
        for (const c of componentsNode.items) {
          const path = String(isScalar(c.key) ? c.key.value : c.key);
          const cNode = c.value;
          if (!isMap(cNode)) continue;
          const behaviors: MockBehavior[] = [];
          const bNode = cNode.get('behaviors');
          if (isMap(bNode)) {
            for (const b of bNode.items) {
              behaviors.push({ input: toJs(b.key), output: toJs(b.value) });
            }
          }
          const schema = (key: string): unknown => toJs(cNode.get(key, true));
          components[path] = { input_schema: schema('input_schema'), output_schema: schema('output_schema'), behaviors };
        }
      }
      plugins.set(name, new MockPlugin(name, { type: 'mock', components }));
    }
  }
  const routes: Record<string, Plugin> = {};
  const raw = (toJs(doc.get('routes', true)) ?? {}) as Record<string, { plugin: string }[]>;
  for (const [pattern, rules] of Object.entries(raw)) {
    const plugin = plugins.get(rules[0]?.plugin);
    if (!plugin) continue;
    routes[pattern.slice(0, pattern.indexOf('{'))] = plugin;
  }
  return new StaticRouter(routes);
}
