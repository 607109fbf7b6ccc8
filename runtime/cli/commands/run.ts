import type { RunStatus } from '../../../protocol/index.js';
import { existsSync } from 'node:fs';
import { ErrorCodes, normalizeBlobId, ProtocolError } from '../../../protocol/index.js';
import type { Runtime } from '../../api/runtime.js';
import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { parseJson, readInputs } from '../read-inputs.js';
import { EXIT, UsageError } from '../usage-error.js';
import { showProgress } from '../progress-bar.js';
import { markInterrupted, onInterrupt } from '../interrupt-run.js';
import { OUTPUT_FORMATS, printStatus, type CliIo, type OutputFormat } from '../print-status.js';

export interface RunCommandOptions extends CommonOptions {
  input?: string;
  inputFile?: string;
  variables?: string;
  overrides?: string;
  maxConcurrency?: string;
  label?: string;
  output?: string;
}

/** `weft run FLOW`: one run over a batch of inputs; final RunStatus (with results) on stdout. */
export async function runCommand(flowPath: string, opts: RunCommandOptions, io: CliIo): Promise<number> {
  const output = parseOutput(opts.output);
  const inputs = readInputs(opts);
  const variables = opts.variables === undefined ? undefined : parseJson(opts.variables, '--variables');
  if (variables !== undefined && (variables === null || typeof variables !== 'object' || Array.isArray(variables))) throw new UsageError('--variables must be a JSON object');
  const overrides = opts.overrides === undefined ? undefined : parseJson(opts.overrides, '--overrides');
  const maxConcurrency = parseConcurrency(opts.maxConcurrency);
  const rt = await openRuntime(opts, flowPath, { role: 'run' });
  try {
    const flowId = await putFlowOrUsage(rt, flowPath);
    const run = await submitOrUsage(() => rt.submit(flowId, inputs, {
      ...(maxConcurrency ? { maxConcurrency } : {}),
      ...(variables ? { variables: variables as Record<string, unknown> } : {}),
      ...(overrides ? { overrides } : {}),
      ...(opts.label ? { flowLabel: opts.label } : {}),
    }));
    const total = (await run.status()).items.total;
    io.stderr.write(`weft: run ${run.id} started (${total} item${total === 1 ? '' : 's'}); resume it with: weft resume ${run.id}\n`);
    const stop = total > 1 ? showProgress(rt, run.id, total, io.stderr) : undefined;
    const started = Date.now();
    const interrupt = onInterrupt();
    // Without results: they are printed page by page below, never all held at once.
    const waited = run.wait({ results: false });
    const ended = await Promise.race([waited, interrupt.signal]);
    interrupt.off();
    stop?.();
    if (typeof ended === 'string') {
      waited.catch(() => undefined); // the runtime closes under it
      await markInterrupted(rt, run.id, ended);
      const { items } = await run.status();
      io.stderr.write(`weft: ${ended}: run ${run.id} interrupted (${items.success + items.failed + items.cancelled} of ${items.total} items done); it is pending and resumable: weft resume ${run.id}\n`);
      return EXIT.interrupted;
    }
    const status = ended;
    const summary = summaryLine(status, Date.now() - started);
    io.stderr.write(`${summary}\n`);
    return await printStatus(status, io, output, { results: run.resultPages(), summary });
  } finally {
    await rt.close();
  }
}

/** `weft: run X failed: 18 succeeded, 2 failed of 20 items in 412 ms` — for logs as much as terminals. */
export function summaryLine(status: RunStatus, ms: number): string {
  const { items } = status;
  const parts = [`${items.success} succeeded`, `${items.failed} failed`, ...(items.cancelled ? [`${items.cancelled} cancelled`] : [])];
  return `weft: run ${status.runId} ${status.status}: ${parts.join(', ')} of ${items.total} item${items.total === 1 ? '' : 's'} in ${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`}`;
}

function parseOutput(raw: string | undefined): OutputFormat {
  if (raw === undefined) return 'status';
  if ((OUTPUT_FORMATS as readonly string[]).includes(raw) && raw !== 'status') return raw as OutputFormat;
  throw new UsageError(`--output must be json, jsonl or summary (default: the RunStatus), got "${raw}"`);
}

/** Bad overrides or variables are the caller's mistake: a usage error (exit 2), not a failed run. */
async function submitOrUsage<T>(submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (error) {
    if (error instanceof ProtocolError && error.code === ErrorCodes.InvalidParams) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * FLOW is a flow file (stored first), else a stored flow's id or name: a name runs its
 * newest version (`weft flows list` shows them all; an older one runs by its id).
 */
export async function putFlowOrUsage(rt: Runtime, flowPath: string): Promise<string> {
  try {
    if (!existsSync(flowPath)) {
      const id = normalizeBlobId(flowPath);
      if (id) { await rt.getFlow(id); return id; }
      if ((await rt.listFlows()).some((f) => f.name === flowPath)) return await rt.flowIdByName(flowPath);
    }
    return await rt.putFlow(flowPath);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parseConcurrency(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--max-concurrency must be a positive integer, got "${raw}"`);
  return n;
}
