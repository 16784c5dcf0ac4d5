/**
 * Access control (issue 14, items 10 and 11, and the JWT bounds): sessions belong to the
 * identity that made them, failed logins count against the rate limit, and JWTs cannot be
 * valid for ever or issued in the future. Opens WebRTC offers: run it in the loopback namespace.
 */
import '../support/wrtc-exit.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { RTCPeerConnection, waitForIceGathering } from '../../src/media/wrtc.js';
import { startTestServer, type TestServer } from '../support/server.js';

const TOKEN_A = 'token-a-0123456789abcdef';
const TOKEN_B = 'token-b-0123456789abcdef';
const OPERATOR = 'operator-0123456789abcdef';
const SECRET = 'a-jwt-secret-that-is-long-enough-0123456789';

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function jwt(claims: Record<string, unknown>, exp: number, iat?: number): Promise<string> {
  const j = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp);
  j.setIssuedAt(iat ?? Math.floor(Date.now() / 1000));
  return j.sign(new TextEncoder().encode(SECRET));
}

/** A real offer (video + data channel) from a local peer connection, gathered on loopback. */
async function makeOffer(): Promise<{ sdp: string; close: () => void }> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver('video', { direction: 'sendrecv' });
  pc.createDataChannel('control');
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIceGathering(pc, 5000);
  return { sdp: pc.localDescription!.sdp, close: () => pc.close() };
}

describe('session ownership', () => {
  let srv: TestServer;
  let offer: { sdp: string; close: () => void };
  before(async () => {
    srv = await startTestServer({
      env: {
        RTC_AUTH_TOKENS: `${TOKEN_A},${TOKEN_B}`, RTC_AUTH_OPERATOR_TOKENS: OPERATOR, RTC_AUTH_JWT_SECRET: SECRET,
        RTC_MAX_SESSIONS: '4', RTC_IDLE_TIMEOUT_S: '60',
      },
    });
    offer = await makeOffer();
  });
  after(async () => {
    offer.close();
    await srv.stop();
  });

  const open = async (token: string): Promise<string> => {
    const res = await fetch(`${srv.url}/offer`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...auth(token) },
      body: JSON.stringify({ sdp: offer.sdp, type: 'offer', filter: 'none' }),
    });
    const body = (await res.json()) as { sessionId: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.sessionId;
  };
  const listed = async (token: string): Promise<string[]> => {
    const res = await fetch(`${srv.url}/sessions`, { headers: auth(token) });
    return ((await res.json()) as { sessions: Array<{ id: string }> }).sessions.map((s) => s.id);
  };

  it('lets only the creator (and an operator) see, change and delete a session (any token could)', async () => {
    const a = await open(TOKEN_A);
    const b = await open(TOKEN_B);
    assert.deepEqual(await listed(TOKEN_A), [a]);
    assert.deepEqual(await listed(TOKEN_B), [b]);
    assert.deepEqual((await listed(OPERATOR)).sort(), [a, b].sort());

    // B on A's session: as if it did not exist.
    assert.equal((await fetch(`${srv.url}/sessions/${a}`, { headers: auth(TOKEN_B) })).status, 404);
    const patch = await fetch(`${srv.url}/sessions/${a}`, {
      method: 'PATCH', headers: { 'content-type': 'application/json', ...auth(TOKEN_B) }, body: '{"filter":"invert"}',
    });
    assert.equal(patch.status, 404);
    assert.equal(((await patch.json()) as { error: { code: string } }).error.code, 'SESSION_NOT_FOUND');
    assert.equal((await fetch(`${srv.url}/sessions/${a}`, { method: 'DELETE', headers: auth(TOKEN_B) })).status, 404);
    assert.deepEqual(await listed(TOKEN_A), [a], 'still there');

    // The owner and the operator may.
    const own = await fetch(`${srv.url}/sessions/${a}`, {
      method: 'PATCH', headers: { 'content-type': 'application/json', ...auth(TOKEN_A) }, body: '{"filter":"invert"}',
    });
    assert.equal(own.status, 200);
    assert.equal((await fetch(`${srv.url}/sessions/${a}`, { method: 'DELETE', headers: auth(TOKEN_A) })).status, 204);
    assert.equal((await fetch(`${srv.url}/sessions/${b}`, { method: 'DELETE', headers: auth(OPERATOR) })).status, 204);
  });

  it('gives a JWT subject its sessions across tokens, and the operator scope all', async () => {
    const now = Math.floor(Date.now() / 1000);
    const alice1 = await jwt({ sub: 'alice' }, now + 300);
    const alice2 = await jwt({ sub: 'alice', n: 2 }, now + 600);
    const bob = await jwt({ sub: 'bob' }, now + 300);
    const op = await jwt({ sub: 'ops', scope: 'read rtc:operator' }, now + 300);
    const s = await open(alice1);
    assert.deepEqual(await listed(alice2), [s]);
    assert.deepEqual(await listed(bob), []);
    assert.ok((await listed(op)).includes(s));
    assert.equal((await fetch(`${srv.url}/sessions/${s}`, { method: 'DELETE', headers: auth(alice2) })).status, 204);
  });

  it('refuses JWTs valid for longer than RTC_AUTH_JWT_MAX_TTL_S or issued in the future (exp: 1e300 was accepted)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const key = new TextEncoder().encode(SECRET);
    const forever = await new SignJWT({ sub: 'x', exp: 1e300 }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const future = await jwt({ sub: 'x' }, now + 300, now + 3600);
    const tooLong = await jwt({ sub: 'x' }, now + 2 * 86_400);
    for (const [what, token] of [['exp 1e300', forever], ['iat in an hour', future], ['valid two days', tooLong]] as const) {
      const res = await fetch(`${srv.url}/sessions`, { headers: auth(token) });
      assert.equal(res.status, 403, what);
    }
    assert.equal((await fetch(`${srv.url}/sessions`, { headers: auth(await jwt({ sub: 'x' }, now + 3600)) })).status, 200);
  });
});

describe('failed logins and the rate limit', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_AUTH_TOKENS: TOKEN_A, RTC_RATE_LIMIT_PER_MIN: '5' } });
  });
  after(async () => {
    await srv.stop();
  });

  it('counts wrong tokens against the rate limit (700 got 403, none 429)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await fetch(`${srv.url}/sessions`, { headers: auth(`wrong-token-${i}-0123456789`) })).status);
    }
    assert.deepEqual(statuses.slice(0, 5), [403, 403, 403, 403, 403]);
    assert.ok(statuses.slice(5).every((s) => s === 429), `then 429: ${statuses.join(' ')}`);
    const limited = await fetch(`${srv.url}/sessions`, { headers: auth(TOKEN_A) });
    assert.equal(limited.status, 429, 'the address is limited, whatever it sends next');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });
});
