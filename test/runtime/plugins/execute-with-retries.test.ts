import { describe, expect, it } from 'vitest';
import { failure, success } from '../../../protocol/index.js';
import type { FlowResult } from '../../../protocol/index.js';
import { executeWithRetries } from '../../../runtime/plugins/execute-with-retries.js';
import type { ExecuteRequest, Plugin } from '../../../runtime/plugins/plugin.js';

// Crash-and-retry against a real process is covered in stdio-plugin.test.ts; these pin the budget rules.
function scripted(results: FlowResult[]): Plugin & { attempts: number[] } {
  const attempts: number[] = [];
  return {
    name: 'scripted', attempts,
    init: async () => undefined, listComponents: async () => [], componentInfo: async () => undefined, close: async () => undefined,
    execute: async (request: ExecuteRequest) => { attempts.push(request.attempt); return results.shift()!; },
  };
}
const request: ExecuteRequest = { component: '/c', input: null, attempt: 1, observability: {}, caller: { stepId: 's' } };
const unreachable = failure('UNREACHABLE', 'crashed');

describe('executeWithRetries', () => {
  it('retries transport failures with attempt + 1, announcing every attempt first', async () => {
    const plugin = scripted([unreachable, unreachable, success(42)]);
    const announced: number[] = [];
    expect(await executeWithRetries(plugin, request, { onAttempt: async (a) => { announced.push(a); } })).toEqual(success(42));
    expect(plugin.attempts).toEqual([1, 2, 3]);
    expect(announced).toEqual([1, 2, 3]);
  });

  it('stops after the budget and returns the last transport failure', async () => {
    const plugin = scripted([unreachable, unreachable, unreachable, success(1)]);
    expect(await executeWithRetries(plugin, { ...request, attempt: 5 }, { budget: 2 })).toEqual(unreachable);
    expect(plugin.attempts).toEqual([5, 6, 7]);
  });

  it('does not retry component failures', async () => {
    const plugin = scripted([failure('COMPONENT_FAILED', 'no'), success(1)]);
    expect(await executeWithRetries(plugin, request)).toMatchObject({ error: { kind: 'COMPONENT_FAILED' } });
    expect(plugin.attempts).toEqual([1]);
  });
});
