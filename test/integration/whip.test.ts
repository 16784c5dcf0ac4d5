/**
 * WHIP ingest (RFC 9725) against the real server on libwebrtc: a publisher over POST /whip with
 * and without trickle ICE gets processed frames back with their stamps, DELETE releases the
 * session, and every status path of the RFC answers as it says (with the API's JSON errors).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { matchedLumaSum } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { gatheredOffer as makeOffer, WhipHttpError, WhipPublisher } from '../support/whip-client.js';

const W = 320;
const H = 240;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function sessionCount(url: string): Promise<number> {
  const body = (await (await fetch(`${url}/sessions`)).json()) as { sessions: unknown[] };
  return body.sessions.length;
}

async function waitForSessionCount(url: string, n: number, timeoutMs = 15000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await sessionCount(url);
    if (c === n || Date.now() > deadline) return c;
    await new Promise((r) => setTimeout(r, 200));
  }
}


/** The offer with every video codec renamed to H264 (what OBS offers), so libwebrtc's VP8/VP9 do not match. */
function h264Only(sdp: string): string {
  return sdp.replace(/^a=rtpmap:(\d+) (VP8|VP9|AV1|H264)\/90000/gm, 'a=rtpmap:$1 H264/90000');
}

/** h264Only with the fmtp OBS sends (packetization-mode 1, constrained baseline), which the native engine requires. */
function obsLikeOffer(sdp: string): string {
  return h264Only(sdp)
    .replace(/^a=fmtp:\d+ profile-id=.*\r\n/gm, '')
    .replace(/^a=rtpmap:(\d+) H264\/90000\r\n/gm, 'a=rtpmap:$1 H264/90000\r\na=fmtp:$1 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n');
}

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error?: { code?: string; message?: string } };
  assert.equal(typeof body.error?.message, 'string', 'the error body has a message');
  return body.error?.code ?? '';
}

function post(url: string, body: string, type = 'application/sdp', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
}

