import type { FastifyInstance, FastifyRequest } from 'fastify';
import { log } from '../telemetry/logger.js';

/** Why a request failed, set by the error and not-found handlers for the request's log line. */
const reasons = new WeakMap<FastifyRequest, string>();

export function recordReason(req: FastifyRequest, reason: string): void { reasons.set(req, reason); }

// Probes and scrapes every few seconds would drown the rest at info.
const QUIET = new Set(['/health', '/metrics']);

/**
 * One log line per request once its response is done (streams included: it is written
 * when the connection closes): method, route, path, status, duration, and for a 4xx/5xx
 * the reason. No headers are logged, so a bearer token never is.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const started = performance.now();
    reply.raw.once('close', () => {
      const status = reply.raw.statusCode;
      const path = req.url.split('?')[0];
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : QUIET.has(path) ? 'debug' : 'info';
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const reason = reasons.get(req);
      const route = req.routeOptions.url ?? null;
      log(level, { reqId: req.id, method: req.method, route, path, status, ms, ...(reason !== undefined ? { reason } : {}) },
        `${req.method} ${path} ${status} ${ms}ms${reason !== undefined ? `: ${reason}` : ''}`);
    });
  });
}
