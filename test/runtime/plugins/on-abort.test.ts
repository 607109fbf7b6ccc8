import { describe, expect, it } from 'vitest';
import { CallbackAbortController, onAbort } from '../../../runtime/plugins/on-abort.js';

describe.each([
  ['AbortController', () => new AbortController()],
  ['CallbackAbortController', () => new CallbackAbortController()],
])('onAbort on the signal of an %s', (_name, makeController) => {
  it('calls every registered callback once when it aborts, except those unregistered', () => {
    const controller = makeController();
    const calls: string[] = [];
    onAbort(controller.signal, () => calls.push('a'));
    const offB = onAbort(controller.signal, () => calls.push('b'));
    onAbort(controller.signal, () => calls.push('c'));
    offB();
    let listened = 0;
    controller.signal.addEventListener('abort', () => listened++);
    controller.abort();
    controller.abort();
    expect(controller.signal.aborted).toBe(true);
    expect(calls).toEqual(['a', 'c']);
    expect(listened).toBe(1);
  });

  it('never calls a callback registered after the abort', () => {
    const controller = makeController();
    controller.abort();
    const calls: string[] = [];
    onAbort(controller.signal, () => calls.push('late'));
    controller.abort();
    expect(calls).toEqual([]);
  });
});
