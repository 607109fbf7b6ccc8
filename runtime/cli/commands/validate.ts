import { resolve } from 'node:path';
import { resolveConfig } from '../../api/load-config.js';
import { pluginSet } from '../../api/plugin-set.js';
import { loadFlowFile, formatDiagnostic } from '../../flow/load-flow.js';
import { EXIT, UsageError } from '../usage-error.js';
import type { CliIo } from './run.js';

/** `weft validate FLOW`: every error and warning as `file: path: message (rule)`; non-zero on errors. */
export async function validateCommand(flowPath: string, opts: { config?: string }, io: CliIo): Promise<number> {
  let router;
  try {
    router = pluginSet(resolveConfig({ ...(opts.config ? { config: opts.config } : {}), flowPath })).router;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const file = resolve(flowPath);
  const result = await loadFlowFile(file, { router });
  const errors = result.diagnostics.filter((d) => d.level !== 'warning');
  const warnings = result.diagnostics.filter((d) => d.level === 'warning');
  for (const d of errors) io.stderr.write(`error: ${formatDiagnostic(d, flowPath)}\n`);
  for (const d of warnings) io.stderr.write(`warning: ${formatDiagnostic(d, flowPath)}\n`);
  io.stdout.write(errors.length === 0
    ? `${flowPath}: valid${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}\n`
    : `${flowPath}: ${errors.length} error${errors.length === 1 ? '' : 's'}, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}\n`);
  return errors.length === 0 ? EXIT.ok : EXIT.failed;
}
