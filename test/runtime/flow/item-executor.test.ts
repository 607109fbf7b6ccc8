import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { failure, success } from '../../../protocol/index.js';
import type { FlowResult } from '../../../protocol/index.js';
import type { PriorStep, StepJournal } from '../../../runtime/flow/item-execution.js';
import { loadTestFlow } from '../../helpers/load-test-flow.js';
import { RecordingPlugin } from '../../helpers/recording-plugin.js';
import { runTestItem } from '../../helpers/run-test-item.js';
import { StaticRouter } from '../../helpers/static-router.js';

const HEAD = 'schema: https://stepflow.org/schemas/v1/flow.json\nname: t\ndescription: d\n';

/** Components: /echo returns its input, /fail fails, /slow waits `ms` then echoes `value`. */
function setup(extra: ConstructorParameters<typeof RecordingPlugin>[1] = {}, infos: ConstructorParameters<typeof RecordingPlugin>[2] = {}) {
  const plugin = new RecordingPlugin('rec', {
    echo: (input) => success(input),
    fail: () => failure('COMPONENT_FAILED', 'it broke'),
    slow: async (input) => {
      const { ms, value } = input as { ms: number; value: unknown };
      await sleep(ms);
      return success(value);
    },
    ...extra,
  }, infos);
  return { plugin, router: new StaticRouter({ '/t/': plugin }) };
}

describe('executing one item', () => {
  it('chains steps and evaluates the output', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/echo, input: {v: {$input: x}}}
- {id: b, component: /t/echo, input: {fromA: {$step: a, path: v}}}
output: {b: {$step: b}}
`);
    expect(await runTestItem(flow, { x: 42 }, router)).toEqual(success({ b: { fromA: 42 } }));
    expect(plugin.calls.map((c) => [c.component, c.input])).toEqual([['/echo', { v: 42 }], ['/echo', { fromA: 42 }]]);
  });

  it('never calls a step on the untaken $if branch', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: yes, component: /t/echo, input: 'then-branch'}
- {id: no, component: /t/fail}
output:
  $if: {$input: flag}
  then: {$step: yes}
  else: {$step: no}
`);
    expect(await runTestItem(flow, { flag: true }, router)).toEqual(success('then-branch'));
    expect(plugin.called()).toEqual(['/echo']);
    const r = await runTestItem(flow, { flag: false }, router);
    expect(r).toEqual(failure('COMPONENT_FAILED', 'it broke'));
    expect(plugin.called()).toEqual(['/echo', '/fail']);
  });

  it('runs a $if condition step first, then only the branch it selects', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: cond, component: /t/echo, input: false}
- {id: yes, component: /t/echo, input: 1}
- {id: no, component: /t/echo, input: 2}
output: {$if: {$step: cond}, then: {$step: yes}, else: {$step: no}}
`);
    expect(await runTestItem(flow, {}, router)).toEqual(success(2));
    expect(plugin.calls.map((c) => c.input)).toEqual([false, 2]);
  });

  it('scans $coalesce lazily: a later step runs only when the earlier ones are null', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: first, component: /t/echo, input: {$input: v}}
- {id: second, component: /t/echo, input: fallback}
output: {$coalesce: [{$step: first}, {$step: second}]}
`);
    expect(await runTestItem(flow, { v: 'given' }, router)).toEqual(success('given'));
    expect(plugin.calls).toHaveLength(1);
    expect(await runTestItem(flow, { v: null }, router)).toEqual(success('fallback'));
    expect(plugin.calls).toHaveLength(3);
  });

  it('runs independent steps in parallel', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/slow, input: {ms: 200, value: A}}
