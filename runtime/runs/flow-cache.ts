import type { Flow } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError, canonicalJson, normalizeBlobId } from '../../protocol/index.js';
import type { AsyncBlobStore } from '../store/async-state-store.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import { analyzeFlow, type LoadedFlow } from '../flow/load-flow.js';
import { formatDiagnostics, hasFatal } from '../flow/diagnostic.js';
import { applyOverrides } from './apply-overrides.js';

const MAX_ENTRIES = 512;

/**
 * Flow blobs parsed and analysed once per (flow id, overrides): expressions are
 * compiled at load, never per item. Errors are the JSON-RPC errors runs/submit returns.
 */
export class FlowCache {
  private readonly entries = new Map<string, { flow: Flow; loaded: LoadedFlow }>();

  constructor(private readonly blobs: AsyncBlobStore, private readonly router: PluginRouter) {}

  async load(flowId: string, overrides: unknown): Promise<{ flow: Flow; loaded: LoadedFlow }> {
    const id = normalizeBlobId(flowId);
    const key = overrides ? `${id}|${canonicalJson(overrides)}` : String(id);
    const hit = this.entries.get(key);
    if (hit) return hit;
    const blob = id ? await this.blobs.getBlob(id) : undefined;
    if (!blob) throw new ProtocolError(ErrorCodes.NotFound, `Not found: flow with ID '${flowId}'`, { flowId });
    if (blob.type !== 'flow') {
      throw new ProtocolError(ErrorCodes.ServerError, `Invalid flow blob: ${id} is a "${blob.type}" blob, not a flow`, { flowId });
    }
    const flow = applyOverrides(blob.data as Flow, overrides);
    const result = analyzeFlow(flow, { file: `flow ${id}`, router: this.router });
    if (!result.flow || hasFatal(result.diagnostics)) {
      throw new ProtocolError(ErrorCodes.InvalidParams,
        `flow ${id} is not valid:\n${formatDiagnostics(result.diagnostics.filter((d) => d.level !== "warning"), `flow ${id}`)}`,
        { flowId, diagnostics: result.diagnostics });
    }
    const entry = { flow, loaded: result.flow };
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
    return entry;
  }
}
