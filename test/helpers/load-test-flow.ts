import { loadFlowText } from '../../runtime/flow/load-flow.js';
import type { LoadedFlow } from '../../runtime/flow/load-flow.js';
import { formatDiagnostics } from '../../runtime/flow/diagnostic.js';

/** Loads a flow written in a test (YAML) and fails loudly on fatal diagnostics. */
export function loadTestFlow(yaml: string): LoadedFlow {
  const r = loadFlowText(yaml, { file: 'test.yaml' });
  if (!r.flow) throw new Error(`test flow does not load:\n${formatDiagnostics(r.diagnostics, 'test.yaml')}`);
  return r.flow;
}
