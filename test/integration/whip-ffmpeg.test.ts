/**
 * A WHIP client from outside the project: FFmpeg's own `whip` muxer (test/support/
 * ffmpeg-whip-publisher.ts) publishes H264 to the real server on the native engine. FFmpeg does
 * the POST, ICE, DTLS, SRTP, RTP and the DELETE; the tests check what the server makes of it
 * (a live H264 session whose processed-frame counter rises, gone with its capacity after
 * FFmpeg's trailer), FFmpeg's bearer token, and FFmpeg's own error text when it is refused.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { FfmpegWhipError, FfmpegWhipPublisher } from '../support/ffmpeg-whip-publisher.js';
import { matchedLumaSum } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ChromiumClient } from '../support/chromium-client.js';
import { WhepViewer } from '../support/whip-client.js';

const W = 320;
const H = 240;
const FPS = 15;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Mean R, G, B of an I420 frame (BT.601 limited range, as Chromium renders it). */
function meanRgbOfI420(data: Uint8Array, w: number, h: number): [number, number, number] {
  const mean = (from: number, n: number): number => {
    let sum = 0;
    for (let i = from; i < from + n; i++) sum += data[i]!;
    return sum / n;
  };
  const y = mean(0, w * h) - 16;
  const u = mean(w * h, (w * h) / 4) - 128;
  const v = mean(w * h * 1.25, (w * h) / 4) - 128;
  const clamp = (x: number): number => Math.min(255, Math.max(0, x));
  return [clamp(1.164 * y + 1.596 * v), clamp(1.164 * y - 0.392 * u - 0.813 * v), clamp(1.164 * y + 2.017 * u)];
}

/** The part of a GET /sessions row these tests read. */
interface SessionRow {
  id: string;
  state: string;
  engine: string;
  filter: string;
  codec: string | null;
  width: number;
  height: number;
  framesReceived: number;
  framesSent: number;
}

const bearer = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function sessions(url: string, token?: string): Promise<SessionRow[]> {
  const res = await fetch(`${url}/sessions`, { headers: bearer(token) });
  assert.equal(res.status, 200, 'GET /sessions');
  return ((await res.json()) as { sessions: SessionRow[] }).sessions;
}

async function capacitySessions(url: string): Promise<number> {
  return ((await (await fetch(`${url}/healthz`)).json()) as { capacity: { sessions: number } }).capacity.sessions;
}

