import { describe, expect, it } from 'vitest';
import { RouteTable, evaluatePath } from '../../../runtime/plugins/route-table.js';
import type { Plugin } from '../../../runtime/plugins/plugin.js';

const plugin = (name: string): Plugin => ({
  name,
  init: async () => undefined,
  listComponents: async () => [],
  componentInfo: async () => undefined,
  execute: async () => ({ outcome: 'success', result: null }),
  close: async () => undefined,
});
const plugins = { python: plugin('python'), builtin: plugin('builtin'), openai: plugin('openai'), local: plugin('local') };
const routed = (table: RouteTable, path: string, input: unknown = {}) => {
  const r = table.resolve(path, input);
  return 'error' in r ? r : { plugin: r.plugin.name, component: r.component };
};

describe('RouteTable', () => {
  it('sends "/" + the captured {component}: one segment for {name}, the rest for {*name}', () => {
    const table = new RouteTable({ '/python/{component}': [{ plugin: 'python' }], '/builtin/{*component}': [{ plugin: 'builtin' }] }, plugins);
    expect(routed(table, '/python/udf')).toEqual({ plugin: 'python', component: '/udf' });
    expect(routed(table, '/builtin/a/b')).toEqual({ plugin: 'builtin', component: '/a/b' });
    expect(routed(table, '/python/a/b')).toEqual({ error: expect.stringContaining('"/python/a/b"') });
    expect(table.canRoute('/python/udf')).toBe(true);
    expect(table.canRoute('python/udf')).toBe(false);
  });

  it('prefers static over parameter over catch-all', () => {
    const table = new RouteTable({
      '/{*component}': [{ plugin: 'builtin' }],
      '/x/{component}': [{ plugin: 'python' }],
      '/x/special': [{ plugin: 'local', component: '/special' }],
    }, plugins);
    expect(routed(table, '/x/special')).toEqual({ plugin: 'local', component: '/special' });
    expect(routed(table, '/x/other')).toEqual({ plugin: 'python', component: '/other' });
    expect(routed(table, '/y/other')).toEqual({ plugin: 'builtin', component: '/y/other' });
  });

  it('tries rules in order with conditions, allow/deny lists and component templates', () => {
    const table = new RouteTable({
      '/ai/{provider}/{component}': [
        { plugin: 'openai', conditions: [{ path: '$.model', value: 'gpt-4' }] },
        { plugin: 'local', componentDeny: ['/secret'], component: '/{provider}-{component}' },
        { plugin: 'python' },
      ],
    }, plugins);
    expect(routed(table, '/ai/x/chat', { model: 'gpt-4' })).toEqual({ plugin: 'openai', component: '/chat' });
    expect(routed(table, '/ai/x/chat', { model: 'llama' })).toEqual({ plugin: 'local', component: '/x-chat' });
    // The deny list is checked against the resolved name.
    const deny = new RouteTable({ '/ai/{component}': [{ plugin: 'local', componentDeny: ['/secret'] }, { plugin: 'python', componentAllow: ['/secret'] }] }, plugins);
    expect(routed(deny, '/ai/secret')).toEqual({ plugin: 'python', component: '/secret' });
    expect(routed(deny, '/ai/open')).toEqual({ plugin: 'local', component: '/open' });
    // A condition path missing from the input aborts routing, naming the component.
    expect(routed(table, '/ai/x/chat', {})).toEqual({ error: expect.stringMatching(/"\/ai\/x\/chat".*\$\.model not found/) });
  });

  it('explains what went wrong, naming the component path', () => {
    const table = new RouteTable({ '/only/{component}': [{ plugin: 'python', componentAllow: ['/a'] }], '/fixed': [{ plugin: 'python' }] }, plugins);
    expect(routed(table, '/nowhere')).toEqual({ error: expect.stringContaining('no route matches component "/nowhere"') });
    expect(routed(table, '/only/b')).toEqual({ error: expect.stringContaining('no matching rule found for component "/only/b"') });
    expect(routed(table, '/fixed')).toEqual({ error: expect.stringContaining('captures no {component}') });
    expect(() => new RouteTable({ '/x/{component}': [{ plugin: 'ghost' }] }, plugins)).toThrow(/routes\["\/x\/\{component\}"\]\[0\]\.plugin: unknown plugin "ghost"/);
    expect(() => new RouteTable({ '/{*rest}/x': [{ plugin: 'python' }] }, plugins)).toThrow(/catch-all/);
  });

  it('lists each plugin once', () => {
    expect(new RouteTable({}, plugins).plugins().map((p) => p.name)).toEqual(['python', 'builtin', 'openai', 'local']);
  });
});

describe('route condition paths', () => {
  it('reads $.a.b, $[0], $["k"] and a bare key', () => {
    const input = { a: { b: 2 }, list: [10, 20], 'odd key': true, name: 'n' };
    expect(evaluatePath('$.a.b', input)).toEqual({ ok: true, value: 2 });
    expect(evaluatePath('$.list[1]', input)).toEqual({ ok: true, value: 20 });
    expect(evaluatePath('$[0]', [7])).toEqual({ ok: true, value: 7 });
    expect(evaluatePath('$["odd key"]', input)).toEqual({ ok: true, value: true });
    expect(evaluatePath('name', input)).toEqual({ ok: true, value: 'n' });
    expect(evaluatePath('$', input)).toEqual({ ok: true, value: input });
    expect(evaluatePath('$.a.c', input)).toEqual({ ok: false });
  });

  it('follows the flows JSONPath rules: a field runs to the next . or [, whitespace is trimmed', () => {
    const input = { model: { 'gpt-4:beta': 'yes' } };
    expect(evaluatePath('$.model.gpt-4:beta', input)).toEqual({ ok: true, value: 'yes' });
    expect(evaluatePath('  $.model  ', input)).toEqual({ ok: true, value: input.model });
  });

  it('rejects a malformed condition path when the table is built, naming route, rule and condition', () => {
    expect(() => new RouteTable({ '/llm/{component}': [{ plugin: 'openai', conditions: [{ path: '$model', value: 'x' }] }] }, plugins))
      .toThrow(/routes\["\/llm\/\{component\}"\]\[0\]\.conditions\[0\]\.path: .*'m'/);
  });
});
