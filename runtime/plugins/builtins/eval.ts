import { failure, normalizeBlobId, success } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';
import { BLOB_ID_SCHEMA, FLOW_RESULT_SCHEMA, FLOW_SHAPE_SCHEMA } from './schemas.js';
import { itemResultsInOrder, runToCompletion, subflowKeys } from './sub-runs.js';

interface EvalInput { flow_id?: string; flow?: Record<string, unknown>; input: unknown }

/**
 * Runs a flow once on one input. The step succeeds even when the nested flow fails:
 * the failure is data inside `result`. `run_id` is the nested run's id — Stepflow
 * returned the calling run's id there, which pointed nowhere useful.
 */
export const evalFlow: BuiltinComponent<EvalInput> = {
  component: '/eval',
  description: 'Run a flow (by blob id, or given literally) on one input; returns its FlowResult and the nested run id.',
  input_schema: {
    type: 'object',
    required: ['input'],
    properties: {
      flow_id: BLOB_ID_SCHEMA,
      flow: FLOW_SHAPE_SCHEMA,
      input: { description: 'The nested flow\'s input.' },
    },
  },
  output_schema: {
    type: 'object',
    required: ['result', 'run_id'],
    properties: { result: FLOW_RESULT_SCHEMA, run_id: { type: 'string' } },
  },
  async run(input, request, runtime) {
    if ((input.flow_id === undefined) === (input.flow === undefined)) {
      return failure('INVALID_INPUT', 'builtin /eval: give exactly one of flow_id (a flow blob id) or flow (a literal flow)');
    }
    const flowId = input.flow !== undefined
      ? await runtime.putBlob(input.flow, 'flow', request.caller)
      : normalizeBlobId(input.flow_id) ?? String(input.flow_id);
    const status = await runToCompletion(runtime,
      { flowId, inputs: [input.input], subflowKey: subflowKeys(request.caller)() }, request);
    return success({ result: itemResultsInOrder(status, 1)[0], run_id: status.runId });
  },
};