describe('WHIP ingest', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      env: {
        RTC_MAX_SESSIONS: '2', RTC_IDLE_TIMEOUT_S: '10', RTC_CONNECT_TIMEOUT_S: '6', RTC_MAX_PIXELS: String(W * H),
        // ICE servers the 201 must list as Link headers (TURN with short-lived credentials).
        RTC_TURN_URLS: 'stun:stun.example.test:3478,turn:turn.example.test:3478?transport=udp', RTC_TURN_SECRET: 'whip-test-secret',
      },
    });
  });
  afterEach(async () => {
    assert.equal(await waitForSessionCount(srv.url, 0), 0, 'sessions left over after the test');
  });
  after(async () => {
    await srv.stop();
  });

  it('publishes without trickle, gets inverted frames back with stamps, and DELETE releases everything', async (t) => {
    const postedAt = Date.now();
    const p = await WhipPublisher.publish(srv.url, '/whip/invert', { width: W, height: H });
    try {
      const h = p.created!.headers;
      assert.equal(p.created!.status, 201);
      assert.equal(h.get('content-type'), 'application/sdp');
      const id = p.resourceId;
      assert.match(id, UUID, 'the resource id is a random UUID');
      assert.equal(new URL(p.location).pathname, `/whip/sessions/${id}`);
      assert.match(p.etag, /^"[A-Za-z0-9_-]{16,}"$/, 'a strong entity tag');
      assert.equal(p.links.length, 2, `one Link per ICE server URL: ${h.get('link')}`);
      assert.deepEqual(p.links[0], { urls: 'stun:stun.example.test:3478' });
      assert.equal(p.links[1]!.urls, 'turn:turn.example.test:3478?transport=udp');
      assert.match(p.links[1]!.username ?? '', /^\d+:/);
      assert.ok((p.links[1]!.credential ?? '').length > 10);
      assert.match(h.get('link') ?? '', /credential-type="password"/);

      await p.waitForStamped(5, 30000);
      t.diagnostic(`WHIP POST to first processed frame back at the publisher: ${p.firstStampedAt! - postedAt} ms`);
      const { sum, matched } = matchedLumaSum(p.frames, (n) => p.sentFrame(n), W, H);
      assert.ok(matched >= 3, `matched ${matched} frames`);
      assert.ok(Math.abs(sum - 255) < 12, `sent + received luma ${sum.toFixed(1)} should be about 255`);

      const list = (await (await fetch(`${srv.url}/sessions`)).json()) as { sessions: Array<{ id: string; filter: string }> };
      assert.deepEqual(list.sessions.map((s) => [s.id, s.filter]), [[id, 'invert']]);
      const health = (await (await fetch(`${srv.url}/healthz`)).json()) as { capacity: { sessions: number } };
      assert.equal(health.capacity.sessions, 1);

      assert.equal(await p.delete(), 200);
      assert.equal(await sessionCount(srv.url), 0);
      const after = (await (await fetch(`${srv.url}/healthz`)).json()) as { capacity: { sessions: number } };
      assert.equal(after.capacity.sessions, 0, 'the capacity is back');
      assert.equal(await p.delete(), 404, 'a deleted resource is gone');
      await new Promise((r) => setTimeout(r, 1000));
      const n = p.framesReceived;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(p.framesReceived, n, 'frames stop after DELETE');
    } finally {
      p.close();
    }
  });

  it('publishes with trickle ICE: an offer without candidates, then one PATCH (204, no ETag)', async () => {
    const p = await WhipPublisher.publish(srv.url, '/whip?filter=invert&iterations=1&backend=cpu', { width: W, height: H, trickle: true });
    try {
      assert.equal(p.patchStatus, 204);
      await p.waitForStamped(5, 30000);
      assert.ok(Math.abs(matchedLumaSum(p.frames, (n) => p.sentFrame(n), W, H).sum - 255) < 12, 'inverted frames with their stamps');
      // A PATCH with a candidate the server cannot use: silently discarded (RFC 9725 §4.3.2), still 204 without an ETag.
      const res = await fetch(p.location, {
        method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': p.etag },
        body: 'a=mid:0\r\na=candidate:1 1 udp 2130706431 unresolvable.invalid 9 typ host\r\n',
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('etag'), null);
      assert.equal(await p.delete(), 200);
    } finally {
      p.close();
    }
  });

  it('answers the RFC status codes on the endpoint', async () => {
    const offer = await makeOffer(['sendrecv']);
    // 415: another body type, or none.
    let res = await post(`${srv.url}/whip`, JSON.stringify({ sdp: offer, type: 'offer' }), 'application/json');
    assert.equal(res.status, 415);
    assert.equal(await errorCode(res), 'UNSUPPORTED_MEDIA_TYPE');
    res = await post(`${srv.url}/whip`, offer, 'text/plain');
    assert.equal(res.status, 415);
    await res.arrayBuffer();
    // 400: not SDP; an unknown filter; a bad parameter.
    res = await post(`${srv.url}/whip`, 'hello');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'INVALID_SDP');
    res = await post(`${srv.url}/whip/sparkle`, offer);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'UNKNOWN_FILTER');
    res = await post(`${srv.url}/whip/blur?iterations=0`, offer);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'INVALID_PARAMETER');
    // 422: well-formed but unanswerable: H264 only (OBS on this engine), two video tracks, a receiving offer.
    res = await post(`${srv.url}/whip/invert`, h264Only(offer));
    assert.equal(res.status, 422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'UNPROCESSABLE_OFFER');
    assert.match(body.error.message, /H264/);
    res = await post(`${srv.url}/whip`, await makeOffer(['sendonly', 'sendonly']));
    assert.equal(res.status, 422);
    assert.equal(await errorCode(res), 'UNPROCESSABLE_OFFER');
    res = await post(`${srv.url}/whip`, await makeOffer(['recvonly']));
    assert.equal(res.status, 422);
    await res.arrayBuffer();
    // OPTIONS: 200 with Accept-Post, no token needed.
    res = await fetch(`${srv.url}/whip/invert`, { method: 'OPTIONS' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('accept-post'), 'application/sdp');
    // 405 with Allow for other methods.
    res = await fetch(`${srv.url}/whip`, { method: 'GET' });
    assert.equal(res.status, 405);
    assert.match(res.headers.get('allow') ?? '', /POST/);
    assert.equal(await errorCode(res), 'METHOD_NOT_ALLOWED');
    // 404 for a resource that does not exist.
    for (const method of ['PATCH', 'DELETE'] as const) {
      res = await fetch(`${srv.url}/whip/sessions/${crypto.randomUUID()}`, {
        method, headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' }, body: method === 'PATCH' ? 'a=end-of-candidates\r\n' : undefined,
      });
      assert.equal(res.status, 404, method);
      assert.equal(await errorCode(res), 'SESSION_NOT_FOUND');
    }
    assert.equal(await sessionCount(srv.url), 0, 'no refused offer left a session');
  });

  it('answers the RFC status codes on a session resource: 428, 412, 400, 415, 422 (ICE restart), 405', async () => {
    const p = await WhipPublisher.publish(srv.url, '/whip/none', { width: W, height: H });
    try {
      const frag = 'a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n';
      const patch = (body: string, headers: Record<string, string>) => fetch(p.location, {
        method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers }, body,
      });
      let res = await patch('a=end-of-candidates\r\n', {});
      assert.equal(res.status, 428);
      assert.equal(await errorCode(res), 'PRECONDITION_REQUIRED');
      res = await patch('a=end-of-candidates\r\n', { 'if-match': '"not-the-tag"' });
      assert.equal(res.status, 412);
      assert.equal(await errorCode(res), 'PRECONDITION_FAILED');
      res = await patch('this is not a fragment', { 'if-match': p.etag });
      assert.equal(res.status, 400);
      assert.equal(await errorCode(res), 'INVALID_SDP');
      res = await patch('a=candidate:garbage\r\n', { 'if-match': p.etag });
      assert.equal(res.status, 400);
      await res.arrayBuffer();
      res = await fetch(p.location, { method: 'PATCH', headers: { 'content-type': 'application/json', 'if-match': p.etag }, body: '{}' });
      assert.equal(res.status, 415);
      await res.arrayBuffer();
      // An ICE restart (new ufrag/pwd, If-Match: *): refused with 422, the session goes on.
      res = await patch(frag, { 'if-match': '*' });
      assert.equal(res.status, 422);
      assert.equal(await errorCode(res), 'ICE_RESTART_UNSUPPORTED');
      await p.waitForStamped(3, 30000);
      res = await fetch(p.location, { method: 'OPTIONS' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
      res = await fetch(p.location, { method: 'GET' });
      assert.equal(res.status, 405);
      assert.match(res.headers.get('allow') ?? '', /PATCH, DELETE/);
      await res.arrayBuffer();
      assert.equal(await p.delete(), 200);
    } finally {
      p.close();
    }
  });

  it('answers 503 with Retry-After at capacity', async () => {
    const a = await WhipPublisher.publish(srv.url, '/whip', { width: W, height: H });
    const b = await WhipPublisher.publish(srv.url, '/whip', { width: W, height: H });
    try {
      await assert.rejects(WhipPublisher.publish(srv.url, '/whip', { width: W, height: H }), (err: unknown) => {
        assert.ok(err instanceof WhipHttpError);
        assert.equal(err.status, 503);
        assert.equal((err.body as { error: { code: string } }).error.code, 'AT_CAPACITY');
        assert.ok(Number(err.headers.get('retry-after')) > 0);
        return true;
      });
    } finally {
      assert.equal(await a.delete(), 200);
      assert.equal(await b.delete(), 200);
      a.close();
      b.close();
    }
  });
});

