/**
 * Offer/answer exchange over HTTP for the two protocols the load generator speaks:
 * - rtc-scale: POST {url}/offer `{ sdp, type, filter, iterations, backend }` → `{ sdp, type, sessionId }`;
 * - aiortc: the aiortc example server's POST /offer `{ sdp, type, video_transform }` → `{ sdp, type }`.
 * A 503 is a rejection (the server is full or draining), reported with its Retry-After.
 */
import { parseErrorBody, parseRetryAfter } from '../protocol/index.js';

/** Which server protocol to speak. */
export type Protocol = 'rtc-scale' | 'aiortc';
export const PROTOCOLS: readonly Protocol[] = ['rtc-scale', 'aiortc'];

/** What the client asks the server to do with its video. */
export interface OfferParams {
  filter: string;
  iterations: number;
  backend?: string;
  /** Bearer token for servers that protect /offer (RTC_AUTH_TOKENS or a JWT). */
  token?: string;
}

/** A successful answer. */
export interface Answer {
  sdp: string;
  type: 'answer';
  /** rtc-scale only. */
  sessionId?: string;
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

/**
 * Best-effort DELETE {url}/sessions/:id (rtc-scale): ends a server session whose client gave up
 * before its connection came up, so it does not linger until the server's idle timeout.
 */
export async function deleteSession(url: string, sessionId: string, token: string | undefined, timeoutMs = 3000): Promise<void> {
  const base = url.replace(/\/+$/, '').replace(/\/offer$/, '');
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
  if (params.backend) body.backend = params.backend;
  return body;
}

/** POST the offer and return the answer; throws RejectedError on 503, SignalingError otherwise. */
export async function exchangeOffer(
  url: string, protocol: Protocol, sdp: string, params: OfferParams, timeoutMs: number,
): Promise<Answer> {
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
