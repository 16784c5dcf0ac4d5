/**
 * Offer/answer exchange over HTTP for the protocols the load generator speaks:
 * - rtc-scale: POST {url}/offer `{ sdp, type, filter, iterations, backend }` → `{ sdp, type, sessionId }`;
 * - aiortc: the aiortc example server's POST /offer `{ sdp, type, video_transform }` → `{ sdp, type }`;
 * - whip: RFC 9725, POST {url}/whip/{filter}?iterations=&backend= with `application/sdp` → 201,
 *   the answer as the body and the session resource in Location (DELETEd at the end).
 * WHEP viewers (watchSession) POST to {url}/whep/{sessionId} the same way.
 * A 503 is a rejection (the server is full or draining), reported with its Retry-After.
 */
import { parseErrorBody, parseRetryAfter, SDP_MEDIA_TYPE, type AnonymizeStyle } from '../protocol/index.js';

/** Which server protocol to speak. */
export type Protocol = 'rtc-scale' | 'aiortc' | 'whip';
export const PROTOCOLS: readonly Protocol[] = ['rtc-scale', 'aiortc', 'whip'];

/** What the client asks the server to do with its video. */
export interface OfferParams {
  filter: string;
  iterations: number;
  /** How anonymize hides faces (absent: the server's default). */
  style?: AnonymizeStyle;
  backend?: string;
  /** Bearer token for servers that protect /offer (RTC_AUTH_TOKENS or a JWT). */
  token?: string;
}

/** A successful answer. */
export interface Answer {
  sdp: string;
  type: 'answer';
  /** rtc-scale and whip. */
  sessionId?: string;
  /** whip (and WHEP viewers): the resource to DELETE at the end, absolute. */
  resourceUrl?: string;
}

/** The server refused the session with 503 (at capacity or draining) or 429 (rate limit). */
export class RejectedError extends Error {
  override readonly name = 'RejectedError';
  constructor(readonly code: string, readonly retryAfterS: number | null) {
    super(`rejected: ${code}${retryAfterS !== null ? ` (retry after ${retryAfterS} s)` : ''}`);
  }
}

/** Signalling failed for another reason (network error, 4xx, unexpected body). */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  constructor(message: string, readonly status: number | null) {
    super(message);
  }
}

/** The offer endpoint for a base URL (a URL already ending in /offer is used as it is). */
export function offerUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/offer') ? trimmed : `${trimmed}/offer`;
}

/** The server's base URL (a URL ending in /offer or /whip... is cut back to its base). */
function baseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/(offer|whip(\/.*)?)$/, '');
}

/** The WHIP endpoint for a base URL and the session's settings. */
export function whipUrl(base: string, params: OfferParams): string {
  const q = new URLSearchParams({ iterations: String(params.iterations) });
  if (params.style) q.set('style', params.style);
  if (params.backend) q.set('backend', params.backend);
  return `${baseUrl(base)}/whip/${encodeURIComponent(params.filter)}?${q.toString()}`;
}

/** Best-effort DELETE of a WHIP/WHEP resource: the end of a WHIP session or viewer. */
export async function deleteResource(resourceUrl: string, token: string | undefined, timeoutMs = 3000): Promise<void> {
  try {
    const res = await fetch(resourceUrl, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
  } catch {
    // The server ends sessions whose client is gone by itself.
  }
}

/** POST an SDP offer as WHIP/WHEP do; throws RejectedError on 503/429, SignalingError otherwise. */
async function postSdp(url: string, sdp: string, token: string | undefined, timeoutMs: number): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': SDP_MEDIA_TYPE, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: sdp,
      signal: AbortSignal.timeout(Math.max(1, Math.round(timeoutMs))),
    });
  } catch (err) {
    throw new SignalingError(`POST ${url} failed: ${(err as Error).message}`, null);
  }
  const text = await res.text().catch(() => '');
  if (res.status === 503 || res.status === 429) {
    const code = parseErrorBody(safeJson(text))?.code ?? (res.status === 503 ? 'UNAVAILABLE' : 'TOO_MANY_REQUESTS');
    throw new RejectedError(code, parseRetryAfter(res.headers.get('retry-after')));
  }
  const location = res.headers.get('location');
  if (res.status !== 201 || location === null || !text.startsWith('v=')) {
    const code = parseErrorBody(safeJson(text))?.code;
    throw new SignalingError(`POST ${new URL(url).pathname} answered ${res.status}${code ? ` ${code}` : ''}: ${text.slice(0, 200)}`, res.status);
  }
  const resourceUrl = new URL(location, url).toString();
  return { sdp: text, type: 'answer', resourceUrl, sessionId: resourceUrl.split('/').pop() ?? '' };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A WHEP viewer's offer for session `sessionId`: the answer and the viewer resource. */
