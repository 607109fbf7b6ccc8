import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../protocol/index.js';
import { componentsCommand, routePathFor } from '../../../runtime/cli/commands/components.js';

const config = join(packageRoot(), 'test', 'fixtures', 'configs', 'stepflow-config.yml');

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } } }, out: () => out, err: () => err };
}

describe('weft components', () => {
  it("lists a Python server's components from a Stepflow-format config, as route paths with schemas", async () => {
    const c = capture();
    expect(await componentsCommand({ config, json: true }, c.io)).toBe(0);
    const listed = JSON.parse(c.out()) as Array<Record<string, unknown>>;
    expect(listed).toContainEqual({
      path: '/python/add', plugin: 'python', component: '/add', description: 'Adds two numbers',
      input_schema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      output_schema: { type: 'object', properties: { sum: { type: 'number' } } },
    });
    expect(listed.find((x) => x.component === '/greet')).toMatchObject({ path: '/python/greet', plugin: 'python' });
  });

  it('prints a readable table', async () => {
    const c = capture();
    expect(await componentsCommand({ config }, c.io)).toBe(0);
    const lines = c.out().split('\n');
    expect(lines[0]).toMatch(/^PATH\s+PLUGIN\s+DESCRIPTION\s+INPUT\s+OUTPUT$/);
    expect(lines.find((l) => l.startsWith('/python/add'))).toMatch(/^\/python\/add\s+python\s+Adds two numbers\s+\{a: number, b: number\}\s+\{sum\?: number\}$/);
  });

  it('maps component names back to route paths through patterns and templates', () => {
    const routes = { '/python/{component}': [{ plugin: 'py' }], '/b/{*component}': [{ plugin: 'b' }], '/t/{x}': [{ plugin: 't', component: '/pre-{x}' }] };
    expect(routePathFor(routes, 'py', '/udf')).toBe('/python/udf');
    expect(routePathFor(routes, 'py', '/a/b')).toBeUndefined();
    expect(routePathFor(routes, 'b', '/a/b')).toBe('/b/a/b');
    expect(routePathFor(routes, 't', '/pre-thing')).toBe('/t/thing');
  });
});
