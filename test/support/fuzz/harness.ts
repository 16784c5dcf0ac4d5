/**
 * What every fuzz test shares: how many runs (FUZZ_RUNS multiplier, FUZZ_SEED to replay), the
 * response property (a 2xx of the right shape, or a 4xx/allowed 503 with a JSON error; never a
 * 5xx otherwise), and the server-side invariants read after each batch (alive, no session left,
 * the session gauge agreeing, resident memory).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Parameters as FcParameters } from 'fast-check';
import { ERROR_CODES } from '../../../src/server/errors.js';
import type { TestServer } from '../server.js';

/** Multiplier of every property's run count: 1 in CI, e.g. 20 under `npm run fuzz`. */
export const FUZZ_MULTIPLIER = Math.max(1, Number(process.env.FUZZ_RUNS ?? '1') || 1);

/** fast-check parameters for a property with `base` runs in CI. FUZZ_SEED replays a failure. */
export function fuzzParams<T>(base: number): FcParameters<T> {
  const seed = process.env.FUZZ_SEED;
  return {
    numRuns: Math.round(base * FUZZ_MULTIPLIER),
    ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}),
    // A failing case against a real server is shrunk, but not for ever.
    interruptAfterTimeLimit: 10 * 60_000 * FUZZ_MULTIPLIER,
    markInterruptAsFailure: false,
  };
}

/** Server settings shared by the fuzz servers: small limits so that valid-looking work stays cheap. */
export const FUZZ_SERVER_ENV: Record<string, string> = {
  RTC_CPU_WORKERS: '1',
  RTC_MAX_SESSIONS: '4',
  // Offers that pass but never connect end quickly; the tests DELETE them anyway.
  RTC_IDLE_TIMEOUT_S: '5',
};

/** 503 codes that are a correct answer to load or to a backend this machine lacks. */
const ALLOWED_503 = new Set(['AT_CAPACITY', 'SERVER_BUSY', 'BACKEND_UNAVAILABLE', 'DRAINING']);

/** A response read once, for the property checks and for failure messages. */
export interface Outcome {
  status: number;
  contentType: string;
  retryAfter: string | null;
  text: string;
  json: unknown;
}

/** Read a fetch response fully. */
export async function outcome(res: Response): Promise<Outcome> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), text, json };
}

/** A readable description of an outcome for assertion messages. */
export function describeOutcome(o: Outcome): string {
  return `HTTP ${o.status} ${o.contentType} ${o.text.slice(0, 300)}`;
}

/**
 * The error property: status 4xx, or 503 with a load/availability code (and Retry-After where
 * the API promises one); body `{error:{code,message}}` whose code maps to that status.
 * Returns the code.
 */
export function assertClientError(o: Outcome, context = ''): string {
  const where = `${context} ${describeOutcome(o)}`;
  assert.ok(o.status >= 400 && (o.status < 500 || o.status === 503), `not a 4xx/503:${where}`);
  assert.match(o.contentType, /^application\/json/, `error without a JSON content type:${where}`);
  const body = o.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  assert.ok(body && typeof body === 'object' && body.error && typeof body.error === 'object', `no {error} object:${where}`);
  const { code, message } = body.error;
  assert.equal(typeof code, 'string', `error.code is not a string:${where}`);
  assert.equal(typeof message, 'string', `error.message is not a string:${where}`);
  const known = ERROR_CODES as Record<string, number>;
  assert.ok(code as string in known, `unknown error code ${String(code)}:${where}`);
  assert.equal(known[code as string], o.status, `code ${String(code)} with the wrong status:${where}`);
  if (o.status === 503) {
    assert.ok(ALLOWED_503.has(code as string), `503 with code ${String(code)}:${where}`);
    // A backend that fails on a frame is a bug reported as BACKEND_UNAVAILABLE; only absence is fine.
    assert.doesNotMatch(message as string, /^processing on .* failed/, `processing failed:${where}`);
    if (code !== 'BACKEND_UNAVAILABLE') assert.ok(o.retryAfter !== null, `503 without Retry-After:${where}`);
  }
  if (o.status === 429) assert.ok(o.retryAfter !== null, `429 without Retry-After:${where}`);
  return code as string;
}

/** True when the outcome is a 2xx. */
export function isSuccess(o: Outcome): boolean {
  return o.status >= 200 && o.status < 300;
}

/** Memory and descriptor figures of a process from /proc (Linux). */
export interface ProcFigures {
  rssKb: number;
  /** Peak resident set size so far: catches a large allocation that was freed again. */
  hwmKb: number;
  threads: number;
}

/** Read /proc/PID/status. */
export async function procFigures(pid: number): Promise<ProcFigures> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), threads: field('Threads') };
}

/** One gauge or counter value from a Prometheus text exposition (null when absent). */
export function metricValue(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * The invariants after a batch: /healthz answers 200, the process has not exited, and within
 * `settleMs` no session is live beyond `baseline` by GET /sessions, /healthz and the
 * rtc_sessions_active gauge alike (sessions a test created are DELETEd or time out).
 */
export async function assertServerHealthy(srv: TestServer, baseline = 0, settleMs = 12000): Promise<void> {
  assert.equal(srv.child.exitCode, null, `server exited:\n${srv.logs().slice(-2000)}`);
  assert.equal(srv.child.signalCode, null, `server killed by a signal:\n${srv.logs().slice(-2000)}`);
  const deadline = Date.now() + settleMs;
  let last = '';
  for (;;) {
    const health = await fetch(`${srv.url}/healthz`);
    assert.equal(health.status, 200, 'healthz');
    const h = (await health.json()) as { sessions: number };
    const list = (await (await fetch(`${srv.url}/sessions`)).json()) as { sessions: unknown[] };
    const gauge = metricValue(await (await fetch(`${srv.url}/metrics`)).text(), 'rtc_sessions_active');
    last = `healthz.sessions=${h.sessions} GET /sessions=${list.sessions.length} rtc_sessions_active=${gauge}`;
    if (h.sessions === baseline && list.sessions.length === baseline && gauge === baseline) return;
    if (Date.now() > deadline) assert.fail(`sessions not back to ${baseline} after ${settleMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** POST a JSON (or any string) body. */
export function postBody(url: string, body: string | Uint8Array, contentType: string | null, method = 'POST'): Promise<Response> {
  const headers: Record<string, string> = {};
  if (contentType !== null) headers['content-type'] = contentType;
  return fetch(url, { method, headers, body });
}
