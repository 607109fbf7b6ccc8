import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { isTerminalRunState } from '../../../protocol/index.js';
import { EXIT, UsageError } from '../usage-error.js';
import { printStatus, type CliIo } from '../print-status.js';

/**
 * `weft resume [RUN_ID]`: continues unfinished runs of the store (all, or one and its
 * sub-runs), waits, and prints each final status like `weft run`.
 */
export async function resumeCommand(runId: string | undefined, opts: CommonOptions, io: CliIo): Promise<number> {
  // Only that run (and its sub-runs) when one is named: the others are left alone.
  const rt = await openRuntime(opts, undefined, { resume: runId ? { runId } : true, role: 'resume' });
  try {
    for (const { runId: held, reason } of rt.heldBack) io.stderr.write(`weft: run ${held} not resumed: ${reason}; it stays resumable\n`);
    const roots: string[] = [];
    for (const id of rt.resumed) if ((await rt.store.state.getRun(id))?.depth === 0) roots.push(id);
    let ids = roots;
    if (runId) {
      const run = await rt.store.state.getRun(runId);
      if (!run) throw new UsageError(`run not found: ${runId}`);
      // Its config or routes cannot run here (said above): it stays resumable.
      if (rt.heldBack.some((h) => h.runId === runId)) return EXIT.failed;
      if (!ids.includes(runId) && !isTerminalRunState(run.status)) {
        throw new UsageError(`run ${runId} is being executed by another weft process; it was not resumed`);
      }
      ids = [runId];
    }
    if (ids.length === 0 && rt.heldBack.length === 0) io.stderr.write('weft: no unfinished runs to resume\n');
    let code: number = rt.heldBack.length > 0 ? EXIT.failed : EXIT.ok;
    for (const id of ids) {
      io.stderr.write(`weft: resuming run ${id}\n`);
      const run = await rt.getRun(id);
      if (await printStatus(await run.wait({ results: false }), io, 'status', { results: run.resultPages() }) !== EXIT.ok) code = EXIT.failed;
    }
    return code;
  } finally {
    await rt.close();
  }
}