async function waitForSessionCount(url: string, n: number, token?: string, timeoutMs = 15000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = (await sessions(url, token)).length;
    if (c === n || Date.now() > deadline) return c;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Polls GET /sessions every 25 ms from before the POST, and notes (Date.now()) when the first
 * session was listed, went live (its first decoded frame) and had a processed frame.
 */
function watchSessions(url: string, token?: string): { listedAt: number | null; liveAt: number | null; processedAt: number | null; stop(): Promise<void> } {
  const seen = { listedAt: null as number | null, liveAt: null as number | null, processedAt: null as number | null };
  let running = true;
  const loop = (async () => {
    while (running && seen.processedAt === null) {
      const row = (await sessions(url, token).catch(() => []))[0];
      const now = Date.now();
      if (row) {
        seen.listedAt ??= now;
        if (row.state === 'live') seen.liveAt ??= now;
        if (row.framesSent > 0) seen.processedAt ??= now;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return Object.assign(seen, {
    async stop() {
      running = false;
      await loop;
    },
  });
}

/** Wait until the session's row passes `ok`; the last row seen is in the failure message. */
async function waitForRow(url: string, id: string, ok: (r: SessionRow) => boolean, token?: string, timeoutMs = 15000): Promise<SessionRow> {
  const deadline = Date.now() + timeoutMs;
  let last: SessionRow | undefined;
  for (;;) {
    last = (await sessions(url, token)).find((s) => s.id === id);
    if (last && ok(last)) return last;
    if (Date.now() > deadline) assert.fail(`session ${id} did not get there within ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Publish, print where the time went, and check the live session: H264, invert, counters rising. */
async function publishAndCheck(t: TestContext, srv: TestServer, token?: string): Promise<{ p: FfmpegWhipPublisher; id: string }> {
  const watch = watchSessions(srv.url, token);
  let p: FfmpegWhipPublisher | null = null;
  try {
    p = await FfmpegWhipPublisher.publish(`${srv.url}/whip/invert`, { width: W, height: H, fps: FPS, ...(token ? { token } : {}) });
    const id = p.resourceId ?? (await sessions(srv.url, token))[0]?.id ?? '';
    assert.match(id, UUID, `FFmpeg's Location (${p.location}) names a session`);
    assert.equal(new URL(p.location ?? '').pathname, `/whip/sessions/${id}`);
    const live = await waitForRow(srv.url, id, (r) => r.state === 'live' && r.framesSent > 0, token);
    await watch.stop();
    const start = p.headerStartedAt!;
    t.diagnostic(`FFmpeg header write (POST, ICE, DTLS, SRTP): ${p.handshakeMs} ms; first frame handed to the muxer ${p.firstFrameSentAt! - p.headerWrittenAt!} ms after it`);
    const since = (at: number | null) => (at === null ? 'not seen' : `${at - start} ms`);
    t.diagnostic(`from the header write's start (GET /sessions every 25 ms): listed ${since(watch.listedAt)}, live ${since(watch.liveAt)}, first processed frame ${since(watch.processedAt)}`);

    assert.equal(live.engine, 'native');
    assert.equal(live.codec, 'video/H264');
    assert.equal(live.filter, 'invert');
    assert.deepEqual([live.width, live.height], [W, H]);
    // A sendonly publisher has no return path, but the server still decodes and processes: the
    // counters are what shows it.
    await new Promise((r) => setTimeout(r, 2000));
    const later = await waitForRow(srv.url, id, () => true, token);
    const received = later.framesReceived - live.framesReceived;
    const processed = later.framesSent - live.framesSent;
    t.diagnostic(`in 2 s: ${received} frames decoded, ${processed} processed (FFmpeg sends ${FPS} fps)`);
    assert.ok(received >= FPS, `frames decoded in 2 s: ${received}`);
    assert.ok(processed >= FPS, `frames processed in 2 s: ${processed}`);
    assert.equal(await capacitySessions(srv.url), 1);
    return { p, id };
  } catch (err) {
    p?.kill();
    throw err;
  } finally {
    await watch.stop();
  }
}

/** FFmpeg's trailer: its DELETE ends the session at once and gives the capacity back. */
async function closeAndCheck(srv: TestServer, p: FfmpegWhipPublisher, id: string, token?: string): Promise<void> {
  const closed = await p.close();
  assert.equal(closed.trailer, 0, `the trailer: ${closed.message}`);
  assert.ok(p.deleted, "FFmpeg's DELETE of its resource succeeded");
  // FFmpeg's DELETE has been answered before close() resolves (the muxer sends it synchronously): no waiting here.
  assert.deepEqual((await sessions(srv.url, token)).map((s) => s.id), []);
  assert.equal(await capacitySessions(srv.url), 0, 'the capacity is back');
  assert.match(srv.logs(), new RegExp(`"session":"${id}","reason":"deleted"`), 'closed by the DELETE, not a timeout');
}

describe('FFmpeg WHIP muxer on the native engine', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_MEDIA_ENGINE: 'native', RTC_MAX_PIXELS: String(W * H), RTC_CONNECT_TIMEOUT_S: '10' } });
  });
  afterEach(async () => {
    assert.equal(await waitForSessionCount(srv.url, 0), 0, 'sessions left over after the test');
  });
  after(async () => {
    await srv.stop();
  });

  it('publishes H264 to /whip/invert: a live session processing frames, gone with its capacity after the trailer', async (t) => {
    const { p, id } = await publishAndCheck(t, srv);
    try {
      // What FFmpeg offered and what it was answered (printed trimmed in the report of issue 15).
      const offer = p.offerSdp ?? '';
      assert.match(offer, /^a=rtpmap:\d+ H264\/90000/m);
      assert.match(offer, /packetization-mode=1;profile-level-id=42/, 'constrained baseline');
      assert.match(offer, /^a=sendonly/m);
      assert.match(offer, /^a=setup:passive/m, 'FFmpeg is the DTLS server unless told dtls_active');
      assert.doesNotMatch(offer, /^a=candidate:/m, 'FFmpeg offers no candidates: it only sends checks to ours');
      const answer = p.answerSdp ?? '';
      assert.match(answer, /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/m, 'a host candidate FFmpeg can send its checks to');
      assert.match(answer, /^a=setup:active/m);
      assert.match(answer, /^a=recvonly/m);
      await closeAndCheck(srv, p, id);
    } finally {
      p.kill();
    }
  });

  it('its processed frames reach WHEP viewers in Chromium and libwebrtc, inverted, from one VP8 encode', async (t) => {
    const p = await FfmpegWhipPublisher.publish(`${srv.url}/whip/invert`, { width: W, height: H, fps: FPS });
    let viewer: WhepViewer | null = null;
    const chrome = await ChromiumClient.start(srv.url);
    try {
      viewer = await WhepViewer.watch(srv.url, p.resourceId ?? '');
      await viewer.waitForStamped(5, 30000);
      const { sum, matched } = matchedLumaSum(viewer.frames, (n) => p.sentFrame(n), W, H);
      assert.ok(matched >= 3, `matched ${matched} frames`);
      assert.ok(Math.abs(sum - 255) < 12, `sent + viewed luma ${sum.toFixed(1)} should be about 255`);

      // Chromium watches the same session while the libwebrtc viewer stays: both take VP8, so
      // they share the session's one VP8 encoder (the publisher's H264 is only decoded).
      const c = await chrome.watchWhep(p.resourceId ?? '', 2000);
      assert.equal(c.error, null, `Chromium's WHEP viewer: ${c.error}`);
      assert.equal(c.status, 201);
      assert.equal(c.codec, 'video/VP8', 'the viewer gets its own first codec, whatever the publisher sent');
      assert.ok(c.framesReceived >= FPS, `Chromium rendered ${c.framesReceived} frames in 2 s`);
      const sent = p.sentFrame(viewer.frames.at(-1)!.frameNumber) ?? p.sentFrame(0)!;
      const sentMean = meanRgbOfI420(sent, W, H);
      for (let ch = 0; ch < 3; ch++) {
        const both = sentMean[ch]! + c.receivedMean[ch]!;
        assert.ok(Math.abs(both - 255) < 30, `channel ${ch}: sent ${sentMean[ch]!.toFixed(1)} + Chromium saw ${c.receivedMean[ch]!.toFixed(1)} should be about 255`);
      }
      assert.equal(c.deleteStatus, 200);
      t.diagnostic(`Chromium WHEP viewer: offer to first rendered frame ${c.firstFrameMs} ms, ${c.framesReceived} frames in 2 s, ${c.codec}`);
      const listed = (await (await fetch(`${srv.url}/sessions`)).json()) as { viewers: Array<{ codec: string | null }> };
      assert.equal(listed.viewers.length, 1, 'Chromium\'s DELETE ended its viewer only');
      assert.equal(await viewer.delete(), 200);
      assert.equal((await p.close()).trailer, 0);
    } finally {
      await chrome.close();
      viewer?.close();
      p.kill();
    }
  });

  it("an offer with a=setup:active (FFmpeg's whip_flags=dtls_active) is answered passive and connects", async (t) => {
    const p = await FfmpegWhipPublisher.publish(`${srv.url}/whip/invert`, { width: W, height: H, fps: FPS, whipFlags: 'dtls_active' });
    try {
      assert.match(p.offerSdp ?? '', /^a=setup:active/m);
      assert.match(p.answerSdp ?? '', /^a=setup:passive/m, 'the server takes the DTLS server role');
      const id = p.resourceId ?? '';
      await waitForRow(srv.url, id, (r) => r.state === 'live' && r.framesSent > 0);
      t.diagnostic(`FFmpeg header write with dtls_active: ${p.handshakeMs} ms (FFmpeg's default passive offer waits for werift's DTLS retransmission)`);
      await closeAndCheck(srv, p, id);
    } finally {
      p.kill();
    }
  });

  it('FFmpeg reports the HTTP status of a refused POST (an unknown filter: 400) and leaves nothing behind', async () => {
    await assert.rejects(FfmpegWhipPublisher.publish(`${srv.url}/whip/sparkle`, { width: W, height: H }), (err: unknown) => {
      assert.ok(err instanceof FfmpegWhipError, String(err));
      assert.match(err.message, /400/, err.message);
      return true;
    });
  });
});

