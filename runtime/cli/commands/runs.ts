import type { RunState } from '../../../protocol/index.js';
import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { EXIT, UsageError } from '../usage-error.js';
import { printStatus, type CliIo } from '../print-status.js';

const STATES: RunState[] = ['pending', 'running', 'paused', 'success', 'failed', 'cancelled'];

/** `weft runs list`: newest first, one line per run. */
export async function runsListCommand(opts: CommonOptions & { status?: string; limit?: string; json?: boolean }, io: CliIo): Promise<number> {
  if (opts.status && !STATES.includes(opts.status as RunState)) throw new UsageError(`--status must be one of ${STATES.join(', ')}`);
  const limit = Number(opts.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
  const rt = await openRuntime(opts, undefined, { startPlugins: false });
  try {
    const runs = await rt.listRuns({ ...(opts.status ? { status: opts.status as RunState } : {}), limit });
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      return EXIT.ok;
    }
    for (const r of runs) {
      // A cluster: where the run's items execute now (executor id prefix, host:pid, items held).
      const holders = r.status === 'running' || r.status === 'paused' ? await rt.runHolders(r.runId) : [];
      const where = holders.length > 0 ? `  on ${holders.map((h) => `${h.executorId.slice(-8)}@${h.host}:${h.pid}×${h.items}`).join(', ')}` : '';
      io.stdout.write(`${r.runId}  ${r.status.padEnd(9)}  ${String(r.items.success)}/${r.items.total} ok, ${r.items.failed} failed  ${r.createdAt}  ${r.flowName ?? r.flowId}${where}\n`);
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/** `weft runs get RUN_ID [--results]`: the RunStatus as JSON. */
export async function runsGetCommand(runId: string, opts: CommonOptions & { results?: boolean }, io: CliIo): Promise<number> {
  const rt = await openRuntime(opts, undefined, { startPlugins: false });
  try {
    const status = await rt.runs.get({ runId });
    // `--results` page by page: a million of them print in the memory of one page.
    await printStatus(status, io, 'status', opts.results ? { results: (await rt.getRun(runId)).resultPages() } : {});
    return EXIT.ok;
  } catch (error) {
    throw new UsageError((error as Error).message);
  } finally {
    await rt.close();
  }
}
