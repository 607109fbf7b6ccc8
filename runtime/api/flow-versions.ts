import type { BlobId, Flow } from '../../protocol/index.js';
import type { FlowSummary } from '../store/blob-store.js';

/** One stored version of a named flow. */
export interface FlowVersion { flowId: BlobId; createdAt: string; steps: number; description?: string }

/** A flow name with its stored versions, newest first: the name resolves to `versions[0]`. */
export interface NamedFlow { name: string | null; versions: FlowVersion[] }

/**
 * Groups stored flows (newest first) by name. Editing a flow and storing it again adds a
 * version under the same name; each keeps its own id, which the runs that used it record.
 */
export function groupFlowVersions(flows: FlowSummary[], flowOf: (id: BlobId) => Flow | undefined): NamedFlow[] {
  const byName = new Map<string | null, FlowVersion[]>();
  for (const f of flows) {
    const key = f.name ?? null;
    let versions = byName.get(key);
    if (!versions) byName.set(key, (versions = []));
    const steps = flowOf(f.flowId)?.steps?.length ?? 0;
    versions.push({ flowId: f.flowId, createdAt: f.createdAt, steps, ...(f.description !== undefined ? { description: f.description } : {}) });
  }
  return [...byName].map(([name, versions]) => ({ name, versions }));
}
