/**
 * The native engine's codec path without a network: real FFmpeg encoders (libvpx, libx264) ->
 * packetizer -> reordered packets -> receive buffer -> depacketizer -> real decoders, with the
 * frame stamps readable at the end; key frames on request; the codec choice follows the offer's
 * order; an H264-first offer is answered with H264 and the client's payload type and fmtp.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readStamp, writeStamp } from '../../src/loadgen/stamp.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { BitrateController } from '../../src/media/engines/native/bitrate-controller.js';
import { DelayBasedEstimator, type FeedbackResult } from '../../src/media/engines/native/delay-estimator.js';
import { VideoDecoder, VideoEncoder, encoderThreads } from '../../src/media/engines/native/ffmpeg.js';
import { Impairment } from '../../src/media/engines/native/impairment.js';
import { createNativeEngine } from '../../src/media/engines/native/index.js';
import { selectVideoCodec, type NativeCodecName } from '../../src/media/engines/native/offer-codecs.js';
import { ReceiveBuffer, type IncomingRtp } from '../../src/media/engines/native/receive-buffer.js';
import type { RtpDepacketizer, RtpPacketizer } from '../../src/media/engines/native/rtp/codec-payload.js';
import { H264Depacketizer, H264Packetizer } from '../../src/media/engines/native/rtp/h264.js';
import { Vp8Depacketizer, Vp8Packetizer } from '../../src/media/engines/native/rtp/vp8.js';
import { NegotiationError } from '../../src/media/engine.js';

const W = 640;
const H = 360;

/** A client offer as libwebrtc writes it, with the video payload types given (rtpmap/fmtp lines). */
function offer(video: Array<{ pt: number; name: string; fmtp?: string }>): string {
  const pts = video.map((v) => v.pt).join(' ');
  const lines = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS',
    `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`, 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=ice-options:trickle',
    'a=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC',
    'a=setup:actpass', 'a=mid:0',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
    'a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv', 'a=msid:- t1', 'a=rtcp-mux', 'a=rtcp-rsize',
  ];
  for (const v of video) {
    lines.push(`a=rtpmap:${v.pt} ${v.name}/90000`);
    if (v.name !== 'rtx') for (const fb of ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']) lines.push(`a=rtcp-fb:${v.pt} ${fb}`);
    if (v.fmtp) lines.push(`a=fmtp:${v.pt} ${v.fmtp}`);
  }
  lines.push('a=ssrc-group:FID 11 12', 'a=ssrc:11 cname:x', 'a=ssrc:12 cname:x',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC',
    'a=setup:actpass', 'a=mid:1', 'a=sctp-port:5000', 'a=max-message-size:262144');
  return lines.join('\r\n') + '\r\n';
}

const H264_CB = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

describe('codec choice from the offer', () => {
  it('takes the first offered supported codec, with its RTX', () => {
    assert.deepEqual(selectVideoCodec(offer([{ pt: 96, name: 'VP8' }, { pt: 97, name: 'rtx', fmtp: 'apt=96' }, { pt: 102, name: 'H264', fmtp: H264_CB }])),
      { name: 'VP8', payloadType: 96, rtxPayloadType: 97, fmtp: null, profileLevelId: null });
    const h = selectVideoCodec(offer([{ pt: 39, name: 'AV1' }, { pt: 102, name: 'H264', fmtp: H264_CB }, { pt: 103, name: 'rtx', fmtp: 'apt=102' }, { pt: 96, name: 'VP8' }]))!;
    assert.equal(h.name, 'H264');
    assert.equal(h.payloadType, 102);
    assert.equal(h.rtxPayloadType, 103);
    assert.equal(h.profileLevelId, '42e01f');
  });

  it('skips H264 without packetization-mode=1 or with a non-baseline profile', () => {
    const c = selectVideoCodec(offer([
      { pt: 100, name: 'H264', fmtp: 'packetization-mode=0;profile-level-id=42e01f' },
      { pt: 101, name: 'H264', fmtp: 'packetization-mode=1;profile-level-id=640032' },
      { pt: 96, name: 'VP8' },
    ]))!;
    assert.equal(c.name, 'VP8');
    assert.equal(selectVideoCodec(offer([{ pt: 98, name: 'VP9' }])), null);
    assert.equal(selectVideoCodec('v=0\r\n'), null);
  });

  it('the engine answers an H264-first offer with H264 only, and refuses an offer without a codec it has', async () => {
    const engine = createNativeEngine({ additionalHostAddresses: ['127.0.0.1'] });
    const events = { onFrame: () => undefined, onChannel: () => undefined, onConnectionState: () => undefined };
    const { sdp, peer } = await engine.answer(offer([{ pt: 102, name: 'H264', fmtp: H264_CB }, { pt: 103, name: 'rtx', fmtp: 'apt=102' }, { pt: 96, name: 'VP8' }]),
      { iceServers: [], iceGatheringTimeoutMs: 2000 }, events);
    try {
      assert.match(sdp, /a=rtpmap:102 H264\/90000/);
      assert.match(sdp, /a=fmtp:102 .*packetization-mode=1/);
      assert.match(sdp, /a=fmtp:103 apt=102/);
      assert.doesNotMatch(sdp, /VP8/);
      assert.match(sdp, /a=extmap:5 http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/playout-delay/);
      assert.equal((await peer.stats()).codec, 'video/H264');
    } finally {
      peer.close();
    }
    await assert.rejects(engine.answer(offer([{ pt: 98, name: 'VP9' }]), { iceServers: [], iceGatheringTimeoutMs: 500 }, events), NegotiationError);
    const ranged = await engine.answer(offer([{ pt: 96, name: 'VP8' }]), { iceServers: [], iceGatheringTimeoutMs: 2000, portRange: { min: 47100, max: 47120 } }, events);
    try {
      const ports = [...ranged.sdp.matchAll(/a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host/g)].map((m) => Number(m[1]));
      assert.ok(ports.length > 0 && ports.every((p) => p >= 47100 && p <= 47120), `host candidate ports in the range: ${ports.join(',')}`);
    } finally {
      ranged.peer.close();
    }
  });
});

