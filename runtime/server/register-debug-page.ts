import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { packageRoot } from '../../protocol/index.js';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'event-log.js': 'text/javascript; charset=utf-8',
  'executor-labels.js': 'text/javascript; charset=utf-8',
  'executors.js': 'text/javascript; charset=utf-8',
  'graph.js': 'text/javascript; charset=utf-8',
  'item-view.js': 'text/javascript; charset=utf-8',
  'prompts.js': 'text/javascript; charset=utf-8',
  'run-view.js': 'text/javascript; charset=utf-8',
  'schema-form.js': 'text/javascript; charset=utf-8',
  'streams.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/**
 * The debug page: plain files from the source tree (tsc does not copy them), served
 * without auth because they hold no data; the page sends the token on every API call.
 */
export function registerDebugPage(app: FastifyInstance): void {
  const dir = join(packageRoot(), 'runtime', 'server', 'debug-page');
  const send = (name: string) => async (_req: unknown, reply: FastifyReply) => {
    const body = await readFile(join(dir, name));
    return reply.header('content-type', FILES[name]).header('cache-control', 'no-cache').send(body);
  };
  app.get('/', send('index.html'));
  for (const name of Object.keys(FILES)) app.get(`/debug/${name}`, send(name));
}