describe('FFmpeg WHIP muxer with a bearer token', () => {
  const TOKEN = 'ffmpeg-whip-token-0123456789';
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_MEDIA_ENGINE: 'native', RTC_AUTH_TOKENS: TOKEN, RTC_MAX_PIXELS: String(W * H), RTC_CONNECT_TIMEOUT_S: '10' } });
  });
  afterEach(async () => {
    assert.equal(await waitForSessionCount(srv.url, 0, TOKEN), 0, 'sessions left over after the test');
  });
  after(async () => {
    await srv.stop();
  });

  it("publishes with the muxer's authorization option, and its DELETE carries the token too", async (t) => {
    const { p, id } = await publishAndCheck(t, srv, TOKEN);
    try {
      await closeAndCheck(srv, p, id, TOKEN);
    } finally {
      p.kill();
    }
  });

  it('without the token or with another, the handshake fails with the 401 or 403 FFmpeg got', async () => {
    for (const [token, status] of [[undefined, 401], ['not-the-token-0123456789', 403]] as const) {
      await assert.rejects(FfmpegWhipPublisher.publish(`${srv.url}/whip/invert`, { width: W, height: H, ...(token ? { token } : {}) }), (err: unknown) => {
        assert.ok(err instanceof FfmpegWhipError, String(err));
        assert.match(err.message, new RegExp(String(status)), err.message);
        return true;
      });
    }
  });
});
