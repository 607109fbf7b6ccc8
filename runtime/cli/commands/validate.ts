import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveConfig } from '../../api/load-config.js';
import { pluginSet } from '../../api/plugin-set.js';
import { loadFlowFile, formatDiagnosticWithLine } from '../../flow/load-flow.js';
import { checkComponents, type ComponentList } from '../../flow/check-components.js';
import { lineFinder } from '../../flow/yaml-lines.js';
import type { Plugin } from '../../plugins/plugin.js';
import { listingOnly } from './components.js';
import { EXIT, UsageError } from '../usage-error.js';
import type { CliIo } from '../print-status.js';

/**
 * `weft validate FLOW`: every error and warning as `file:line: path: message (rule)`;
 * non-zero on errors. Unless `--no-servers`, the component servers the flow's steps route
 * to are started and asked (components/list) whether each step's component exists.
 */
export async function validateCommand(flowPath: string, opts: { config?: string; servers?: boolean }, io: CliIo): Promise<number> {
  let set;
  try {
    set = pluginSet(resolveConfig({ ...(opts.config ? { config: opts.config } : {}), flowPath }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const file = resolve(flowPath);
  const result = await loadFlowFile(file, { router: set.router });
  const diagnostics = [...result.diagnostics];
  if (result.flow && opts.servers !== false) {
    const started: Plugin[] = [];
    const lists = new Map<Plugin, Promise<ComponentList>>();
    const list = (plugin: Plugin) => {
      let entry = lists.get(plugin);
      if (!entry) {
        started.push(plugin);
        entry = plugin.init(listingOnly).then(() => plugin.listComponents()).catch((error: unknown) => error instanceof Error ? error : new Error(String(error)));
        lists.set(plugin, entry);
      }
      return entry;
    };
    try {
      const found = await checkComponents(result.flow.flow, set.router, list);
      const lineOf = lineFinder(readFileSync(file, 'utf8'));
      for (const d of found) {
        const line = lineOf(d.path);
        diagnostics.push(line === undefined ? d : { ...d, line });
      }
    } finally {
      await Promise.allSettled(started.map((p) => p.close()));
    }
  }
  const errors = diagnostics.filter((d) => d.level !== 'warning');
  const warnings = diagnostics.filter((d) => d.level === 'warning');
  for (const d of errors) io.stderr.write(`error: ${formatDiagnosticWithLine(d, flowPath)}\n`);
  for (const d of warnings) io.stderr.write(`warning: ${formatDiagnosticWithLine(d, flowPath)}\n`);
  io.stdout.write(errors.length === 0
    ? `${flowPath}: valid${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}\n`
    : `${flowPath}: ${errors.length} error${errors.length === 1 ? '' : 's'}, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}\n`);
  return errors.length === 0 ? EXIT.ok : EXIT.failed;
}
