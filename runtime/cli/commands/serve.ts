import { createHttpServer } from '../../server/http-server.js';
import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { EXIT, UsageError } from '../usage-error.js';
import { log, logEnabled } from '../../telemetry/logger.js';
import type { CliIo } from '../print-status.js';
import { readToken } from '../read-token.js';

export interface ServeOptions extends CommonOptions {
  port?: string;
  host?: string;
  token?: string;
  tokenFile?: string;
  allowedHost?: string[];
  bodyLimit?: string;
  heartbeat?: string;
}

/**
 * `weft serve`: the HTTP API and debug page over one Runtime on the embedded store,
 * resuming unfinished runs at start. Runs until SIGINT/SIGTERM, then ends event streams,
 * stops the server and closes the runtime (in-flight items resume on the next start).
 */
export async function serveCommand(opts: ServeOptions, io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  const port = intOption(opts.port ?? '7837', '--port', 0);
  const host = opts.host ?? '127.0.0.1';
  const token = readToken(opts);
  const bodyLimit = opts.bodyLimit === undefined ? undefined : intOption(opts.bodyLimit, '--body-limit', 1);
  const heartbeatMs = opts.heartbeat === undefined ? undefined : Math.round(Number(opts.heartbeat) * 1000);
  if (heartbeatMs !== undefined && !(heartbeatMs >= 10)) throw new UsageError(`--heartbeat must be a number of seconds (>= 0.01), got "${opts.heartbeat}"`);

  const rt = await openRuntime(opts, undefined, { resume: true, role: 'serve' });
  let server;
  try {
    server = createHttpServer(rt, { host, port, ...(opts.allowedHost ? { allowedHosts: opts.allowedHost } : {}), ...(token ? { token } : {}), ...(bodyLimit ? { bodyLimit } : {}), ...(heartbeatMs ? { heartbeatMs } : {}) });
  } catch (error) {
    await rt.close();
    throw new UsageError((error as Error).message);
  }
  let url: string;
  try {
    url = await server.listen();
  } catch (error) {
    await rt.close();
    throw new UsageError(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
  }
  if (rt.resumed.length > 0) log('warn', { resumed: rt.resumed }, `weft: resumed ${rt.resumed.length} unfinished run(s): ${rt.resumed.join(', ')}`);
  // stdout is the log: the address is a log line, or a plain one when info lines are off.
  const listening = `weft serve: listening on ${url} ${token ? '(bearer token required)' : '(no token)'}`;
  if (logEnabled('info')) log('info', { url, host, port: Number(new URL(url).port), auth: Boolean(token) }, listening);
  else io.stdout.write(`${listening}\n`);

  const signal = await new Promise<string>((resolve) => {
    const on = (name: string) => () => resolve(name);
    signals.once('SIGINT', on('SIGINT'));
    signals.once('SIGTERM', on('SIGTERM'));
  });
  log('warn', { signal }, `weft: ${signal}: shutting down`);
  await server.close();
  await rt.close();
  return EXIT.ok;
}

function intOption(raw: string, name: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}
