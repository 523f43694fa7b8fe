// The REST API: bearer token from sessionStorage (never in the URL or the page), problem
// details turned into ApiError, Idempotency-Key on every write.
const TOKEN_KEY = 'borderflow.token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || '';
    this.field = (problem && problem.field) || '';
    this.problem = problem || {};
    this.retryAfter = retryAfter; // seconds (Retry-After), or null
  }
}

// Called once when a request made with the stored token is answered 401 (the token was revoked
// or expired while the page was open): main.js signs out and shows the sign-in page.
let unauthorizedHandler = () => {};
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}
export function reportUnauthorized() {
  unauthorizedHandler();
}

// A fresh idempotency key (crypto.getRandomValues works outside secure contexts too).
// Time first (milliseconds, 12 hex digits), then 80 random bits: keys that sort by time land at
// the end of the node's idempotency index instead of on a random page each (docs/benchmarks.md).
export function newKey() {
  const b = new Uint8Array(10);
  crypto.getRandomValues(b);
  const time = Date.now().toString(16).padStart(12, '0');
  return 'web-' + time + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function api(path, { method = 'GET', body, key, query, token = session.token, signal } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['Idempotency-Key'] = key || newKey();
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    signal,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const ra = Number(res.headers.get('Retry-After'));
    const err = new ApiError(res.status, data, Number.isFinite(ra) && ra >= 0 && res.headers.has('Retry-After') ? ra : null);
    if (res.status === 401 && token && token === session.token) reportUnauthorized();
    throw err;
  }
  return data;
}

// Every page of a list endpoint (bounded).
export async function listAll(path, query = {}, maxPages = 5) {
  const items = [];
  let cursor = '';
  for (let i = 0; i < maxPages; i++) {
    const page = await api(path, { query: { ...query, limit: 200, cursor } });
    items.push(...(page.items || []));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

// The lifecycle's transitions (who may send which event from which states), or none when it
// cannot be loaded: views await it before computing a crossing's actions, since the live feed
// can fill their lists first.
export function loadLifecycle() {
  return api('/api/v1/lifecycle').then(
    (r) => r.transitions || [],
    () => [],
  );
}