describe('WHIP with bearer tokens and CORS', () => {
  const TOKEN = 'whip-token-0123456789abcdef';
  const OTHER = 'other-token-0123456789abcdef';
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_AUTH_TOKENS: `${TOKEN},${OTHER}`, RTC_MAX_PIXELS: String(W * H), RTC_CORS_ORIGINS: 'https://app.example' } });
  });
  after(async () => {
    await srv.stop();
  });

  it('answers 401 without a token, 403 with a wrong one, 201 with the right one; OPTIONS needs none', async () => {
    const offer = await makeOffer(['sendonly']);
    let res = await post(`${srv.url}/whip/invert`, offer);
    assert.equal(res.status, 401);
    assert.equal(await errorCode(res), 'UNAUTHORIZED');
    res = await post(`${srv.url}/whip/invert`, offer, 'application/sdp', { authorization: 'Bearer not-the-token-at-all' });
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), 'FORBIDDEN');
    res = await fetch(`${srv.url}/whip/invert`, { method: 'OPTIONS' });
    assert.equal(res.status, 200);
    await res.arrayBuffer();

    const p = await WhipPublisher.publish(srv.url, '/whip/invert', { width: W, height: H, token: TOKEN, direction: 'sendonly' });
    try {
      // The resource is protected too.
      res = await fetch(p.location, { method: 'DELETE' });
      assert.equal(res.status, 401);
      await res.arrayBuffer();
      assert.equal(await p.delete(), 200);
    } finally {
      p.close();
    }
  });

  it('a WHIP session and its WHEP viewer belong to their token: another token gets 404 and an empty list', async () => {
    const p = await WhipPublisher.publish(srv.url, '/whip/invert', { width: W, height: H, token: TOKEN, direction: 'sendonly' });
    try {
      const as = (token: string) => ({ authorization: `Bearer ${token}` });
      let res = await fetch(p.location, { method: 'DELETE', headers: as(OTHER) });
      assert.equal(res.status, 404, 'another token cannot end it');
      await res.arrayBuffer();
      res = await fetch(p.location, { method: 'PATCH', headers: { ...as(OTHER), 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': p.etag }, body: 'a=end-of-candidates\r\n' });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
      res = await post(`${srv.url}/whep/${p.resourceId}`, await makeOffer(['recvonly']), 'application/sdp', as(OTHER));
      assert.equal(res.status, 404, 'another token cannot watch it');
      assert.equal(await errorCode(res), 'SESSION_NOT_FOUND');
      const mine = (await (await fetch(`${srv.url}/sessions`, { headers: as(TOKEN) })).json()) as { sessions: Array<{ id: string }> };
      assert.deepEqual(mine.sessions.map((s) => s.id), [p.resourceId]);
      const theirs = (await (await fetch(`${srv.url}/sessions`, { headers: as(OTHER) })).json()) as { sessions: unknown[]; viewers: unknown[] };
      assert.deepEqual([theirs.sessions.length, theirs.viewers.length], [0, 0]);
      assert.equal(await p.delete(), 200);
    } finally {
      p.close();
    }
  });

  it('answers CORS preflights and plain OPTIONS with 200, Accept-Post/Accept-Patch, and exposes the WHIP headers', async () => {
    for (const [path, header, value] of [
      ['/whip/invert', 'accept-post', 'application/sdp'],
      [`/whip/sessions/${crypto.randomUUID()}`, 'accept-patch', 'application/trickle-ice-sdpfrag'],
    ] as const) {
      const pre = await fetch(`${srv.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization,if-match' },
      });
      assert.equal(pre.status, 200, path);
      assert.equal(pre.headers.get(header), value);
      assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /if-match/);
      assert.match(pre.headers.get('access-control-expose-headers') ?? '', /location.*etag.*link/);
      await pre.arrayBuffer();
      const plain = await fetch(`${srv.url}${path}`, { method: 'OPTIONS' });
      assert.equal(plain.status, 200, `plain OPTIONS ${path}`);
      assert.equal(plain.headers.get(header), value);
      await plain.arrayBuffer();
    }
  });
});

describe('WHIP on the native engine', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_MEDIA_ENGINE: 'native', RTC_MAX_PIXELS: String(W * H) } });
  });
  after(async () => {
    await srv.stop();
  });

  it('publishes (inverted stamped frames back), takes trickle PATCH (204), and a WHEP viewer of it is answered 201', async () => {
    const p = await WhipPublisher.publish(srv.url, '/whip/invert', { width: W, height: H });
    try {
      await p.waitForStamped(5, 30000);
      assert.ok(Math.abs(matchedLumaSum(p.frames, (n) => p.sentFrame(n), W, H).sum - 255) < 12, 'inverted frames with their stamps');
      let res = await fetch(p.location, {
        method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': p.etag }, body: 'a=end-of-candidates\r\n',
      });
      assert.equal(res.status, 204);
      res = await post(`${srv.url}/whep/${p.resourceId}`, await makeOffer(['recvonly']));
      assert.equal(res.status, 201);
      assert.match(await res.text(), /^a=sendonly/m, 'the viewer\'s answer sends');
      const viewer = await fetch(new URL(res.headers.get('location') ?? '', srv.url), { method: 'DELETE' });
      assert.equal(viewer.status, 200);
      assert.equal(await p.delete(), 200);
      assert.equal(await sessionCount(srv.url), 0);
    } finally {
      p.close();
    }
  });

  it('answers an H264-only offer (what OBS sends) with 201 and H264, where libwebrtc answers 422', async () => {
    const res = await post(`${srv.url}/whip/invert`, obsLikeOffer(await makeOffer(['sendonly'])));
    const answer = await res.text();
    assert.equal(res.status, 201, answer);
    assert.match(answer, /^a=rtpmap:\d+ H264\/90000/m);
    const del = await fetch(new URL(res.headers.get('location') ?? '', srv.url), { method: 'DELETE' });
    assert.equal(del.status, 200);
  });
});
