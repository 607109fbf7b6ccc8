import type { BlobId, FlowResult } from '../../protocol/index.js';
import type { ItemExecutionRequest } from '../../runtime/flow/item-execution.js';
import { executeItem } from '../../runtime/flow/item-executor.js';
import type { LoadedFlow } from '../../runtime/flow/load-flow.js';
import type { PluginRouter } from '../../runtime/plugins/plugin-router.js';

export const TEST_FLOW_ID = `sha256:${'0'.repeat(64)}` as BlobId;

/** Executes one item with test defaults (run id, item 0) for what the request leaves out. */
export function runTestItem(flow: LoadedFlow, input: unknown, router: PluginRouter, extra: Partial<ItemExecutionRequest> = {}): Promise<FlowResult> {
  return executeItem({ flow, flowId: TEST_FLOW_ID, runId: 'run-1', itemIndex: 0, input, router, ...extra });
}
