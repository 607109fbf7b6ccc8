import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { EXIT, UsageError } from '../usage-error.js';
import type { CliIo } from '../print-status.js';

/**
 * `weft cancel RUN_ID [--purge]`: ends the run and its sub-runs in the store, whichever
 * process executes them (that process stops within a second); prints the final status.
 * `--purge` also deletes the run's items, steps and events; a finished run keeps its status.
 */
export async function cancelCommand(runId: string, opts: CommonOptions & { purge?: boolean }, io: CliIo): Promise<number> {
  // Only the store is needed: no component server is started.
  const rt = await openRuntime(opts, undefined, { startPlugins: false });
  try {
    let status;
    try {
      status = await rt.cancel(runId, { purge: opts.purge === true });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    io.stderr.write(`weft: run ${runId} is ${status.status}${opts.purge ? '; its items, steps and events are deleted' : ''}\n`);
    io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