- {id: b, component: /t/slow, input: {ms: 200, value: B}}
output: [{$step: a}, {$step: b}]
`);
    const t0 = Date.now();
    expect(await runTestItem(flow, {}, router)).toEqual(success(['A', 'B']));
    expect(Date.now() - t0).toBeLessThan(350);
    const [a, b] = plugin.calls;
    expect(b.startedAt).toBeLessThan(a.finishedAt!);
  });

  it('starts a step only after the steps it needs have finished', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/slow, input: {ms: 50, value: A}}
- {id: b, component: /t/echo, input: {$step: a}}
output: {$step: b}
`);
    expect(await runTestItem(flow, {}, router)).toEqual(success('A'));
    expect(plugin.calls[1].startedAt).toBeGreaterThanOrEqual(plugin.calls[0].finishedAt!);
  });

  it('runs only needed steps and mustExecute steps; a failed unreferenced mustExecute step does not fail the item', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: unused, component: /t/echo, input: never}
- {id: side, component: /t/fail, mustExecute: true}
- {id: used, component: /t/echo, input: ok}
output: {$step: used}
`);
    expect(await runTestItem(flow, {}, router)).toEqual(success('ok'));
    expect(plugin.called().sort()).toEqual(['/echo', '/fail']);
    expect(plugin.calls.map((c) => c.input)).not.toContain('never');
  });

  it('evaluates a flow without steps straight from the input', async () => {
    const { router } = setup();
    const flow = loadTestFlow(`${HEAD}output: {m: {$input: $.a.b}}\n`);
    expect(await runTestItem(flow, { a: { b: 'x' } }, router)).toEqual(success({ m: 'x' }));
    expect(await runTestItem(loadTestFlow(HEAD), {}, router)).toEqual(success(null));
  });

  it('does not call a step whose input fails; it carries that failure, and onError does not apply', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/fail}
- id: b
  component: /t/echo
  input: {$step: a}
  onError: {action: useDefault, defaultValue: rescued}
output: {$step: b}
`);
    expect(await runTestItem(flow, {}, router)).toEqual(failure('COMPONENT_FAILED', 'it broke'));
    expect(plugin.called()).toEqual(['/fail']);
  });

  it('reports an expression failure in a step input with EXPRESSION_FAILURE', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/echo, input: {$input: $.missing}}\noutput: {$step: a}\n`);
    expect(await runTestItem(flow, {}, router)).toEqual(failure('EXPRESSION_FAILURE', 'Input path $.missing not found'));
    expect(plugin.calls).toHaveLength(0);
  });

  it('onError useDefault turns a component failure into defaultValue, or null without one', async () => {
    const { router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/fail, onError: {action: useDefault, defaultValue: {output: dflt}}}
- {id: b, component: /t/fail, onError: {action: useDefault}}
output: {a: {$step: a, path: output}, b: {$step: b}, bx: {$step: b, path: x}}
`);
    expect(await runTestItem(flow, {}, router)).toEqual(success({ a: 'dflt', b: null, bx: null }));
  });

  it('onError retry re-executes failed calls with increasing attempts (maxRetries, default 3)', async () => {
    let failuresLeft = 2;
    const { plugin, router } = setup({ flaky: () => (failuresLeft-- > 0 ? failure('COMPONENT_FAILED', 'flaky') : success('finally')) });
    const retry2 = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/flaky, onError: {action: retry, maxRetries: 2}}\noutput: {$step: a}\n`);
    expect(await runTestItem(retry2, {}, router)).toEqual(success('finally'));
    expect(plugin.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);

    plugin.calls.length = 0;
    const retryDefault = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/fail, onError: {action: retry}}\noutput: {$step: a}\n`);
    expect(await runTestItem(retryDefault, {}, router)).toEqual(failure('COMPONENT_FAILED', 'it broke'));
    expect(plugin.calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);

    plugin.calls.length = 0;
    const noRetry = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/fail}\noutput: {$step: a}\n`);
    await runTestItem(noRetry, {}, router);
    expect(plugin.calls).toHaveLength(1);
  });

  it('counts transport retries and onError retries in one attempt sequence', async () => {
    const script: FlowResult[] = [failure('UNREACHABLE', 'crashed'), failure('COMPONENT_FAILED', 'bad'), success('ok')];
    const { plugin, router } = setup({ script: () => script.shift()! });
    const events: string[] = [];
    const journal: StepJournal = {
      stepStarted: (id, attempt) => { events.push(`started ${id} ${attempt}`); },
      stepFinished: (id, attempt, r) => { events.push(`finished ${id} ${attempt} ${r.outcome}`); },
    };
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/script, onError: {action: retry, maxRetries: 1}}\noutput: {$step: a}\n`);
    expect(await runTestItem(flow, {}, router, { journal })).toEqual(success('ok'));
    expect(plugin.calls.map((c) => [c.attempt, c.request.caller.attempt])).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(events).toEqual(['started a 1', 'started a 2', 'started a 3', 'finished a 3 success']);
  });

  it('gives up after the transport retry budget with UNREACHABLE', async () => {
    const { plugin, router } = setup({ down: () => failure('UNREACHABLE', 'server gone') });
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/down, onError: {action: retry}}\noutput: {$step: a}\n`);
    expect(await runTestItem(flow, {}, router, { transportRetries: 1 })).toEqual(failure('UNREACHABLE', 'server gone'));
    expect(plugin.calls.map((c) => c.attempt)).toEqual([1, 2]);
  });

  it('fails a step with COMPONENT_NOT_FOUND when routing fails, without applying onError', async () => {
    const { router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /elsewhere/x, onError: {action: useDefault, defaultValue: 1}}\noutput: {$step: a}\n`);
    const r = await runTestItem(flow, {}, router);
    expect(r).toMatchObject({ outcome: 'failed', error: { kind: 'COMPONENT_NOT_FOUND' } });
    expect((r as { error: { message: string } }).error.message).toContain('/elsewhere/x');
  });

  it('fails an item whose input does not match the flow input schema, naming the path', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}schemas:
  type: object
  properties:
    input: {type: object, required: [n], properties: {n: {type: integer}}}
