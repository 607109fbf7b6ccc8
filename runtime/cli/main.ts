import { Command, CommanderError } from 'commander';
import { exitOnOutputErrors } from './output-errors.js';
import { EXIT, UsageError } from './usage-error.js';
import { configureLogging, parseLogLevel } from '../telemetry/logger.js';
import { tracingStarted } from '../telemetry/start-tracing.js';

const io = { stdout: process.stdout, stderr: process.stderr };
// Commands are imported when they run: `weft run` should not load fastify (serve) at start-up.

const STORE_HELP = 'sqlite (default, .weft/weft.db), memory, or a PostgreSQL URL postgres://user:password@host/db (default: $WEFT_DATABASE_URL when set)';

/** Builds the `weft` command tree; each action resolves to the process exit code. */
export function buildCli(setExit: (code: number) => void): Command {
  const program = new Command('weft')
    .description('Run Stepflow-compatible workflows over batches of inputs, with component servers over stdio.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const act = <A extends unknown[]>(fn: (...args: A) => Promise<number>) => async (...args: A) => { setExit(await fn(...args)); };
  const common = (c: Command) => c
    .option('--config <file>', 'config file (default: weft.config.yml or stepflow-config.yml beside the flow or above it)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (default: $WEFT_LOG_LEVEL, else info for serve, warn otherwise)');
  // Logs go to stderr (stdout carries results), except for serve, whose stdout is its log.
  program.hook('preAction', (_program, action) => {
    const raw = (action.opts() as { logLevel?: string }).logLevel;
    let level;
    try {
      level = raw === undefined ? undefined : parseLogLevel(raw);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    // A server's and a worker's stdout is their log; other commands print results there.
    const serve = action.name() === 'serve' || action.name() === 'worker';
    configureLogging({ ...(level ? { level } : {}), destination: serve ? 'stdout' : 'stderr', defaultLevel: serve ? 'info' : 'warn' });
  });

  common(program.command('run <flow>')
    .description('run a flow (a file, or a stored flow id or name: its newest version) over one input (--input) or a batch (--input-file); prints the final run status (with results) as JSON')
    .option('--input <json>', 'one input as JSON')
    .option('--input-file <file>', 'inputs: .json (one input, or an array = a batch), .jsonl (one per line), .yaml; - reads stdin')
    .option('--output <format>', 'json (one line, each result once), jsonl (one line per item) or summary (counts only); default: the RunStatus')
    .option('--variables <json>', 'flow variables as a JSON object')
    .option('--overrides <json>', 'step overrides: {"stepId": {"value": {...}, "$type": "merge_patch"|"json_patch"}}')
    .option('--max-concurrency <n>', 'items in flight at once (default: all)')
    .option('--label <label>', 'a label for this run (flowLabel)')
    .option('--store <kind>', STORE_HELP))
    .action(act(async (flow: string, opts) => (await import('./commands/run.js')).runCommand(flow, opts, io)));

  common(program.command('test <paths...>')
    .description("run each flow's test.cases; prints a line per case and 'N passed, N failed'")
    .option('--case <name...>', 'only these cases (a name that matches none exits 2, listing the cases)'))
    .action(act(async (paths: string[], opts) => (await import('./commands/test.js')).testCommand(paths, opts, io)));

  common(program.command('validate <flow>')
    .description("check a flow file, and that each step's component exists on its component server (components/list); prints errors and warnings with line numbers; exits non-zero on errors")
    .option('--no-servers', 'do not start the component servers (skip the component check)'))
    .action(act(async (flow: string, opts) => (await import('./commands/validate.js')).validateCommand(flow, opts, io)));

  common(program.command('components')
    .description('list every component of every configured plugin')
    .option('--json', 'print JSON'))
    .action(act(async (opts) => (await import('./commands/components.js')).componentsCommand(opts, io)));

  const flows = program.command('flows').description('inspect the flows in the store');
  common(flows.command('list')
    .description('stored flows by name, each with its versions (id, date, steps), newest first; a name runs its newest version')
    .option('--json', 'print JSON: [{name, versions: [{flowId, createdAt, steps}]}]')
    .option('--store <kind>', STORE_HELP))
    .action(act(async (opts) => (await import('./commands/flows.js')).flowsListCommand(opts, io)));

  const runs = program.command('runs').description('inspect runs in the store');
  common(runs.command('list')
    .description('list runs, newest first: id, status, items ok/failed, created, flow (--json: an array of run statuses)')
    .option('--store <kind>', STORE_HELP)
    .option('--status <status>', 'only runs with this status (pending, running, paused, success, failed, cancelled)')
    .option('--limit <n>', 'at most n runs', '50')
    .option('--json', 'print a JSON array of run statuses (without results)'))
    .action(act(async (opts) => (await import('./commands/runs.js')).runsListCommand(opts, io)));
  common(runs.command('get <runId>')
    .description("print one run's status as JSON (the seed's RunStatus); --results adds every item's result")
    .option('--store <kind>', STORE_HELP)
    .option('--results', 'include item results'))
    .action(act(async (runId: string, opts) => (await import('./commands/runs.js')).runsGetCommand(runId, opts, io)));

  common(program.command('events <runId>')
    .description("print a run's events as NDJSON (streamed chunks are step_output events), from the store or a server (--url)")
    .option('--follow', 'keep printing live events until the run ends')
    .option('--since <seq>', 'only events after this sequence number')
    .option('--types <list>', 'only these event types, comma-separated (e.g. step_output,run_completed)')
    .option('--stream <name>', "only this stream's chunks")
    .option('--item <n>', "only this item's events (and the run's own)")
    .option('--chunks', 'print only the streamed chunks: text as it is, JSON one per line')
    .option('--url <url>', 'follow the run on a weft server instead of the store (needs --follow)')
    .option('--token <token>', 'bearer token for --url (default: $WEFT_TOKEN)')
    .option('--store <kind>', STORE_HELP))
    .action(act(async (runId: string, opts) => (await import('./commands/events.js')).eventsCommand(runId, opts, io)));

  common(program.command('resume [runId]')
    .description('continue unfinished runs after a crash and wait for them; prints their final statuses')
    .option('--store <kind>', STORE_HELP))
    .action(act(async (runId: string | undefined, opts) => (await import('./commands/resume.js')).resumeCommand(runId, opts, io)));

  common(program.command('fork <runId>')
    .description('re-run a run from a step: earlier steps reuse its results')
    .requiredOption('--from-step <id>', 'the first step to run again')
    .option('--overrides <json>', 'step overrides for the fork only')
    .option('--store <kind>', STORE_HELP))
    .action(act(async (runId: string, opts) => (await import('./commands/fork.js')).forkCommand(runId, opts, io)));

  common(program.command('cancel <runId>')
    .description('cancel a run and its sub-runs, wherever they execute; prints the final status as JSON')
    .option('--purge', "also delete the run's items, steps and events (a finished run keeps its status)")
    .option('--store <kind>', STORE_HELP))
    .action(act(async (runId: string, opts) => (await import('./commands/cancel.js')).cancelCommand(runId, opts, io)));

  common(program.command('serve')
    .description('serve the HTTP API, live event streams and the debug page (at /) on the embedded store; resumes unfinished runs')
    .option('--port <n>', 'port (0: any free one)', '7837')
    .option('--host <host>', 'interface to bind; anything but loopback requires a token', '127.0.0.1')
    .option('--token <token>', 'require "Authorization: Bearer <token>" (default: $WEFT_TOKEN; visible in the process list, prefer these two)')
    .option('--token-file <file>', 'read the token from this file (one line)')
    .option('--allowed-host <name...>', 'host names the server answers to besides loopback and --host (requests with another Host header get 403)')
    .option('--body-limit <bytes>', 'largest request body; larger ones get 413 (default 8 MiB)')
    .option('--heartbeat <seconds>', 'event-stream heartbeat interval (default 15)')
    .option('--store <kind>', STORE_HELP))
    .action(act(async (opts) => (await import('./commands/serve.js')).serveCommand(opts, io)));

  common(program.command('worker')
    .description('execute the runs of a PostgreSQL store with the other processes on it (serves nothing); until SIGINT/SIGTERM')
    .option('--store <kind>', 'a PostgreSQL URL postgres://user:password@host/db (default: $WEFT_DATABASE_URL, else the config\'s stateStore)')
    .option('--capacity <n>', 'items executed at once (default: the config\'s cluster.capacity, else 64)'))
    .action(act(async (opts) => (await import('./commands/worker.js')).workerCommand(opts)));

  program.command('submit <flow>')
    .description('start a run on a weft server: FLOW is a flow file or a stored flow id/name; prints the run status as JSON')
    .option('--url <url>', 'the server (default: $WEFT_URL)')
    .option('--token <token>', 'bearer token (default: $WEFT_TOKEN; visible in the process list, prefer these two)')
    .option('--token-file <file>', 'read the token from this file (one line)')
    .option('--input <json>', 'one input as JSON')
    .option('--input-file <file>', 'inputs: .json (one input, or an array = a batch), .jsonl (one per line), .yaml; - reads stdin')
    .option('--max-concurrency <n>', 'items in flight at once')
    .option('--label <label>', 'a label for this run (flowLabel)')
    .option('--wait', 'follow the run until it finishes; print the final status with results')
    .action(act(async (flow: string, opts) => (await import('./commands/submit.js')).submitCommand(flow, opts, io)));

  return program;
}

async function main(): Promise<void> {
  exitOnOutputErrors({ stdout: process.stdout, stderr: process.stderr });
  let code: number = EXIT.ok;
  const program = buildCli((c) => { code = c; });
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      code = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else if (error instanceof UsageError) {
      process.stderr.write(`weft: ${error.message}\n`);
      code = EXIT.usage;
    } else {
      process.stderr.write(`weft: ${(error as Error).message ?? String(error)}\n`);
      code = EXIT.failed;
    }
  }
  process.exitCode = code;
  // The spans were flushed (for at most 2 s) when the runtime closed; an exporter still
  // retrying a collector that is down must not keep the process alive for its timeout.
  if (tracingStarted()) setTimeout(() => process.exit(code), 100).unref();
}

await main();
