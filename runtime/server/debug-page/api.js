/* global URLSearchParams */
// The page's one way to the server: JSON in, JSON out, the bearer token (if the server
// wants one) from localStorage. POSTs always carry a JSON body: the server refuses others.
let token = window.localStorage.getItem('weft-token') ?? '';
let onUnauthorized = () => {};

export function setToken(t) {
  token = t;
  window.localStorage.setItem('weft-token', t);
}

export function whenUnauthorized(fn) { onUnauthorized = fn; }

export function authHeaders() {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json', ...authHeaders() };
  if (body !== undefined || method === 'POST') headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body !== undefined || method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}) });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw Object.assign(new Error(json.error?.message ?? `HTTP ${res.status}`), { status: res.status, data: json.error?.data });
  return json;
}

/** Query string from the defined, non-empty entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