steps:\n- {id: a, component: /t/echo, input: {$input: n}}
output: {$step: a}
`);
    const r = await runTestItem(flow, { n: 'seven' }, router);
    expect(r).toMatchObject({ outcome: 'failed', error: { kind: 'INVALID_INPUT', message: "input does not match the flow's input schema: n: must be integer (type)" } });
    expect(plugin.calls).toHaveLength(0);
    expect(await runTestItem(flow, { n: 7 }, router)).toEqual(success(7));
  });

  it('validates component input (INVALID_INPUT) and output (COMPONENT_FAILED) against declared schemas', async () => {
    const { plugin, router } = setup({ typed: (input) => success((input as { out: unknown }).out) }, {
      typed: { input_schema: { type: 'object', required: ['out'] }, output_schema: { type: 'string' } },
    });
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/typed, input: {$input: $}}\noutput: {$step: a}\n`);
    expect(await runTestItem(flow, { out: 'fine' }, router)).toEqual(success('fine'));
    const badIn = await runTestItem(flow, { other: 1 }, router);
    expect(badIn).toMatchObject({ outcome: 'failed', error: { kind: 'INVALID_INPUT' } });
    expect((badIn as { error: { message: string } }).error.message).toContain("out: must have required property 'out' (required)");
    const badOut = await runTestItem(flow, { out: 5 }, router);
    expect(badOut).toMatchObject({ outcome: 'failed', error: { kind: 'COMPONENT_FAILED', message: 'output of /t/typed does not match its output schema: (root): must be string (type)' } });
    expect(plugin.calls).toHaveLength(2);
  });

  it('sends observability and caller context with each execution', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/echo}\noutput: {$step: a}\n`);
    const controller = new AbortController();
    await runTestItem(flow, {}, router, { runId: 'r9', itemIndex: 4, signal: controller.signal });
    const req = plugin.calls[0].request;
    expect(req.observability).toEqual({
      run_id: 'r9', flow_id: `sha256:${'0'.repeat(64)}`, step_id: 'a', item_index: 4,
      // Stepflow's trace fields are always there, tracing on or off (a fresh span id per attempt).
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/), span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(req.caller).toEqual({ runId: 'r9', itemIndex: 4, stepId: 'a', attempt: 1, signal: controller.signal });
    expect(req.signal).toBe(controller.signal);
  });

  it('resolves variables: supplied, then schema default, then inline default', async () => {
    const { router } = setup();
    const flow = loadTestFlow(`${HEAD}schemas:
  type: object
  properties:
    variables:
      type: object
      properties: {greeting: {type: string, default: hi}, name: {type: string}}