async function roundTrip(codec: NativeCodecName, packetizer: RtpPacketizer, depacketizer: RtpDepacketizer): Promise<void> {
  const enc = await VideoEncoder.open({ codec, width: W, height: H, bitrateKbps: 1200, keyframeInterval: 75, vp8CpuUsed: 12, hardware: false, h264Level: 31 });
  const dec = await VideoDecoder.open(codec, false);
  assert.equal(enc.name, codec === 'VP8' ? 'libvpx' : 'libx264');
  assert.equal(dec.name, codec === 'VP8' ? 'vp8' : 'h264');
  const buffer = new ReceiveBuffer(depacketizer);
  const shuffle = new Impairment<IncomingRtp>({ seed: 3, reorderRatio: 0.1, duplicateRatio: 0.05 });
  const video = new SyntheticVideo(W, H);
  let seq = 60000;
  let stamps = 0;
  let keyframes = 0;
  try {
    for (let n = 0; n < 45; n++) {
      const frame = video.render(n);
      writeStamp(frame, W, H, { frameNumber: n, sendTimeMs: 1000 + n });
      const packets = await enc.encode(frame, n * 3000, n === 30);
      for (const p of packets) {
        if (p.keyframe) keyframes++;
        const payloads = packetizer.packetize(p.data, p.keyframe);
        for (const [k, payload] of payloads.entries()) {
          for (const rtp of shuffle.apply({ sequenceNumber: seq++ & 0xffff, timestamp: n * 3000, marker: k === payloads.length - 1, payload })) {
            for (const f of buffer.push(rtp, n).frames) {
              for (const img of await dec.decode(f.data)) {
                assert.equal(img.width, W);
                assert.equal(img.data.length, W * H * 1.5);
                const s = readStamp(img.data, W, H);
                if (s) stamps++;
              }
            }
          }
        }
      }
    }
  } finally {
    enc.close();
    dec.close();
  }
  assert.equal(keyframes, 2, 'the first frame and the requested one are key frames');
  assert.ok(buffer.counters.framesComplete >= 40, `frames through the buffer: ${buffer.counters.framesComplete}`);
  assert.ok(stamps >= 38, `stamps read after the round trip: ${stamps}`);
  assert.equal(buffer.counters.malformed, 0);
}

describe('codec round trip through the RTP processors', () => {
  it('VP8: libvpx -> RFC 7741 -> reorder -> vp8 decoder, stamps intact', async () => {
    await roundTrip('VP8', new Vp8Packetizer(), new Vp8Depacketizer());
  });
  it('H264: libx264 (baseline) -> RFC 6184 -> reorder -> h264 decoder, stamps intact', async () => {
    await roundTrip('H264', new H264Packetizer(), new H264Depacketizer());
  });
  it('sizes encoder threads by frame size, within the cores', () => {
    assert.equal(encoderThreads(640, 360, 8), 1);
    assert.equal(encoderThreads(1280, 720, 8), 3);
    assert.equal(encoderThreads(1920, 1080, 2), 2);
  });
});

