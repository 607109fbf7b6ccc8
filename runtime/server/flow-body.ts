import { parse as parseYaml } from 'yaml';
import type { Flow } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError } from '../../protocol/index.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import { analyzeFlow } from '../flow/load-flow.js';
import { formatDiagnostics, hasError } from '../flow/diagnostic.js';

/**
 * A flow from a request: an object (JSON body) or YAML/JSON text. Validated as
 * `weft validate` does; errors become a 400 listing every diagnostic.
 */
export function parseFlowBody(body: unknown, router: PluginRouter, where = 'body'): Flow {
  let raw = body;
  if (typeof body === 'string') {
    try {
      raw = parseYaml(body);
    } catch (error) {
      throw new ProtocolError(ErrorCodes.InvalidParams, `${where}: not valid YAML: ${(error as Error).message}`);
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ProtocolError(ErrorCodes.InvalidParams, `${where}: a flow object is required`);
  }
  const result = analyzeFlow(raw, { router });
  const errors = result.diagnostics.filter((d) => d.level !== 'warning');
  if (!result.flow || hasError(result.diagnostics)) {
    throw new ProtocolError(ErrorCodes.InvalidParams, `the flow is not valid:\n${formatDiagnostics(errors, where)}`, { diagnostics: errors });
  }
  return result.flow.flow;
}
