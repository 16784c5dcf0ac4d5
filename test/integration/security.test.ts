/**
 * Access control, limits on expensive work, CORS, security headers and the separate metrics
 * port, against the real server process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { freePort, startTestServer, type TestServer } from '../support/server.js';

const TOKEN = 'static-token-0123456789abcdef';
const SECRET = 'a-jwt-secret-that-is-long-enough-0123456789';

async function code(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

async function jwt(secret: string, exp: number | null): Promise<string> {
  const j = new SignJWT({ sub: 'tester' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (exp !== null) j.setExpirationTime(exp);
  return j.sign(new TextEncoder().encode(secret));
}

describe('access control', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_AUTH_TOKENS: TOKEN, RTC_AUTH_JWT_SECRET: SECRET } });
  });
  after(async () => {
    await srv.stop();
  });

  const get = (path: string, token?: string) =>
    fetch(`${srv.url}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

  it('leaves health, readiness, backends and metrics open', async () => {
    for (const p of ['/healthz', '/readyz', '/backends', '/metrics']) assert.equal((await get(p)).status, 200, p);
  });

  it('asks for a token on the expensive routes (401) and refuses a wrong one (403)', async () => {
    for (const p of ['/process?width=8&height=8', '/sessions', '/ice-servers']) {
      const res = await get(p);
      assert.equal(res.status, 401, p);
      assert.equal(await code(res), 'UNAUTHORIZED');
      const bad = await get(p, 'not-the-token-at-all-000');
      assert.equal(bad.status, 403, p);
      assert.equal(await code(bad), 'FORBIDDEN');
    }
    const offer = await fetch(`${srv.url}/offer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(offer.status, 401);
    const basic = await fetch(`${srv.url}/sessions`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(basic.status, 401);
  });

  it('accepts the static token and a signed, unexpired JWT', async () => {
    assert.equal((await get('/process?width=8&height=8', TOKEN)).status, 200);
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await get('/sessions', await jwt(SECRET, now + 300))).status, 200);
  });

  it('refuses expired, unsigned-expiry and wrongly signed JWTs', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await get('/sessions', await jwt(SECRET, now - 600));
    assert.equal(expired.status, 403);
    assert.match(((await expired.json()) as { error: { message: string } }).error.message, /expired/);
    assert.equal((await get('/sessions', await jwt(SECRET, null))).status, 403);
    assert.equal((await get('/sessions', await jwt('another-secret-that-is-long-enough-xyz', now + 300))).status, 403);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"exp":${now + 300}}`).toString('base64url')}.`;
    assert.equal((await get('/sessions', none)).status, 403);
  });
});

describe('limits on expensive work', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      env: { RTC_RATE_LIMIT_PER_MIN: '8', RTC_PROCESS_CONCURRENCY: '1', RTC_PROCESS_QUEUE: '0', RTC_PROCESS_MAX_WORK: '100000000' },
    });
  });
  after(async () => {
    await srv.stop();
  });

  it('refuses work beyond width x height x iterations', async () => {
    const res = await fetch(`${srv.url}/process?width=3840&height=2160&iterations=20`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /RTC_PROCESS_MAX_WORK/);
  });

  it('answers 503 SERVER_BUSY with Retry-After past the concurrency and queue bound', async () => {
    const url = `${srv.url}/process?width=3840&height=2160&iterations=10`;
    const results = await Promise.all([fetch(url), fetch(url), fetch(url)]);
    const statuses = results.map((r) => r.status).sort();
    assert.ok(statuses.includes(200), `one ran: ${statuses}`);
    const busy = results.filter((r) => r.status === 503);
    assert.ok(busy.length >= 1, `some were refused: ${statuses}`);
    for (const r of busy) {
      assert.equal(await code(r), 'SERVER_BUSY');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
  });

  it('rate-limits a client on the expensive routes only', async () => {
    let limited: Response | null = null;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await fetch(`${srv.url}/process?width=8&height=8`);
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, 'the limit was reached');
    assert.equal(await code(limited), 'TOO_MANY_REQUESTS');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200, 'probes are not limited');
  });

  it('sends no CORS headers by default, and security headers on the page', async () => {
    const res = await fetch(`${srv.url}/healthz`, { headers: { origin: 'http://elsewhere.test' } });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const page = await fetch(`${srv.url}/app/`);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
  });
});

describe('CORS and the metrics port', () => {
  let srv: TestServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    srv = await startTestServer({ env: { RTC_CORS_ORIGINS: 'http://allowed.test', RTC_METRICS_PORT: String(metricsPort) } });
  });
  after(async () => {
    await srv.stop();
  });

  it('allows only the configured origin', async () => {
    const ok = await fetch(`${srv.url}/backends`, { headers: { origin: 'http://allowed.test' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.test');
    const no = await fetch(`${srv.url}/backends`, { headers: { origin: 'http://other.test' } });
    assert.equal(no.headers.get('access-control-allow-origin'), null);
  });

  it('serves /metrics on its own port only', async () => {
    assert.equal((await fetch(`${srv.url}/metrics`)).status, 404);
    const m = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /rtc_sessions_active/);
  });
});