describe('bitrate control and impairment', () => {
  it('follows receiver reports and REMB within the bounds; reopens libvpx only on settled large changes', () => {
    const b = new BitrateController({ minKbps: 200, maxKbps: 2000, startKbps: 1000 }, false);
    assert.equal(b.decide(0), null, 'no feedback, no change');
    for (let i = 0; i < 10; i++) b.onReceiverReport(0);
    assert.equal(b.targetKbps, 2000, 'clamped to max');
    assert.equal(b.decide(10_000), null, 'a large change must hold for a second');
    assert.equal(b.decide(11_100), 2000);
    b.onRemb(300_000);
    assert.equal(b.decide(11_500), null, 'at most one change a second');
    assert.equal(b.decide(12_200), 300, 'a drop below half applies without waiting for it to settle');
    b.onRemb(50_000);
    assert.equal(b.targetKbps, 200, 'clamped to min');
    const live = new BitrateController({ minKbps: 200, maxKbps: 2000, startKbps: 1000 }, true);
    live.onReceiverReport(0.5);
    assert.equal(live.decide(1000), 750, 'heavy loss cuts by half the loss ratio');
  });

  it('is deterministic for a seed and does what its ratios say', () => {
    const run = (): number[] => {
      const imp = new Impairment<number>({ seed: 42, dropRatio: 0.05, reorderRatio: 0.05, duplicateRatio: 0.05 });
      return Array.from({ length: 2000 }, (_, i) => imp.apply(i)).flat();
    };
    const a = run();
    assert.deepEqual(a, run());
    const imp = new Impairment<number>({ seed: 42, dropRatio: 0.05, reorderRatio: 0.05, duplicateRatio: 0.05 });
    for (let i = 0; i < 2000; i++) imp.apply(i);
    for (const k of ['dropped', 'reordered', 'duplicated'] as const) assert.ok(Math.abs(imp.counters[k] - 100) < 40, `${k}: ${imp.counters[k]}`);
    assert.throws(() => new Impairment({ seed: 1, dropRatio: 2 }), RangeError);
  });
});

describe('delay-based estimate from transport-cc feedback', () => {
  /** Send at `sendKbps` for `ms` through a bottleneck of `linkKbps` (a FIFO queue), feedback every 100 ms. */
  function simulate(e: DelayBasedEstimator, sendKbps: number, linkKbps: number, ms: number): number[] {
    const size = 1200;
    const interval = (size * 8) / sendKbps; // ms between packets
    let seq = 0;
    let linkFree = 0;
    const pending: FeedbackResult[] = [];
    const estimates: number[] = [];
    for (let t = 0; t < ms; t += interval) {
      e.onPacketSent(seq, size, t);
      const arrival = Math.max(t + 10, linkFree) + (size * 8) / linkKbps;
      linkFree = arrival;
      pending.push({ sequenceNumber: seq, received: true, receivedAtMs: arrival });
      seq = (seq + 1) & 0xffff;
      if (pending.length > 0 && t % 100 < interval) {
        estimates.push(e.onFeedback(pending.splice(0), t));
      }
    }
    return estimates;
  }

  it('grows while delay stays flat, never past 1.5x what arrived', () => {
    const e = new DelayBasedEstimator(500, 100, 5000);
    const est = simulate(e, 1000, 100_000, 4000);
    assert.equal(e.usage, 'normal');
    assert.ok(est[est.length - 1]! > 500, `grew: ${est[est.length - 1]}`);
    assert.ok(est[est.length - 1]! <= 1.5 * 1000 + 20, `capped by the received rate: ${est[est.length - 1]}`);
  });

  it('detects a queue building up and drops below the link rate', () => {
    const e = new DelayBasedEstimator(1000, 100, 5000);
    const est = simulate(e, 1000, 600, 3000);
    assert.equal(e.usage, 'overuse');
    assert.ok(est[est.length - 1]! < 600, `below the 600 kbit/s link: ${est[est.length - 1]}`);
    assert.ok(est[est.length - 1]! >= 100);
  });

  it('ignores feedback for packets it never sent, and stays bounded', () => {
    const e = new DelayBasedEstimator(500, 100, 5000);
    assert.equal(e.onFeedback([{ sequenceNumber: 7, received: true, receivedAtMs: 1 }], 0), 500);
    for (let i = 0; i < 10_000; i++) e.onPacketSent(i, 100, i);
    assert.equal(e.ackedKbps(), null);
  });
});
