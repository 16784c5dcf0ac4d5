/**
 * The native engine end to end with the project's libwebrtc client: the client's offer is
 * answered by createNativeEngine, frames round-trip (decode -> encode) with their stamps intact,
 * the data channel works, the answer carries playout-delay (and, with transport-cc off, neither
 * the transport-cc extension nor its feedback type), and with a seeded 2 % / 5 % loss
 * (plus reorder and duplicates) on the engine's receive path the video recovers through NACK/PLI
 * without a freeze over 1 s; with loss on the way out, the client's NACKs are answered from
 * werift's send history (RTX) and its key frame requests with key frames.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readStamp } from '../../src/loadgen/stamp.js';
import { createNativeEngine, NativePeer, type NativeEngineOptions } from '../../src/media/engines/native/index.js';
import { warmUpWerift } from '../../src/media/engines/native/transport/werift-warm-up.js';
import { percentile } from '../../src/protocol/index.js';
import { RtcClient } from '../support/rtc-client.js';
import { startEchoHarness, type EchoHarness } from '../support/native-echo-harness.js';

const W = 640;
const H = 360;

interface RunResult {
  client: RtcClient;
  harness: EchoHarness;
  /** Longest time between two received frames after the first, ms. */
  maxGapMs: number;
  /** Glass-to-glass latency of stamped frames, ms. */
  latencies: number[];
  stamped: number;
}

/** Connect, run for `ms`, and record receive gaps and stamp latencies. */
async function run(options: NativeEngineOptions, ms: number): Promise<RunResult> {
  const harness = await startEchoHarness(createNativeEngine(options));
  const client = await RtcClient.connect(harness.url, { width: W, height: H, fps: 30 });
  let last = 0;
  let maxGapMs = 0;
  let seen = 0;
  let stamped = 0;
  const latencies: number[] = [];
  const deadline = Date.now() + ms;
  await client.waitFor(() => {
    if (client.framesReceived !== seen) {
      seen = client.framesReceived;
      const now = Date.now();
      if (last > 0) maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      const f = client.received[client.received.length - 1];
      if (f) {
        const s = readStamp(f.data, f.width, f.height);
        if (s) {
          stamped++;
          latencies.push(((f.receivedAt >>> 0) - s.sendTimeMs + 2 ** 32) % 2 ** 32);
        }
      }
    }
    return Date.now() >= deadline;
  }, ms + 5000, 'the run to end');
  if (last > 0) maxGapMs = Math.max(maxGapMs, Date.now() - last);
  return { client, harness, maxGapMs, latencies, stamped };
}


