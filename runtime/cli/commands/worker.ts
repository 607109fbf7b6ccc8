import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { EXIT, UsageError } from '../usage-error.js';
import { log } from '../../telemetry/logger.js';

export interface WorkerOptions extends CommonOptions { capacity?: string }

/**
 * `weft worker`: one more process executing the runs of a PostgreSQL store: it claims
 * pending items of any run (submitted by `weft run`, `weft serve`, the API or another
 * worker), serves nothing, and runs until SIGINT/SIGTERM. On a signal it leaves cleanly:
 * the items it was executing go back to the queue at once for the other processes.
 */
export async function workerCommand(opts: WorkerOptions, signals: NodeJS.EventEmitter = process): Promise<number> {
  let capacity: number | undefined;
  if (opts.capacity !== undefined) {
    capacity = Number(opts.capacity);
    if (!Number.isInteger(capacity) || capacity < 1) throw new UsageError(`--capacity must be a positive integer, got "${opts.capacity}"`);
  }
  const rt = await openRuntime(opts, undefined, { resume: true, role: 'worker', ...(capacity ? { cluster: { capacity } } : {}) });
  if (!rt.executorId) {
    await rt.close();
    throw new UsageError('weft worker shares the work of a PostgreSQL store with other processes: give one with --store postgres://… or WEFT_DATABASE_URL '
      + '(SQLite and memory stores belong to one process; use weft run or weft serve there)');
  }
  log('info', { executor: rt.executorId, store: rt.store.location, pid: process.pid },
    `weft worker: executor ${rt.executorId} executing runs of ${rt.store.location}; stop with SIGINT or SIGTERM`);
  const signal = await new Promise<string>((resolve) => {
    const on = (name: string) => () => resolve(name);
    signals.once('SIGINT', on('SIGINT'));
    signals.once('SIGTERM', on('SIGTERM'));
  });
  log('info', { signal, executor: rt.executorId }, `weft worker: ${signal}: leaving; the items it held go back to the queue`);
  await rt.close();
  return EXIT.ok;
}
