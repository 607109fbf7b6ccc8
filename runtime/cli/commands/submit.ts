import { existsSync, readFileSync } from 'node:fs';
import { WeftClient } from '../../client/weft-client.js';
import { WeftHttpError } from '../../client/weft-http-error.js';
import { readInputs } from '../read-inputs.js';
import { EXIT, UsageError } from '../usage-error.js';
import { parseConcurrency } from './run.js';
import { printStatus, type CliIo } from '../print-status.js';
import { readToken } from '../read-token.js';

export interface SubmitOptions {
  url?: string;
  token?: string;
  tokenFile?: string;
  input?: string;
  inputFile?: string;
  wait?: boolean;
  maxConcurrency?: string;
  label?: string;
}

/**
 * `weft submit FLOW --url URL`: starts a run on a `weft serve` process. FLOW is a flow
 * file (stored on the server first) or a stored flow's id or name. With `--wait`,
 * follows the run's event stream (surviving server restarts) and prints the final
 * status with results; otherwise prints the run's status at once.
 */
export async function submitCommand(flow: string, opts: SubmitOptions, io: CliIo): Promise<number> {
  const url = opts.url ?? process.env.WEFT_URL;
  if (!url) throw new UsageError('--url is required (the address weft serve printed, e.g. http://127.0.0.1:7837), or set WEFT_URL');
  const inputs = [...readInputs(opts)]; // the HTTP body carries them as one JSON array
  const maxConcurrency = parseConcurrency(opts.maxConcurrency);
  const token = readToken(opts);
  const client = new WeftClient({ url, ...(token ? { token } : {}) });
  try {
    const flowId = existsSync(flow) ? await putFlowFile(client, flow) : flow;
    const started = await client.submit({
      flowId, inputs,
      ...(maxConcurrency ? { maxConcurrency } : {}),
      ...(opts.label ? { flowLabel: opts.label } : {}),
    });
    if (!opts.wait) {
      io.stdout.write(`${JSON.stringify(started, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stderr.write(`weft: run ${started.runId} started on ${url} (${inputs.length} item${inputs.length === 1 ? '' : 's'})\n`);
    for await (const event of client.events(started.runId)) {
      if (event.type === 'step_awaiting_input') {
        io.stderr.write(`weft: item ${event.itemIndex} step ${event.stepId} waits for input: ${String(event.data?.prompt ?? '')}\n`);
      }
    }
    return await printStatus(await client.getRun(started.runId, { includeResults: true }), io);
  } catch (error) {
    if (error instanceof WeftHttpError && error.status >= 400 && error.status < 500) {
      const usage = new UsageError(`${url}: ${error.message}`);
      usage.cause = error;
      throw usage;
    }
    if (error instanceof TypeError) throw new Error(`cannot reach ${url}: ${(error.cause as Error | undefined)?.message ?? error.message}`, { cause: error });
    throw error;
  }
}

/** The server's answer names no file ("body: not valid YAML"): the error names the one sent. */
async function putFlowFile(client: WeftClient, file: string): Promise<string> {
  try {
    return (await client.putFlow(readFileSync(file, 'utf8'))).flowId;
  } catch (error) {
    if (error instanceof WeftHttpError && error.status >= 400 && error.status < 500) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}
