import { isIP } from 'node:net';
import { HttpError } from './http-error.js';
import { isLoopbackHost } from './is-loopback-host.js';

export interface RequestGuardOptions {
  /** The address the server is bound to (`--host`). */
  host: string;
  /** More names the server answers to (`--allowed-host`), e.g. the machine's DNS name. */
  allowedHosts?: readonly string[];
  /** Request body types a path accepts besides application/json. */
  extraTypes?: (path: string) => readonly string[];
}

export interface GuardedRequest { method: string; url: string; headers: Record<string, string | string[] | undefined> }

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * What keeps a web page in the user's browser from driving a loopback server:
 * - `Host` must be a name this server answers to. A page on attacker.example can point its
 *   own name at 127.0.0.1 (DNS rebinding) and then read and write as a same-origin page;
 *   its requests still say `Host: attacker.example`.
 * - A request that changes state must not carry a foreign `Origin` (browsers send it on
 *   every cross-origin POST), and its body must be JSON: text/plain, form and multipart
 *   bodies are what a page can send cross-site without a CORS preflight, which this server
 *   never grants.
 * Throws HttpError (403, 415) for a request to refuse.
 */
export function requestGuard(opts: RequestGuardOptions): (req: GuardedRequest) => void {
  const names = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
  const bound = stripBrackets(opts.host.toLowerCase());
  const wildcard = bound === '0.0.0.0' || bound === '::';
  const hostAllowed = (hostname: string): boolean => {
    if (isLoopbackHost(hostname) || names.has(hostname) || hostname === bound) return true;
    // An address literal cannot be rebound: with a wildcard bind it is one of this machine's.
    return wildcard && isIP(hostname) !== 0;
  };
  return (req) => {
    const host = header(req, 'host');
    const hostname = host === undefined ? undefined : hostnameOf(host);
    if (hostname === undefined || !hostAllowed(hostname)) {
      throw new HttpError(403, `Host ${JSON.stringify(host ?? '')} is not a name this server answers to: it answers to loopback names and addresses` +
        `${!wildcard && !isLoopbackHost(bound) ? ` and ${bound}` : ''}; add others with --allowed-host (this refuses DNS-rebinding pages)`);
    }
    if (SAFE_METHODS.has(req.method)) return;
    const origin = header(req, 'origin');
    if (origin !== undefined && origin.toLowerCase() !== `http://${host!.toLowerCase()}`) {
      throw new HttpError(403, `Origin ${JSON.stringify(origin)} is not this server's own (http://${host}): requests that change state are refused from other web pages`);
    }
    const path = req.url.split('?')[0];
    const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    const accepted = ['application/json', ...(opts.extraTypes?.(path) ?? [])];
    if (!accepted.includes(type)) {
      throw new HttpError(415, `${req.method} ${path} needs a body with Content-Type: ${accepted.join(' or ')} (got ${type ? JSON.stringify(type) : 'none'}; ` +
        'bodies a web page can send cross-site without asking, such as text/plain or forms, are refused)');
    }
  };
}

function header(req: GuardedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `example.com:8080` → `example.com`, `[::1]:7837` → `::1`; undefined for a malformed Host. */
function hostnameOf(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::\d{1,5})?$/.exec(h);
  return m ? stripBrackets(m[1]) : undefined;
}

function stripBrackets(h: string): string {
  return h.replace(/^\[|\]$/g, '');
}