describe('native engine with the libwebrtc client', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('answers VP8 with playout-delay and echoes stamped frames; the data channel works', async () => {
    const r = await run({}, 4000);
    cleanups.push(() => r.client.close(), () => r.harness.stop());
    const answer = r.harness.answers[0]!;
    assert.match(answer, /a=rtpmap:\d+ VP8\/90000/);
    assert.doesNotMatch(answer, /a=rtpmap:\d+ (VP9|AV1)/, 'the answer carries only the chosen codec (and RTX)');
    assert.match(answer, /a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/playout-delay/);
    assert.match(answer, /a=candidate:/, 'candidates gathered before answering');
    assert.ok(r.client.framesReceived >= 60, `frames back: ${r.client.framesReceived}`);
    assert.ok(r.stamped >= 30, `stamped frames readable after two VP8 hops: ${r.stamped}`);
    const last = r.client.received[r.client.received.length - 1]!;
    assert.equal(last.width, W);
    assert.equal(last.height, H);
    assert.notEqual(last.frameNumber, null);
    assert.ok(r.maxGapMs < 1000, `no freeze: longest gap ${r.maxGapMs} ms`);
    await r.client.send({ type: 'ping', n: 1 });
    await r.client.waitFor(() => r.client.messages.some((m) => (m as { echo?: string }).echo === '{"type":"ping","n":1}'), 5000, 'echo on the data channel');
    const stats = await r.harness.peers[0]!.stats();
    assert.equal(stats.codec, 'video/VP8');
    assert.equal(stats.encoder, 'libvpx');
    assert.equal(stats.decoder, 'vp8');
    assert.ok(stats.encodeMs !== null && stats.encodeMs > 0 && stats.encodeMs < 100, `encodeMs ${stats.encodeMs}`);
    assert.ok(stats.decodeMs !== null && stats.decodeMs > 0 && stats.decodeMs < 100, `decodeMs ${stats.decodeMs}`);
    assert.ok(stats.sendBitrateKbps !== null && stats.sendBitrateKbps > 0);
    assert.equal(r.harness.peers[0]!.connectionState, 'connected');
    const counters = (r.harness.peers[0]! as NativePeer).counters;
    assert.ok(counters.transportFeedback > 10, `transport-cc feedback on our packets: ${counters.transportFeedback}`);
    assert.ok(counters.receiverReports > 0, `receiver reports on our stream: ${counters.receiverReports}`);
    console.log(`native echo 640x360@30: frames ${r.client.framesReceived}, latency p50 ${percentile(r.latencies, 50)} ms p95 ${percentile(r.latencies, 95)} ms, encode ${stats.encodeMs} ms, decode ${stats.decodeMs} ms`);
  });

  it('with transport-cc off (RTC_TRANSPORT_CC=0) answers without it and runs on REMB and receiver reports', async () => {
    const r = await run({ transportCc: false }, 3000);
    cleanups.push(() => r.client.close(), () => r.harness.stop());
    const answer = r.harness.answers[0]!;
    assert.doesNotMatch(answer, /a=rtcp-fb:\d+ transport-cc/, 'no transport-cc feedback negotiated');
    assert.doesNotMatch(answer, /transport-wide-cc-extensions/, 'no transport-wide sequence number extension');
    assert.match(answer, /a=rtcp-fb:\d+ goog-remb/);
    assert.ok(r.client.framesReceived >= 45, `frames back: ${r.client.framesReceived}`);
    const peer = r.harness.peers[0]! as NativePeer;
    assert.equal(peer.counters.transportFeedback, 0, 'the client sends no transport-cc feedback');
    assert.equal(peer.transportForTests.transportFeedbackPackets, 0, 'the engine writes none');
    assert.ok(peer.counters.receiverReports > 0, `receiver reports on our stream: ${peer.counters.receiverReports}`);
    assert.ok((await peer.stats()).sendBitrateKbps! > 0);
  });

  it('warms werift up with a loopback connection of its own, quickly, and leaves no socket open', async () => {
    const udp = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWRAP').length;
    const before = udp();
    const t0 = performance.now();
    await warmUpWerift({ name: 'VP8', payloadType: 96, rtxPayloadType: 97, fmtp: null, profileLevelId: null });
    const ms = performance.now() - t0;
    assert.ok(ms < 2500, `the two transports connected (${ms.toFixed(0)} ms), not the 3 s timeout`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(udp(), before, 'its sockets are closed');
  });

  it('the client climbs on the engine\'s transport-cc feedback, up to the REMB cap of RTC_VIDEO_INPUT_BPP', async (t) => {
    const rates: number[] = [];
    for (const inputBitsPerPixel of [0.05, 0.12]) {
      const r = await run({ inputBitsPerPixel }, 7000);
      cleanups.push(() => r.client.close(), () => r.harness.stop());
      const peer = r.harness.peers[0]! as NativePeer;
      const outbound = async (): Promise<{ bytes: number; at: number }> => {
        let bytes = 0;
        (await r.client.pc.getStats()).forEach((s: { type?: string; kind?: string; bytesSent?: number }) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video') bytes = s.bytesSent ?? 0;
        });
        return { bytes, at: Date.now() };
      };
      const a = await outbound();
      await new Promise((res) => setTimeout(res, 2000));
      const b = await outbound();
      const kbps = ((b.bytes - a.bytes) * 8) / (b.at - a.at);
      rates.push(kbps);
      const cap = peer.inputCapKbps;
      t.diagnostic(`inputBitsPerPixel ${inputBitsPerPixel}: REMB cap ${cap} kbit/s, the client sends ${kbps.toFixed(0)} kbit/s; ${peer.transportForTests.transportFeedbackPackets} packets reported in transport-cc feedback`);
      assert.equal(cap, Math.round((W * H * 30 * inputBitsPerPixel) / 1000));
      assert.ok(kbps <= cap * 1.25, `the client keeps under the cap: ${kbps.toFixed(0)} > ${cap}`);
      assert.ok(peer.transportForTests.transportFeedbackPackets > 150, 'every packet went into the feedback');
      assert.equal(peer.transportForTests.weriftEstimatorRecords, 0, 'werift keeps no record of the packets we sent');
      r.client.close();
      await r.harness.stop();
    }
    assert.ok(rates[1]! > rates[0]! * 1.5, `a higher cap lets the client climb: ${rates.map((x) => x.toFixed(0)).join(' -> ')} kbit/s`);
  });

  it('answers the client\'s NACKs from its send history (RTX) with 3 % loss on the way out', async () => {
    const r = await run({ sendImpairment: { seed: 5, dropRatio: 0.03 } }, 6000);
    cleanups.push(() => r.client.close(), () => r.harness.stop());
    const peer = r.harness.peers[0]! as NativePeer;
    const t = peer.transportForTests;
    assert.ok(t.sendImpairmentCounters!.dropped >= 5, `packets dropped on the way out: ${t.sendImpairmentCounters!.dropped}`);
    let nacks = 0;
    for (const s of (await r.client.pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') nacks = Number(s.nackCount ?? 0);
    }
    assert.ok(nacks > 0, `the client NACKed: ${nacks}`);
    const resent = await t.retransmittedPackets();
    assert.ok(resent > 0, `werift resent from its history: ${resent}`);
    assert.ok(r.client.framesReceived >= 90, `frames back: ${r.client.framesReceived}`);
    assert.ok(r.maxGapMs < 1000, `no freeze: longest gap ${r.maxGapMs} ms`);
    console.log(`native 3 % send loss: frames ${r.client.framesReceived}, longest gap ${r.maxGapMs} ms, client NACKs ${nacks}, resent ${resent}, key frame requests ${peer.counters.keyframeRequestsReceived}`);
  });

  it('answers the client\'s key frame requests (PLI/FIR) with key frames when loss is too heavy for NACK', async () => {
    const r = await run({ sendImpairment: { seed: 9, dropRatio: 0.3 } }, 5000);
    cleanups.push(() => r.client.close(), () => r.harness.stop());
    const peer = r.harness.peers[0]! as NativePeer;
    let keyFramesDecoded = 0;
    for (const s of (await r.client.pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') keyFramesDecoded = Number(s.keyFramesDecoded ?? 0);
    }
    assert.ok(peer.counters.keyframeRequestsReceived > 0, 'the client asked for key frames');
    assert.ok(keyFramesDecoded >= 2, `key frames the client decoded: ${keyFramesDecoded}`);
    console.log(`native 30 % send loss: key frame requests ${peer.counters.keyframeRequestsReceived}, client key frames decoded ${keyFramesDecoded}, frames back ${r.client.framesReceived}`);
  });

  for (const dropRatio of [0.02, 0.05]) {
    it(`recovers from ${dropRatio * 100} % loss with reorder and duplicates (NACK/PLI, no freeze over 1 s)`, async () => {
      const r = await run({ impairment: { seed: 7, dropRatio, reorderRatio: 0.02, duplicateRatio: 0.01 } }, 8000);
      cleanups.push(() => r.client.close(), () => r.harness.stop());
      const peer = r.harness.peers[0]! as NativePeer;
      const imp = peer.impairmentCounters!;
      assert.ok(imp.dropped >= 3, `packets dropped by the impairment: ${imp.dropped}`);
      const c = peer.buffer.counters;
      assert.ok(c.recovered > 0, `lost packets recovered by NACK: ${c.recovered} of ${c.gaps}`);
      // a copy that arrives after its frame left counts as late, one that arrives before as a duplicate
      assert.ok(imp.duplicated === 0 || c.duplicates + c.late > 0, 'duplicates seen and ignored');
      assert.ok(r.client.framesReceived >= 90, `frames back: ${r.client.framesReceived}`);
      assert.ok(r.maxGapMs < 1000, `no freeze: longest gap ${r.maxGapMs} ms`);
      assert.ok(r.stamped >= 30, `stamped frames: ${r.stamped}`);
      const stats = await peer.stats();
      assert.ok(stats.lossRatio !== null && stats.lossRatio > dropRatio / 3, `loss ratio seen: ${stats.lossRatio}`);
      console.log(`native ${dropRatio * 100} % loss: frames ${r.client.framesReceived}, longest gap ${r.maxGapMs} ms, latency p95 ${percentile(r.latencies, 95)} ms, gaps ${c.gaps} recovered ${c.recovered} lost frames ${c.framesLost} PLIs ${peer.counters.plisSent}`, JSON.stringify(peer.counters), JSON.stringify(c), JSON.stringify(imp));
    });
  }
});
