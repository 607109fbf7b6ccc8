import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { parseJson } from '../read-inputs.js';
import { UsageError } from '../usage-error.js';
import { printStatus, type CliIo } from '../print-status.js';

/** `weft fork RUN_ID --from-step ID [--overrides JSON]`: a new run reusing the results before ID. */
export async function forkCommand(runId: string, opts: CommonOptions & { fromStep: string; overrides?: string }, io: CliIo): Promise<number> {
  const overrides = opts.overrides === undefined ? undefined : parseJson(opts.overrides, '--overrides');
  const rt = await openRuntime(opts, undefined, { role: 'fork' });
  try {
    let run;
    try {
      run = await rt.fork(runId, { fromStep: opts.fromStep, ...(overrides ? { overrides } : {}) });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    io.stderr.write(`weft: run ${run.id} forked from ${runId} at step "${opts.fromStep}"\n`);
    return await printStatus(await run.wait({ results: false }), io, 'status', { results: run.resultPages() });
  } finally {
    await rt.close();
  }
}
