/**
 * Typed client for the server's HTTP API (the bodies are src/protocol's, described in
 * docs/protocol.md). Every non-2xx answer becomes an ApiRequestError carrying the server's error
 * code, so the UI can tell "at capacity" (retry later) from a real failure.
 */
import {
  parseErrorBody, parseRetryAfter, type BackendName, type BackendsResponse, type HealthResponse, type FilterName, type IceServer, type IceServersResponse,
  type OfferAnswer, type OfferRequest, type ProcessResult, type SessionInfo,
} from '../protocol/index.js';

/** A non-2xx answer from the server, with its error code and Retry-After (seconds) if sent. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS: number | null,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }

  /** True for an answer that says "later" (503 or 429 with Retry-After) rather than "no". */
  get retryable(): boolean {
    return (this.status === 503 || this.status === 429) && this.retryAfterS !== null && this.code !== 'BACKEND_UNAVAILABLE';
  }

  /** True for 503 AT_CAPACITY: the server is full and the request may be retried later. */
  get atCapacity(): boolean {
    return this.status === 503 && this.code === 'AT_CAPACITY';
  }
}

const TOKEN_KEY = 'rtc-scale.api-token';

/** The bearer token for servers that protect their routes (RTC_AUTH_TOKENS / JWT), kept for this tab only. */
export function apiToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Remember (or, with '', forget) the bearer token for this tab. */
export function setApiToken(token: string): void {
  try {
    if (token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token then lasts until the page reloads.
  }
  memoryToken = token;
}

let memoryToken = '';

/** Called when the server answers 401/403, so the page can ask for a token. */
export const authEvents = new EventTarget();

function authHeaders(): Record<string, string> {
  const t = apiToken() || memoryToken;
  return t === '' ? {} : { authorization: `Bearer ${t}` };
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { ...init, headers: { accept: 'application/json', ...authHeaders(), ...(init?.headers ?? {}) } });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    if (res.status === 401 || res.status === 403) authEvents.dispatchEvent(new Event('required'));
    const err = parseErrorBody(body);
    throw new ApiRequestError(
      res.status,
      err?.code ?? `HTTP_${res.status}`,
      err?.message || (text.slice(0, 200) || res.statusText),
      parseRetryAfter(res.headers.get('retry-after')),
    );
  }
  return body as T;
}

/** GET /backends. */
export function getBackends(): Promise<BackendsResponse> {
  return request<BackendsResponse>('/backends');
}

/**
 * The backends from GET /backends, or, where a deployment keeps /backends off its public entry
 * (the GKE overlays route only the public paths, so it answers 404), from GET /healthz: the
 * default backend and its device, the other one listed as not published.
 */
export async function getBackendsOrHealth(): Promise<BackendsResponse> {
  try {
    return await getBackends();
  } catch (err) {
    if (!(err instanceof ApiRequestError) || err.status !== 404) throw err;
  }
  const h = await request<HealthResponse>('/healthz');
  const other: BackendName = h.backend === 'gpu' ? 'cpu' : 'gpu';
  return {
    default: h.backend,
    requested: h.backend,
    media: { engine: h.mediaEngine, codecs: [] },
    backends: [
      { name: h.backend, available: true, device: h.device, reason: null, isDefault: true },
      { name: other, available: false, device: null, reason: 'this deployment does not publish /backends', isDefault: false },
    ],
  };
}

/** GET /process: one run of the synthetic workload on one backend. */
export function runProcess(p: { width: number; height: number; filter: FilterName; iterations: number; backend: string }): Promise<ProcessResult> {
  const q = new URLSearchParams({
    width: String(p.width),
    height: String(p.height),
    filter: p.filter,
    iterations: String(p.iterations),
    backend: p.backend,
  });
  return request<ProcessResult>(`/process?${q.toString()}`);
}

/** GET /ice-servers; an empty list when the server has none configured. */
export async function getIceServers(): Promise<IceServer[]> {
  const r = await request<Partial<IceServersResponse>>('/ice-servers');
  return r.iceServers ?? [];
}

/** POST /offer: the complete (non-trickle) offer in, the answer out. */
export function postOffer(offer: OfferRequest): Promise<OfferAnswer> {
  return request<OfferAnswer>('/offer', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(offer),
  });
}

/** DELETE /sessions/:id, best effort (the data channel closing ends the session anyway). */
export async function deleteSession(id: string): Promise<void> {
  try {
    await fetch(`/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', keepalive: true, headers: authHeaders() });
  } catch {
    // The session also ends when its data channel closes or it idles out.
  }
}

/** POST an SDP offer to a WHIP or WHEP endpoint: the answer and the resource URL (absolute). */
export async function postSdp(path: string, sdp: string): Promise<{ sdp: string; location: string }> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/sdp', ...authHeaders() }, body: sdp });
  const text = await res.text();
  const location = res.headers.get('location');
  if (res.status !== 201 || location === null) {
    if (res.status === 401 || res.status === 403) authEvents.dispatchEvent(new Event('required'));
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    const err = parseErrorBody(body);
    throw new ApiRequestError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message || text.slice(0, 200) || res.statusText,
      parseRetryAfter(res.headers.get('retry-after')));
  }
  return { sdp: text, location: new URL(location, window.location.href).toString() };
}

/** DELETE a WHIP/WHEP resource, best effort (keepalive, so it also goes out while the page unloads). */
export async function deleteResource(url: string): Promise<void> {
  try {
    await fetch(url, { method: 'DELETE', keepalive: true, headers: authHeaders() });
  } catch {
    // The server ends a session whose connection is gone by itself.
  }
}

/** GET /sessions/:id. */
export function getSession(id: string, signal?: AbortSignal): Promise<SessionInfo> {
  return request<SessionInfo>(`/sessions/${encodeURIComponent(id)}`, signal ? { signal } : undefined);
}

/** PATCH /sessions/:id: change filter, iterations, style or backend (a WHIP session has no data channel). */
export function patchSession(id: string, settings: Record<string, unknown>): Promise<SessionInfo> {
  return request<SessionInfo>(`/sessions/${encodeURIComponent(id)}`, {
    method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings),
  });
}