export function watchSession(url: string, sessionId: string, sdp: string, token: string | undefined, timeoutMs: number): Promise<Answer> {
  return postSdp(`${baseUrl(url)}/whep/${encodeURIComponent(sessionId)}`, sdp, token, timeoutMs);
}

/**
 * Best-effort DELETE {url}/sessions/:id (rtc-scale): ends a server session whose client gave up
 * before its connection came up, so it does not linger until the server's idle timeout.
 */
export async function deleteSession(url: string, sessionId: string, token: string | undefined, timeoutMs = 3000): Promise<void> {
  const base = baseUrl(url);
  try {
    await fetch(`${base}/sessions/${encodeURIComponent(sessionId)}`, {
      method: 'DELETE',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    // The server ends idle sessions by itself; nothing more to do.
  }
}

/** The request body for `protocol`. */
export function offerBody(protocol: Protocol, sdp: string, params: OfferParams): Record<string, unknown> {
  if (protocol === 'aiortc') return { sdp, type: 'offer', video_transform: params.filter };
  const body: Record<string, unknown> = { sdp, type: 'offer', filter: params.filter, iterations: params.iterations };
  if (params.style) body.style = params.style;
  if (params.backend) body.backend = params.backend;
  return body;
}

/** POST the offer and return the answer; throws RejectedError on 503, SignalingError otherwise. */
export async function exchangeOffer(
  url: string, protocol: Protocol, sdp: string, params: OfferParams, timeoutMs: number,
): Promise<Answer> {
  if (protocol === 'whip') return postSdp(whipUrl(url, params), sdp, params.token, timeoutMs);
  let res: Response;
  try {
    res = await fetch(offerUrl(url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(params.token ? { authorization: `Bearer ${params.token}` } : {}) },
      body: JSON.stringify(offerBody(protocol, sdp, params)),
      signal: AbortSignal.timeout(Math.max(1, Math.round(timeoutMs))),
    });
  } catch (err) {
    throw new SignalingError(`POST ${offerUrl(url)} failed: ${(err as Error).message}`, null);
  }
  const text = await res.text().catch(() => '');
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: handled below by status and shape checks.
  }
  const errorCode = parseErrorBody(body)?.code;
  if (res.status === 503 || res.status === 429) {
    const fallback = res.status === 503 ? 'UNAVAILABLE' : 'TOO_MANY_REQUESTS';
    throw new RejectedError(typeof errorCode === 'string' ? errorCode : fallback, parseRetryAfter(res.headers.get('retry-after')));
  }
  if (!res.ok) {
    throw new SignalingError(`POST /offer answered ${res.status}${typeof errorCode === 'string' ? ` ${errorCode}` : ''}: ${text.slice(0, 200)}`, res.status);
  }
  const answer = body as { sdp?: unknown; type?: unknown; sessionId?: unknown } | null;
  if (!answer || typeof answer.sdp !== 'string' || answer.type !== 'answer') {
    throw new SignalingError(`POST /offer answered ${res.status} without an SDP answer: ${text.slice(0, 200)}`, res.status);
  }
  return { sdp: answer.sdp, type: 'answer', ...(typeof answer.sessionId === 'string' ? { sessionId: answer.sessionId } : {}) };
}

/**
 * The video codec an answer puts first (upper case, e.g. `VP8`, `H264`): the one the server sends
 * and the client encodes. Null when the answer has no video m-line or no rtpmap for its first
 * payload type. Reads at most the first video section.
 */
export function answeredVideoCodec(sdp: string): string | null {
  let firstPt: string | null = null;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      if (firstPt !== null) break;
      if (line.startsWith('m=video ')) firstPt = line.split(' ')[3] ?? null;
      if (firstPt === null) continue;
    }
    if (firstPt === null) continue;
    const m = /^a=rtpmap:(\d+) ([^/\s]+)\//.exec(line);
    if (m && m[1] === firstPt) return m[2]!.toUpperCase();
  }
  return null;
}
