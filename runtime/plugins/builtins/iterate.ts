import { failure, success } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';
import { FLOW_SHAPE_SCHEMA } from './schemas.js';
import { itemResultsInOrder, runToCompletion, subflowKeys } from './sub-runs.js';

interface IterateInput { flow: Record<string, unknown>; initial_input: unknown; max_iterations?: number }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Runs `flow` repeatedly: an output `{result}` stops, `{next}` feeds the next
 * iteration. Each iteration is its own sub-run (keyed by iteration number, so a
 * re-executed step re-attaches to the iterations already run).
 */
export const iterateFlow: BuiltinComponent<IterateInput> = {
  component: '/iterate',
  description: 'Repeat a flow until it returns {result} instead of {next}, up to max_iterations (default 1000).',
  input_schema: {
    type: 'object',
    required: ['flow', 'initial_input'],
    properties: {
      flow: FLOW_SHAPE_SCHEMA,
      initial_input: {},
      max_iterations: { type: 'integer', minimum: 0, default: 1000 },
    },
  },
  output_schema: {
    type: 'object',
    required: ['result', 'iterations', 'terminated'],
    properties: {
      result: {},
      iterations: { type: 'integer', minimum: 0 },
      terminated: { type: 'boolean', description: 'true when max_iterations was reached (result = the last input).' },
    },
  },
  async run(input, request, runtime) {
    const maxIterations = input.max_iterations ?? 1000;
    const flowId = await runtime.putBlob(input.flow, 'flow', request.caller);
    const nextKey = subflowKeys(request.caller);
    let current = input.initial_input;
    for (let iteration = 1; iteration <= maxIterations; iteration++) {
      const status = await runToCompletion(runtime, { flowId, inputs: [current], subflowKey: nextKey() }, request);
      const result = itemResultsInOrder(status, 1)[0];
      // The iteration's own error, unchanged, so onError on this step sees it.
      if (result.outcome === 'failed') return result;
      const output = result.result;
      if (isObject(output) && 'result' in output) return success({ result: output.result, iterations: iteration, terminated: false });
      if (isObject(output) && 'next' in output) {
        current = output.next;
        continue;
      }
      return failure('COMPONENT_FAILED', "Workflow result must contain either 'result' or 'next' field",
        { iteration, run_id: status.runId, output });
    }
    return success({ result: current, iterations: maxIterations, terminated: true });
  },
};
