import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { EXIT } from '../usage-error.js';
import type { CliIo } from '../print-status.js';

/**
 * `weft flows list [--json]`: stored flows by name, each with its versions (id, date,
 * steps), newest first. The name runs the newest; an older version runs by its id.
 */
export async function flowsListCommand(opts: CommonOptions & { json?: boolean }, io: CliIo): Promise<number> {
  const rt = await openRuntime(opts, undefined, { startPlugins: false });
  try {
    const flows = await rt.flowVersions();
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(flows, null, 2)}\n`);
      return EXIT.ok;
    }
    if (flows.length === 0) io.stderr.write('weft: no stored flows (weft run stores the flow it runs)\n');
    for (const { name, versions } of flows) {
      io.stdout.write(`${name ?? '(unnamed)'}  ${versions.length} version${versions.length === 1 ? '' : 's'}\n`);
      versions.forEach((v, i) => {
        const note = i === 0 && name !== null ? '  newest: runs by name' : '';
        io.stdout.write(`  ${v.flowId}  ${v.createdAt}  ${v.steps} step${v.steps === 1 ? '' : 's'}${note}\n`);
      });
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
