import { FLOW_SCHEMA } from './runtime-fixture.js';

/** The sub-run's flow: one step on the Python SDK server. */
export const CHILD_FLOW = {
  schema: FLOW_SCHEMA, name: 'child',
  steps: [{ id: 'w', component: '/py/where', input: { x: { $input: 'x' } } }],
  output: { $step: 'w' },
};

/**
 * Per item: `b` crashes the server on its first attempt (attempt 2 succeeds), then `a`
 * reports the ids it runs under, then `c` submits CHILD_FLOW as a sub-run through the
 * SDK's context. Sequential on purpose: a crash kills only the step that caused it.
 */
export const PARENT_FLOW = {
  schema: FLOW_SCHEMA, name: 'parent',
  steps: [
    { id: 'b', component: '/py/crash_once', input: { marker: { $input: 'marker' } } },
    { id: 'a', component: '/py/where', input: { x: { $input: 'x' }, after: { $step: 'b' } } },
    { id: 'c', component: '/py/fan_out', input: { flow: { $literal: CHILD_FLOW }, items: [{ x: { $input: 'x' } }], after: { $step: 'a' } } },
  ],
  output: { a: { $step: 'a' }, b: { $step: 'b' }, c: { $step: 'c' } },
};
