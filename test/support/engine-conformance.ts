/**
 * The media engine conformance suite: one contract, every engine (hono's runTest model). Real
 * WebRTC sessions against the real server on loopback: processed frames come back with their
 * frame numbers, their pixels show the filter, settings change mid-session over the data channel
 * and PATCH with the same error codes, stats carry the engine's figures, teardown, capacity,
 * connect and idle timeouts, oversized frames, and a stall of the server's own process.
 *
 * An engine's test file calls runEngineConformance({ engine }); nothing here knows an engine.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { MediaEngineName } from '../../src/media/engine.js';
import { RTCPeerConnection, waitForIceGathering } from '../../src/media/wrtc.js';
import { aiortcAvailable, assertAiortcRun, invertErrors, runAiortcClient } from './aiortc-client.js';
import { ChromiumClient } from './chromium-client.js';
import { matchedLumaSum, RtcClient, OfferRejectedError } from './rtc-client.js';
import { startTestServer, type TestServer } from './server.js';

const W = 320;
const H = 240;

/** Sent + received luma of `c`'s matched frames (see matchedLumaSum). */
function matchedLuma(c: RtcClient): { sum: number; meanSent: number; matched: number } {
  return matchedLumaSum(c.received, (n) => c.sentFrame(n), W, H);
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

/** Poll GET /sessions until it lists `n` sessions; the count seen last. */
async function waitForSessionCount(url: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = ((await json(await fetch(`${url}/sessions`))).sessions as unknown[]).length;
    if (count === n || Date.now() > deadline) return count;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The value of one Prometheus sample line, 0 when absent. */
async function metricValue(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

export interface EngineConformanceOptions {
  engine: MediaEngineName;
  /** A reason to skip the whole suite (the engine cannot run here), or false. */
  skip?: string | false;
}

/** Run the whole media engine contract against `engine`. */
export function runEngineConformance({ engine, skip = false }: EngineConformanceOptions): void {
  describe(`media engine conformance: ${engine}`, { skip }, () => {
    let srv: TestServer;
    before(async () => {
      // Idle (never connected) sessions close after 10 s: short enough for a test, long enough
      // that a busy CI machine still connects in time.
      srv = await startTestServer({
        env: {
          RTC_MEDIA_ENGINE: engine, RTC_MAX_SESSIONS: '2', RTC_IDLE_TIMEOUT_S: '10', RTC_CONNECT_TIMEOUT_S: '6',
          // Every client here sends 320x240 unless a test sends more on purpose.
          RTC_MAX_PIXELS: String(W * H),
        },
      });
    });
    // The server ends a closed client's session asynchronously: each test starts from none, so
    // one test's leftovers never fill the two places another test counts on.
    afterEach(async () => {
      assert.equal(await waitForSessionCount(srv.url, 0, 20000), 0, 'sessions left over after the test');
    });
    after(async () => {
      await srv.stop();
    });

    it('returns inverted frames that keep their frame number, and lists the session', async () => {
      const c = await RtcClient.connect(srv.url, { width: W, height: H, offer: { filter: 'invert' } });
      try {
        await c.waitFor(() => c.received.filter((f) => f.frameNumber !== null).length >= 5, 30000, 'stamped frames');
        const numbers = c.received.map((f) => f.frameNumber).filter((n): n is number => n !== null);
        assert.ok(numbers.every((n) => n < c.framesSent), 'decoded frame numbers are frames that were sent');
        const { sum, matched } = matchedLuma(c);
        assert.ok(matched >= 3, `matched ${matched} frames`);
        // invert: received = 255 - sent, so their sum is about 255 (codec noise aside).
        assert.ok(Math.abs(sum - 255) < 12, `sent + received luma ${sum.toFixed(1)} should be about 255`);

        const list = await json(await fetch(`${srv.url}/sessions`));
        const sessions = list.sessions as Array<Record<string, unknown>>;
        assert.equal(sessions.length, 1);
        const s = sessions[0]!;
        assert.equal(s.id, c.sessionId);
        assert.equal(s.filter, 'invert');
        assert.equal(s.width, W);
        assert.equal(s.height, H);
        assert.match(String(s.codec), /VP8|VP9|AV1/i);
        assert.ok((s.framesSent as number) > 0 && (s.framesReceived as number) >= (s.framesSent as number));
        assert.ok(((s.processingMs as { p95: number }).p95) > 0);
      } finally {
        c.close();
      }
    });

    it('changes filter over the data channel and over PATCH', async () => {
      const c = await RtcClient.connect(srv.url, { width: W, height: H, offer: { filter: 'none' } });
      try {
        await c.waitFor(() => c.received.some((f) => f.frameNumber !== null), 30000, 'first stamped frame');
        const none = matchedLuma(c);
        assert.ok(Math.abs(none.sum - 2 * none.meanSent) < 12, 'filter none returns the picture unchanged');

        await c.send({ type: 'set', filter: 'invert' });
        await c.waitFor(() => c.messages.some((m) => (m as { type: string }).type === 'ack'), 10000, 'ack');
        const ack = c.messages.find((m) => (m as { type: string }).type === 'ack') as { session: { filter: string } };
        assert.equal(ack.session.filter, 'invert');
        await c.waitForFrames(10);
        c.received.splice(0);
        await c.waitFor(() => c.received.filter((f) => f.frameNumber !== null).length >= 3, 20000, 'inverted frames');
        assert.ok(Math.abs(matchedLuma(c).sum - 255) < 12, 'inverted after the data-channel change');

        await c.send({ type: 'set', filter: 'sparkle' });
        await c.waitFor(() => c.messages.some((m) => (m as { type: string }).type === 'error'), 10000, 'error reply');
        const err = c.messages.find((m) => (m as { type: string }).type === 'error') as { error: { code: string } };
        assert.equal(err.error.code, 'UNKNOWN_FILTER');

        const patched = await fetch(`${srv.url}/sessions/${c.sessionId}`, {
          method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: 'none' }),
        });
        assert.equal(patched.status, 200);
        assert.equal((await json(patched)).filter, 'none');
        await c.waitForFrames(10);
        c.received.splice(0);
        await c.waitFor(() => c.received.filter((f) => f.frameNumber !== null).length >= 3, 20000, 'plain frames');
        const back = matchedLuma(c);
        assert.ok(Math.abs(back.sum - 2 * back.meanSent) < 12, 'unchanged again after PATCH');

        const bad = await fetch(`${srv.url}/sessions/${c.sessionId}`, {
          method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ iterations: 0 }),
        });
        assert.equal(bad.status, 400);
      } finally {
        c.close();
      }
    });

    it('DELETE ends the session and frees its place', async () => {
      const c = await RtcClient.connect(srv.url, { width: W, height: H });
      try {
        await c.waitForFrames(3, 30000);
        const del = await fetch(`${srv.url}/sessions/${c.sessionId}`, { method: 'DELETE' });
        assert.equal(del.status, 204);
        const again = await fetch(`${srv.url}/sessions/${c.sessionId}`, { method: 'DELETE' });
        assert.equal(again.status, 404);
        assert.equal((await json(again) as { error: { code: string } }).error.code, 'SESSION_NOT_FOUND');
        const list = await json(await fetch(`${srv.url}/sessions`));
        assert.deepEqual(list.sessions, []);
        // The server closed its side: once frames already in flight have drained, no more arrive.
        await new Promise((r) => setTimeout(r, 1000));
        const n = c.framesReceived;
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(c.framesReceived, n, 'frames stop after DELETE');
      } finally {
        c.close();
      }
    });

    it('answers 503 with Retry-After at capacity, and admits again once a place frees', async () => {
      const a = await RtcClient.connect(srv.url, { width: W, height: H });
      const b = await RtcClient.connect(srv.url, { width: W, height: H });
      try {
        // Both connected, so closing b's data channel is seen by the server at once.
        await Promise.all([a.waitForFrames(1, 30000), b.waitForFrames(1, 30000)]);
        await assert.rejects(RtcClient.connect(srv.url, { width: W, height: H }), (err: unknown) => {
          assert.ok(err instanceof OfferRejectedError);
          assert.equal(err.status, 503);
          assert.equal((err.body as { error: { code: string } }).error.code, 'AT_CAPACITY');
          assert.ok(Number(err.retryAfter) > 0);
          return true;
        });
        b.close();
        // Closing the client's data channel ends the server's session.
        assert.equal(await waitForSessionCount(srv.url, 1, 10000), 1);
        const c = await RtcClient.connect(srv.url, { width: W, height: H });
        // Connected before it closes, so the server sees the data channel close at once.
        await c.waitForFrames(1, 30000);
        c.close();
      } finally {
        a.close();
        b.close();
      }
    });

    it('closes a session whose client stops sending (stall timeout)', async () => {
      const c = await RtcClient.connect(srv.url, { width: W, height: H, dataChannel: false });
      try {
        await c.waitForFrames(3, 30000);
        c.close();
        assert.equal(await waitForSessionCount(srv.url, 0, 15000), 0);
      } finally {
        c.close();
      }
    });
    it('gives Chromium its camera back processed (invert), on VP8 and on H264 where both sides have it', async (t) => {
      const backends = await json(await fetch(`${srv.url}/backends`));
      const serverCodecs = (backends.media as { codecs: Array<{ mimeType: string }> }).codecs.map((c) => c.mimeType);
      const chrome = await ChromiumClient.start(srv.url);
      try {
        const chromeCodecs = await chrome.sendCodecs();
        let ran = 0;
        for (const codec of ['video/VP8', 'video/H264']) {
          if (!chromeCodecs.includes(codec) || !serverCodecs.includes(codec)) {
            t.diagnostic(`${codec}: Chromium ${chromeCodecs.includes(codec) ? 'has' : 'lacks'} it, the ${engine} engine ${serverCodecs.includes(codec) ? 'has' : 'lacks'} it`);
            continue;
          }
          const r = await chrome.run({ filter: 'invert', preferCodec: codec });
          assert.equal(r.error, null, `${codec}: ${r.error}`);
          assert.equal(r.codec, codec, 'the answer is the one codec offered');
          assert.ok(r.framesReceived >= 20, `${codec}: ${r.framesReceived} processed frames in 2 s`);
          for (let c = 0; c < 3; c++) {
            const sum = r.sentMean[c]! + r.receivedMean[c]!;
            assert.ok(Math.abs(sum - 255) < 30, `${codec} channel ${c}: sent ${r.sentMean[c]!.toFixed(1)} + received ${r.receivedMean[c]!.toFixed(1)} should be about 255`);
          }
          t.diagnostic(`${codec}: ${r.framesReceived} frames, jitterBufferTarget ${r.jitterBufferTarget}`);
          ran++;
        }
        assert.ok(ran >= 1, 'at least VP8 ran');
        // Every admitted Chromium session closed with its page's connection.
        assert.equal(await waitForSessionCount(srv.url, 0, 15000), 0);
      } finally {
        await chrome.close();
      }
    });

    it('gives aiortc its stamped frames back inverted, on VP8 and on H264 where the engine has it', async (t) => {
      const py = aiortcAvailable();
      assert.ok(py.ok, `aiortc is part of the suite (npm test installs python3-aiortc): ${py.ok ? '' : py.reason}`);
      const backends = await json(await fetch(`${srv.url}/backends`));
      const serverCodecs = (backends.media as { codecs: Array<{ mimeType: string }> }).codecs.map((c) => c.mimeType);
      const FRAMES = 45;
      for (const codec of ['VP8', 'H264'] as const) {
        if (!serverCodecs.includes(`video/${codec}`)) {
          t.diagnostic(`${codec}: the ${engine} engine does not offer it`);
          continue;
        }
        const run = await runAiortcClient({ url: srv.url, filter: 'invert', codec, frames: FRAMES, durationS: 25, width: W, height: H });
        assertAiortcRun(run, `aiortc ${codec}`, FRAMES, `video/${codec}`);
        const e = invertErrors(run);
        assert.ok(e.y < 8 && e.u < 10 && e.v < 10, `${codec} invert: means near 255 - sent (errors Y ${e.y}, U ${e.u}, V ${e.v})`);
        assert.ok(e.movedMin > 40, `${codec} invert: the planes moved by at least ${e.movedMin}, not the picture sent`);
        t.diagnostic(`${codec}: ${run.frames.length} frames`);
      }
      assert.equal(await waitForSessionCount(srv.url, 0, 15000), 0, 'the sessions ended after aiortc left');
    });

    it('reports the engine, codec and media figures in /sessions and over the data channel', async () => {
      const c = await RtcClient.connect(srv.url, { width: W, height: H });
      try {
        await c.waitForFrames(10, 30000);
        await c.waitFor(() => c.messages.some((m) => (m as { type: string }).type === 'stats'), 10000, 'pushed stats');
        const pushed = c.messages.find((m) => (m as { type: string }).type === 'stats') as { session: Record<string, unknown> };
        const listed = ((await json(await fetch(`${srv.url}/sessions`))).sessions as Array<Record<string, unknown>>)[0]!;
        for (const s of [pushed.session, listed]) {
          assert.equal(s.engine, engine);
          for (const k of ['encoder', 'decoder', 'rttMs', 'lossRatio', 'sendBitrateKbps', 'encodeMs', 'decodeMs']) {
            assert.ok(k in s, `session info has ${k}`);
          }
        }
        assert.match(String(listed.codec), /^video\/(VP8|H264)$/i);
        assert.equal(typeof listed.encoder, 'string');
        const backends = await json(await fetch(`${srv.url}/backends`));
        const media = backends.media as { engine: string; codecs: Array<{ mimeType: string }> };
        assert.equal(media.engine, engine);
        assert.ok(media.codecs.some((x) => x.mimeType === 'video/VP8'));
        const health = await json(await fetch(`${srv.url}/healthz`));
        assert.equal(health.mediaEngine, engine);
        const cap = health.capacity as { utilization: number; sessions: number };
        assert.ok(cap.utilization > 0 && cap.sessions === 1, `capacity ${JSON.stringify(cap)}`);
      } finally {
        c.close();
      }
    });

    it('answers an unavailable backend with BACKEND_UNAVAILABLE over PATCH and the data channel alike', async (t) => {
      const backends = (await json(await fetch(`${srv.url}/backends`))).backends as Array<{ name: string; available: boolean }>;
      if (backends.find((b) => b.name === 'gpu')?.available) return t.skip('this server has a GPU backend');
      const c = await RtcClient.connect(srv.url, { width: W, height: H });
      try {
        await c.waitForFrames(1, 30000);
        const patched = await fetch(`${srv.url}/sessions/${c.sessionId}`, {
          method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ backend: 'gpu' }),
        });
        assert.equal(patched.status, 503);
        assert.equal(((await json(patched)).error as { code: string }).code, 'BACKEND_UNAVAILABLE');
        await c.send({ type: 'set', backend: 'gpu' });
        await c.waitFor(() => c.messages.some((m) => (m as { type: string }).type === 'error'), 10000, 'error reply');
        const err = c.messages.find((m) => (m as { type: string }).type === 'error') as { error: { code: string } };
        assert.equal(err.error.code, 'BACKEND_UNAVAILABLE');
      } finally {
        c.close();
      }
    });

    it('releases the place of an answered offer that never connects', async () => {
      const before = await metricValue(srv.url, /^rtc_sessions_closed_total\{reason="connect-timeout"\}/);
      const pc = new RTCPeerConnection({ iceServers: [] });
      try {
        pc.addTransceiver('video', { direction: 'sendrecv' });
        pc.createDataChannel('control');
        await pc.setLocalDescription(await pc.createOffer());
        await waitForIceGathering(pc, 5000);
        const res = await fetch(`${srv.url}/offer`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sdp: pc.localDescription!.sdp, type: 'offer' }),
        });
        assert.equal(res.status, 200);
        // The answer is never applied: the server's side cannot connect.
        assert.equal(await waitForSessionCount(srv.url, 1, 2000), 1);
        assert.equal(await waitForSessionCount(srv.url, 0, 20000), 0, 'the place is released after the connect timeout');
        const afterCount = await metricValue(srv.url, /^rtc_sessions_closed_total\{reason="connect-timeout"\}/);
        assert.equal(afterCount, before + 1);
      } finally {
        pc.close();
      }
    });

    it('ends a session whose frames exceed RTC_MAX_PIXELS and tells the client why', async () => {
      const c = await RtcClient.connect(srv.url, { width: W * 2, height: H * 2 });
      try {
        await c.waitFor(() => c.messages.some((m) => (m as { type: string }).type === 'error'), 30000, 'error message');
        const err = c.messages.find((m) => (m as { type: string }).type === 'error') as { error: { code: string; message: string } };
        assert.equal(err.error.code, 'FRAME_TOO_LARGE');
        assert.match(err.error.message, /640x480/);
        assert.equal(await waitForSessionCount(srv.url, 0, 10000), 0);
        assert.ok(await metricValue(srv.url, /^rtc_sessions_closed_total\{reason="frame-too-large"\}/) >= 1);
      } finally {
        c.close();
      }
    });

    it('keeps live sessions through a stall of the server process longer than the stall timeout', async () => {
      const c = await RtcClient.connect(srv.url, { width: W, height: H });
      try {
        await c.waitForFrames(5, 30000);
        // SIGSTOP freezes the whole server as a blocked event loop would, for longer than
        // RTC_STALL_TIMEOUT_S (5 s); the client keeps sending all along.
        const logFrom = srv.logs().length;
        process.kill(srv.pid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 6500));
        process.kill(srv.pid, 'SIGCONT');
        await c.waitForFrames(10, 20000);
        const list = (await json(await fetch(`${srv.url}/sessions`))).sessions as Array<{ id: string }>;
        assert.deepEqual(list.map((s) => s.id), [c.sessionId], 'the session survived the stall');
        assert.doesNotMatch(srv.logs().slice(logFrom), /"reason":"stalled"/);
      } finally {
        c.close();
      }
    });
  });
}
