export interface HttpResult<T = any> { status: number; headers: Headers; json: T; text: string }

/** One HTTP request with a JSON (or raw string) body; the answer parsed when it is JSON. */
export async function httpCall<T = any>(base: string, method: string, path: string, opts: { body?: unknown; token?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${base}${path}`, {
    method, headers,
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json: json as T, text };
}
