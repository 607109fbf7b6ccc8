import { describe, expect, it } from 'vitest';
import { failure, success } from '../../../protocol/index.js';
import { MockPlugin } from '../../../runtime/plugins/mock-plugin.js';
import type { ExecuteRequest } from '../../../runtime/plugins/plugin.js';

const request = (component: string, input: unknown): ExecuteRequest =>
  ({ component, input, attempt: 1, observability: {}, caller: {} });

const plugin = new MockPlugin('mock', {
  type: 'mock',
  components: {
    '/one': {
      input_schema: { type: 'object' },
      output_schema: { type: 'object' },
      behaviors: [
        { input: { a: 1, b: 2 }, output: { outcome: 'success', result: { out: 'ok' } } },
        { input: { mode: 'error' }, output: { outcome: 'failed', error: { code: 8, message: 'error' } } },
        { input: { mode: 'msg' }, output: { error: 'plain message' } },
      ],
    },
  },
});

describe('the mock plugin (Stepflow type: mock)', () => {
  it('answers a behaviour matched by JSON value, whatever the key order', async () => {
    expect(await plugin.execute(request('/one', { b: 2, a: 1 }))).toEqual(success({ out: 'ok' }));
  });

  it('returns configured failures with their own code, and {error} as COMPONENT_FAILED', async () => {
    expect(await plugin.execute(request('/one', { mode: 'error' }))).toEqual({ outcome: 'failed', error: { code: 8, kind: 'COMPONENT_FAILED', message: 'error' } });
    expect(await plugin.execute(request('/one', { mode: 'msg' }))).toEqual(failure('COMPONENT_FAILED', 'plain message'));
  });

  it('fails with Stepflow\'s message when no behaviour matches', async () => {
    expect(await plugin.execute(request('/one', { input: 'world' })))
      .toEqual(failure('COMPONENT_FAILED', 'No behavior defined for /one on {"input":"world"}'));
    expect(await plugin.execute(request('/two', {}))).toMatchObject({ error: { kind: 'COMPONENT_NOT_FOUND' } });
  });

  it('lists its components with their schemas', async () => {
    expect(await plugin.listComponents()).toEqual([{ component: '/one', input_schema: { type: 'object' }, output_schema: { type: 'object' } }]);
    expect(await plugin.componentInfo('/one')).toMatchObject({ component: '/one' });
    expect(await plugin.componentInfo('/nope')).toBeUndefined();
  });
});