output:
  g: {$variable: greeting}
  n: {$variable: name}
  x: {$variable: extra, default: {$input: fallback}}
`);
    expect(await runTestItem(flow, { fallback: 'fb' }, router)).toEqual(success({ g: 'hi', n: '', x: 'fb' }));
    expect(await runTestItem(flow, { fallback: 'fb' }, router, { variables: { greeting: 'yo', extra: 'E' } })).toEqual(success({ g: 'yo', n: '', x: 'E' }));
  });
});

describe('journal and resume', () => {
  it('awaits stepStarted before executing and stepFinished before the result is used', async () => {
    const events: string[] = [];
    const { router } = setup({ note: (input) => { events.push(`execute ${String(input)}`); return success(input); } });
    const journal: StepJournal = {
      stepStarted: async (id, attempt) => { await sleep(10); events.push(`started ${id} ${attempt}`); },
      stepFinished: async (id, attempt, r) => { await sleep(20); events.push(`finished ${id} ${attempt} ${JSON.stringify(r)}`); },
    };
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/note, input: A}
- {id: b, component: /t/note, input: {$step: a}}
output: {$step: b}
`);
    expect(await runTestItem(flow, {}, router, { journal })).toEqual(success('A'));
    expect(events).toEqual([
      'started a 1', 'execute A', 'finished a 1 {"outcome":"success","result":"A"}',
      'started b 1', 'execute A', 'finished b 1 {"outcome":"success","result":"A"}',
    ]);
  });

  it('journals input failures as results of steps never executed (attempt 0)', async () => {
    const finished: [string, number, string][] = [];
    const { router } = setup();
    const journal: StepJournal = { stepStarted: () => {}, stepFinished: (id, a, r) => { finished.push([id, a, r.outcome]); } };
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/echo, input: {$input: nope}}\noutput: {$step: a}\n`);
    await runTestItem(flow, {}, router, { journal });
    expect(finished).toEqual([['a', 0, 'failed']]);
  });

  it('does not re-execute steps with a prior result, and continues the attempt count of started ones', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/echo, input: fresh-a}
- {id: b, component: /t/echo, input: {fromA: {$step: a}}}
output: {$step: b}
`);
    const prior = new Map<string, PriorStep>([['a', { result: success('journaled-a'), lastAttempt: 1 }], ['b', { lastAttempt: 2 }]]);
    expect(await runTestItem(flow, {}, router, { prior })).toEqual(success({ fromA: 'journaled-a' }));
    expect(plugin.calls.map((c) => [c.input, c.attempt])).toEqual([[{ fromA: 'journaled-a' }, 3]]);
  });

  it('rejects the item when the journal fails (the result could not be made durable)', async () => {
    const { router } = setup();
    const journal: StepJournal = { stepStarted: () => {}, stepFinished: () => { throw new Error('disk full'); } };
    const flow = loadTestFlow(`${HEAD}steps:\n- {id: a, component: /t/echo}\noutput: {$step: a}\n`);
    await expect(runTestItem(flow, {}, router, { journal })).rejects.toThrow('disk full');
  });

  it('stops starting steps once cancelled and returns CANCELLED', async () => {
    const { plugin, router } = setup();
    const flow = loadTestFlow(`${HEAD}steps:
- {id: a, component: /t/slow, input: {ms: 100, value: A}}
- {id: b, component: /t/echo, input: {$step: a}}
output: {$step: b}
`);
    const controller = new AbortController();
    const pending = runTestItem(flow, {}, router, { signal: controller.signal });
    await sleep(20);
    controller.abort();
    expect(await pending).toEqual(failure('CANCELLED', 'the run was cancelled'));
    await sleep(150);
    expect(plugin.called()).toEqual(['/slow']);
    expect(await runTestItem(flow, {}, router, { signal: AbortSignal.abort() })).toMatchObject({ error: { kind: 'CANCELLED' } });
  });
});
