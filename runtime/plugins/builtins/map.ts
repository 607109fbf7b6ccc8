import { success } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';
import { FLOW_RESULT_SCHEMA, FLOW_SHAPE_SCHEMA } from './schemas.js';
import { itemResultsInOrder, runToCompletion, subflowKeys } from './sub-runs.js';

interface MapInput { workflow: Record<string, unknown>; items: unknown[]; max_concurrency?: number }

/** One sub-run with one item per element; the step succeeds even when items fail. */
export const mapFlow: BuiltinComponent<MapInput> = {
  component: '/map',
  description: 'Run a flow over each element of a list (one sub-run, bounded concurrency); results in index order.',
  input_schema: {
    type: 'object',
    required: ['workflow', 'items'],
    properties: {
      workflow: FLOW_SHAPE_SCHEMA,
      items: { type: 'array' },
      max_concurrency: { type: 'integer', minimum: 1, description: 'Items in flight (default: all).' },
    },
  },
  output_schema: {
    type: 'object',
    required: ['results', 'successful', 'failed'],
    properties: {
      results: { type: 'array', items: FLOW_RESULT_SCHEMA },
      successful: { type: 'integer', minimum: 0 },
      failed: { type: 'integer', minimum: 0 },
    },
  },
  async run(input, request, runtime) {
    // Nothing to run: no sub-run (a run of zero items has no meaning to the run manager).
    if (input.items.length === 0) return success({ results: [], successful: 0, failed: 0 });
    const flowId = await runtime.putBlob(input.workflow, 'flow', request.caller);
    const status = await runToCompletion(runtime, {
      flowId,
      inputs: input.items,
      maxConcurrency: input.max_concurrency ?? input.items.length,
      subflowKey: subflowKeys(request.caller)(),
    }, request);
    const results = itemResultsInOrder(status, input.items.length);
    const successful = results.filter((r) => r.outcome === 'success').length;
    return success({ results, successful, failed: results.length - successful });
  },
};
