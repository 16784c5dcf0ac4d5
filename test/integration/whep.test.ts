/**
 * WHEP playback against the real server, on both media engines: a publisher sends over WHIP (sendonly, as
 * OBS does), viewers watch its processed output over POST /whep/:sessionId with the stamps
 * readable, so the time from the WHIP POST to the first processed frame at a viewer and the
 * viewer's glass-to-glass latency are measured. Viewers count against capacity, are listed,
 * release everything on DELETE and end with their session.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { matchedLumaSum } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { percentile } from '../../src/protocol/index.js';
import { gatheredOffer, WhepViewer, WhipHttpError, WhipPublisher } from '../support/whip-client.js';

const W = 320;
const H = 240;

interface Listing {
  sessions: Array<{ id: string }>;
  viewers: Array<{ id: string; sessionId: string; state: string; codec: string | null }>;
}

async function listing(url: string): Promise<Listing> {
  return (await (await fetch(`${url}/sessions`)).json()) as Listing;
}

async function waitForListing(url: string, pred: (l: Listing) => boolean, timeoutMs = 15000): Promise<Listing> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await listing(url);
    if (pred(l) || Date.now() > deadline) return l;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function capacitySessions(url: string): Promise<number> {
  return ((await (await fetch(`${url}/healthz`)).json()) as { capacity: { sessions: number } }).capacity.sessions;
}

for (const engine of ['native', 'libwebrtc'] as const) describe(`WHEP playback on the ${engine} engine`, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      env: { RTC_MEDIA_ENGINE: engine, RTC_MAX_SESSIONS: '3', RTC_IDLE_TIMEOUT_S: '10', RTC_CONNECT_TIMEOUT_S: '6', RTC_MAX_PIXELS: String(W * H) },
    });
  });
  afterEach(async () => {
    const l = await waitForListing(srv.url, (x) => x.sessions.length === 0 && x.viewers.length === 0);
    assert.deepEqual([l.sessions.length, l.viewers.length], [0, 0], 'sessions or viewers left over after the test');
  });
  after(async () => {
    await srv.stop();
  });

  it('a viewer gets the processed output with stamps; POST to first frame and glass-to-glass measured', async (t) => {
    const postedAt = Date.now();
    const p = await WhipPublisher.publish(srv.url, '/whip/invert', { width: W, height: H, fps: 30, direction: 'sendonly' });
    let v: WhepViewer | null = null;
    try {
      v = await WhepViewer.watch(srv.url, p.resourceId);
      assert.equal(v.created!.status, 201);
      assert.equal(v.created!.headers.get('content-type'), 'application/sdp');
      assert.match(new URL(v.location).pathname, /^\/whep\/viewers\/[0-9a-f-]{36}$/);
      assert.match(v.etag, /^"[A-Za-z0-9_-]{16,}"$/);
      await v.waitForStamped(1, 30000);
      const firstFrameMs = v.firstStampedAt! - postedAt;
      await v.waitForStamped(60, 30000);
      const { sum, matched } = matchedLumaSum(v.frames, (n) => p.sentFrame(n), W, H);
      assert.ok(matched >= 3, `matched ${matched} frames`);
      assert.ok(Math.abs(sum - 255) < 12, `the viewer sees inverted frames: sent + received luma ${sum.toFixed(1)}`);
      v.latencies.splice(0, 10); // the first frames carry the connection's start-up
      const p50 = percentile(v.latencies, 50) ?? Number.NaN;
      const p95 = percentile(v.latencies, 95) ?? Number.NaN;
      t.diagnostic(`${engine}: WHIP POST to first processed frame at a WHEP viewer: ${firstFrameMs} ms (target <= 500 ms on loopback); ` +
        `viewer glass-to-glass p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms over ${v.latencies.length} frames`);
      assert.ok(firstFrameMs < 3000, `first frame at the viewer after ${firstFrameMs} ms`);
      assert.ok(p95 < 300, `viewer glass-to-glass p95 ${p95.toFixed(1)} ms`);

      const l = await waitForListing(srv.url, (x) => x.viewers[0]?.codec !== null && x.viewers.length === 1);
      assert.equal(l.sessions.length, 1);
      assert.equal(l.viewers.length, 1);
      assert.equal(l.viewers[0]!.id, v.resourceId);
      assert.equal(l.viewers[0]!.sessionId, p.resourceId);
      assert.equal(l.viewers[0]!.state, 'live');
      assert.match(String(l.viewers[0]!.codec), /VP8|VP9/);
      assert.equal(await capacitySessions(srv.url), 2, 'the viewer counts against capacity');

      assert.equal(await v.delete(), 200);
      const afterViewer = await listing(srv.url);
      assert.deepEqual([afterViewer.sessions.length, afterViewer.viewers.length], [1, 0], 'DELETE ends the viewer, not the session');
      assert.equal(await capacitySessions(srv.url), 1);
      assert.equal(await v.delete(), 404);
      assert.equal(await p.delete(), 200);
      assert.equal(await capacitySessions(srv.url), 0, 'the capacity is back');
    } finally {
      v?.close();
      p.close();
    }
  });

  it('viewers with trickle ICE; viewers end when their session ends; 503 + Retry-After past capacity', async () => {
    const p = await WhipPublisher.publish(srv.url, '/whip/grayscale', { width: W, height: H, direction: 'sendonly', trickle: true });
    const viewers: WhepViewer[] = [];
    try {
      viewers.push(await WhepViewer.watch(srv.url, p.resourceId, { trickle: true }));
      viewers.push(await WhepViewer.watch(srv.url, p.resourceId));
      assert.equal(viewers[0]!.patchStatus, 204);
      await Promise.all(viewers.map((v) => v.waitForStamped(5, 30000)));
      // Three places: the session and two viewers. A third viewer does not fit.
      await assert.rejects(WhepViewer.watch(srv.url, p.resourceId), (err: unknown) => {
        assert.ok(err instanceof WhipHttpError);
        assert.equal(err.status, 503);
        assert.equal((err.body as { error: { code: string } }).error.code, 'AT_CAPACITY');
        assert.ok(Number(err.headers.get('retry-after')) > 0);
        return true;
      });
      assert.equal((await listing(srv.url)).viewers.length, 2);
      assert.equal(await p.delete(), 200);
      const l = await listing(srv.url);
      assert.deepEqual([l.sessions.length, l.viewers.length], [0, 0], 'the viewers ended with their session');
      assert.equal(await viewers[0]!.delete(), 404);
      await new Promise((r) => setTimeout(r, 1000));
      const n = viewers[1]!.framesReceived;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(viewers[1]!.framesReceived, n, 'no frames reach a viewer after its session ended');
    } finally {
      for (const v of viewers) v.close();
      p.close();
    }
  });

  it('answers 404 for an unknown session, 422 for an offer that does not receive, 415, 400, and PATCH preconditions', async () => {
    let res = await fetch(`${srv.url}/whep/${crypto.randomUUID()}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: await recvOffer() });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SESSION_NOT_FOUND');
    const p = await WhipPublisher.publish(srv.url, '/whip', { width: W, height: H, direction: 'sendonly' });
    try {
      const url = `${srv.url}/whep/${p.resourceId}`;
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: await sendOffer() });
      assert.equal(res.status, 422);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNPROCESSABLE_OFFER');
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'v=0' });
      assert.equal(res.status, 415);
      await res.arrayBuffer();
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
      assert.equal(res.status, 400);
      await res.arrayBuffer();
      res = await fetch(url, { method: 'OPTIONS' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('accept-post'), 'application/sdp');

      const v = await WhepViewer.watch(srv.url, p.resourceId);
      try {
        const patch = (headers: Record<string, string>) => fetch(v.location, {
          method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers }, body: 'a=end-of-candidates\r\n',
        });
        res = await patch({});
        assert.equal(res.status, 428);
        await res.arrayBuffer();
        res = await patch({ 'if-match': '"stale"' });
        assert.equal(res.status, 412);
        await res.arrayBuffer();
        res = await patch({ 'if-match': v.etag });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get('etag'), null);
        assert.equal(await v.delete(), 200);
      } finally {
        v.close();
      }
      res = await fetch(`${srv.url}/whep/viewers/${crypto.randomUUID()}`, { method: 'DELETE' });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
      assert.equal(await p.delete(), 200);
    } finally {
      p.close();
    }
  });
});

const recvOffer = (): Promise<string> => gatheredOffer(['recvonly']);
const sendOffer = (): Promise<string> => gatheredOffer(['sendonly']);
