/**
 * The native engine with Chromium (Debian's, through playwright-core) as the client. With the
 * client's order (RTC_PREFER_H264 off): an offer that prefers H264 (packetization-mode 1) is
 * answered with H264, a VP8-preferring one with VP8, and video decodes both ways (browser camera ->
 * server decode -> encode -> browser decode). With the default preference, Chromium's VP8-first
 * offer is answered with H264 and decodes both ways too.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createNativeEngine, NativePeer } from '../../src/media/engines/native/index.js';
import { CHROMIUM, launchBrowser, type TestBrowser } from '../support/browser.js';
import { startEchoHarness, type EchoHarness } from '../support/native-echo-harness.js';

interface PageResult {
  answerCodec: string;
  inboundCodec: string | null;
  framesDecoded: number;
  frameWidth: number;
  offered: string[];
}

/**
 * Runs in the page (plain JavaScript: this project compiles without DOM types): camera -> offer
 * preferring `mime` -> POST /offer -> count the frames decoded from the server for `ms`.
 */
const PAGE_SESSION = `async ({ mime, ms }) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 30 } });
  const pc = new RTCPeerConnection();
  const tr = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendrecv' });
  const caps = RTCRtpReceiver.getCapabilities('video').codecs;
  const preferred = caps.filter((c) => c.mimeType === mime && (mime !== 'video/H264' || /packetization-mode=1/.test(c.sdpFmtpLine || '')));
  tr.setCodecPreferences([...preferred, ...caps.filter((c) => !preferred.includes(c))]);
  pc.createDataChannel('control');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') r();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); };
    setTimeout(r, 3000);
  });
  const res = await fetch('/offer', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sdp: pc.localDescription.sdp, type: 'offer' }) });
  const body = await res.json();
  await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
  pc.ontrack = (ev) => { document.getElementById('v').srcObject = new MediaStream([ev.track]); };
  await new Promise((r) => setTimeout(r, ms));
  const stats = await pc.getStats();
  const codecs = new Map();
  let inboundCodec = null, framesDecoded = 0, frameWidth = 0;
  stats.forEach((s) => { if (s.type === 'codec' && s.mimeType) codecs.set(s.id, s.mimeType); });
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      inboundCodec = codecs.get(s.codecId) || null;
      framesDecoded = s.framesDecoded || 0;
      frameWidth = s.frameWidth || 0;
    }
  });
  const m = /a=rtpmap:\\d+ (\\w+)\\/90000/.exec(body.sdp);
  pc.close();
  stream.getTracks().forEach((t) => t.stop());
  return { answerCodec: m ? m[1] : '', inboundCodec, framesDecoded, frameWidth, offered: preferred.map((c) => c.mimeType) };
}`;

describe('native engine with Chromium', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let browser: TestBrowser;
  let harness: EchoHarness;
  let preferring: EchoHarness;
  before(async () => {
    harness = await startEchoHarness(createNativeEngine({ preferH264: false }));
    preferring = await startEchoHarness(createNativeEngine());
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await harness?.stop();
    await preferring?.stop();
  });

  const cases = [
    { mime: 'video/H264', name: 'H264', answer: 'H264', title: 'answers an H264-first offer with H264', server: () => harness },
    { mime: 'video/VP8', name: 'VP8', answer: 'VP8', title: 'answers a VP8-first offer with VP8 (client order)', server: () => harness },
    { mime: 'video/VP8', name: 'VP8', answer: 'H264', title: 'answers a VP8-first offer with H264 by default (RTC_PREFER_H264)', server: () => preferring },
  ] as const;
  /** Whether this Chromium offers H264 with packetization-mode=1 (learnt by the H264-first case). */
  let chromiumH264: boolean | null = null;
  for (const c of cases) {
    it(`${c.title}, and video decodes both ways`, async (t) => {
      if (c.answer === 'H264' && c.name === 'VP8' && chromiumH264 === false) {
        t.skip('this Chromium offers no H264 with packetization-mode=1');
        return;
      }
      const { mime, name } = c;
      const harness = c.server();
      const answerMime = `video/${c.answer}`;
      const page = await browser.context.newPage();
      try {
        await page.goto(harness.url);
        const r = (await page.evaluate(`(${PAGE_SESSION})(${JSON.stringify({ mime, ms: 5000 })})`)) as PageResult;
        if (c.name === 'H264') chromiumH264 = r.offered.length > 0;
        if (r.offered.length === 0) {
          t.skip(`this Chromium offers no ${name} with packetization-mode=1`);
          return;
        }
        assert.equal(r.answerCodec, c.answer);
        assert.equal(r.inboundCodec, answerMime);
        assert.ok(r.framesDecoded >= 30, `frames the browser decoded from the server: ${r.framesDecoded}`);
        assert.equal(r.frameWidth, 640);
        const peer = harness.peers[harness.peers.length - 1] as NativePeer;
        assert.ok(peer.counters.framesDecoded >= 30, `frames the server decoded: ${peer.counters.framesDecoded}`);
        const stats = await peer.stats();
        assert.equal(stats.codec, answerMime);
        assert.equal(stats.encoder, c.answer === 'H264' ? 'libx264' : 'libvpx');
        console.log(`chromium ${name}-first offer, ${c.answer} answered: browser decoded ${r.framesDecoded}, server decoded ${peer.counters.framesDecoded}, keyframe requests ${peer.counters.keyframeRequestsReceived}, PLIs ${peer.counters.plisSent}`);
      } finally {
        await page.close();
      }
    });
  }
});
