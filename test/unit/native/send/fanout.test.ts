/**
 * The native engine's one-encode fan-out (WHEP): a SharedEncoder runs a real FFmpeg encoder once
 * per frame and sends the same payloads to every RtpSendStream, each with its own sequence
 * numbers; a stream that joins or comes up late starts at a key frame; no stream means no encode;
 * the weakest receiver's estimate sets the bitrate. The transports are in-memory recorders, so the
 * test reads exactly what each stream would put on the wire.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyntheticVideo } from '../../../../src/loadgen/synthetic-video.js';
import { DEFAULT_BITRATE } from '../../../../src/media/engines/native/congestion/bitrate-controller.js';
import type { NativeCodecName, RtpSender, SelectedCodec } from '../../../../src/media/engines/native/stack-types.js';
import { RtpSendStream } from '../../../../src/media/engines/native/send/rtp-send-stream.js';
import type { RtpDepacketizer } from '../../../../src/media/engines/native/payload/codec-payload.js';
import { H264Depacketizer } from '../../../../src/media/engines/native/payload/h264.js';
import { Vp8Depacketizer } from '../../../../src/media/engines/native/payload/vp8.js';
import { ENCODE_QUEUE_MAX, encoderKey, SharedEncoder } from '../../../../src/media/engines/native/send/shared-encoder.js';
import { VideoDecoder } from '../../../../src/media/engines/native/codecs/ffmpeg.js';
import { readStamp, writeStamp } from '../../../../src/loadgen/stamp.js';

const W = 640;
const H = 360;

interface SentPacket {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

/** A transport that records what it would send. */
class RecordingTransport implements RtpSender {
  readonly sent: SentPacket[] = [];
  readonly transportCc = false;
  isSending = true;

  sendRtp(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): number | null {
    this.sent.push({ sequenceNumber, timestamp, marker, payload });
    return null;
  }
}

function codecOf(name: NativeCodecName): SelectedCodec {
  return name === 'VP8'
    ? { name, payloadType: 96, rtxPayloadType: null, fmtp: null, profileLevelId: null }
    : { name, payloadType: 102, rtxPayloadType: null, fmtp: 'packetization-mode=1;profile-level-id=42e01f', profileLevelId: '42e01f' };
}

function depacketizer(name: NativeCodecName): RtpDepacketizer {
  return name === 'VP8' ? new Vp8Depacketizer() : new H264Depacketizer();
}

const OPTIONS = { keyframeIntervalMs: 60000, vp8CpuUsed: 12, hardware: false };

/** Offer frames one at a time, each after the previous one came out of the encoder. */
async function encodeFrames(enc: SharedEncoder, video: SyntheticVideo, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) {
    const before = enc.counters.framesEncoded + enc.counters.encodeErrors;
    enc.offer({ width: W, height: H, data: video.render(n) });
    const deadline = Date.now() + 5000;
    while (enc.counters.framesEncoded + enc.counters.encodeErrors === before) {
      if (Date.now() > deadline) throw new Error(`frame ${n} was not encoded within 5 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  assert.equal(enc.counters.encodeErrors, 0);
}

/** Whether the first packet a transport sent begins a key frame. */
function startsWithKeyframe(t: RecordingTransport, codec: NativeCodecName): boolean {
  const first = t.sent[0];
  assert.ok(first, 'the stream sent something');
  const info = depacketizer(codec).inspect(first.payload);
  return info !== null && info.frameStart && info.keyframe;
}

function consecutive(t: RecordingTransport): boolean {
  return t.sent.every((p, i) => i === 0 || p.sequenceNumber === ((t.sent[i - 1]!.sequenceNumber + 1) & 0xffff));
}

for (const codec of ['VP8', 'H264'] as const) {
  describe(`SharedEncoder on ${codec}`, () => {
    it('encodes each frame once and sends the same payloads to every stream, each with its own sequence numbers', async () => {
      const enc = new SharedEncoder(codecOf(codec), OPTIONS, DEFAULT_BITRATE.startKbps);
      const transports = [new RecordingTransport(), new RecordingTransport(), new RecordingTransport()];
      for (const t of transports) enc.addStream(new RtpSendStream(t, DEFAULT_BITRATE));
      try {
        await encodeFrames(enc, new SyntheticVideo(W, H), 0, 20);
        assert.equal(enc.counters.framesEncoded, 20, 'one encode per frame for three streams');
        const [a, b, c] = transports as [RecordingTransport, RecordingTransport, RecordingTransport];
        assert.ok(a.sent.length >= 20, `${a.sent.length} packets`);
        for (const t of [b, c]) {
          assert.equal(t.sent.length, a.sent.length);
          t.sent.forEach((p, i) => {
            assert.ok(p.payload === a.sent[i]!.payload, 'the payload is packetized once and shared');
            assert.equal(p.timestamp, a.sent[i]!.timestamp);
            assert.equal(p.marker, a.sent[i]!.marker);
          });
        }
        for (const t of transports) assert.ok(consecutive(t), 'each stream numbers its packets without gaps');
        assert.equal(a.sent.filter((p) => p.marker).length, 20, 'one marker per frame');
        assert.ok(startsWithKeyframe(a, codec));
      } finally {
        enc.close();
      }
    });

    it('a stream that joins later, or whose transport comes up late, starts at a key frame', async () => {
      const enc = new SharedEncoder(codecOf(codec), OPTIONS, DEFAULT_BITRATE.startKbps);
      const video = new SyntheticVideo(W, H);
      const first = new RecordingTransport();
      enc.addStream(new RtpSendStream(first, DEFAULT_BITRATE));
      try {
        await encodeFrames(enc, video, 0, 10);
        const forcedBefore = enc.counters.keyframesForced;
        const late = new RecordingTransport();
        const lateStream = new RtpSendStream(late, DEFAULT_BITRATE);
        enc.addStream(lateStream);
        // The join's key frame may wait out the 200 ms rate limit; delta frames until then are skipped.
        await new Promise((r) => setTimeout(r, 250));
        await encodeFrames(enc, video, 10, 5);
        assert.ok(enc.counters.keyframesForced > forcedBefore, 'the join forced a key frame');
        assert.ok(startsWithKeyframe(late, codec), 'the late stream starts at a key frame');
        assert.ok(consecutive(first), 'the first stream is not disturbed');

        const down = new RecordingTransport();
        down.isSending = false;
        const downStream = new RtpSendStream(down, DEFAULT_BITRATE);
        enc.addStream(downStream);
        await encodeFrames(enc, video, 15, 5);
        assert.equal(down.sent.length, 0, 'nothing is sent before the transport is up');
        down.isSending = true;
        downStream.connected();
        await new Promise((r) => setTimeout(r, 250));
        await encodeFrames(enc, video, 20, 3);
        assert.ok(startsWithKeyframe(down, codec), 'the stream that came up starts at a key frame');

        enc.removeStream(lateStream);
        const lateCount = late.sent.length;
        await encodeFrames(enc, video, 23, 3);
        assert.equal(late.sent.length, lateCount, 'a removed stream gets nothing');
        assert.equal(enc.streamCount, 2);
      } finally {
        enc.close();
      }
    });
  });
}

describe('SharedEncoder', () => {
  it('does not encode while no stream takes its codec', () => {
    const enc = new SharedEncoder(codecOf('VP8'), OPTIONS, DEFAULT_BITRATE.startKbps);
    const video = new SyntheticVideo(W, H);
    for (let n = 0; n < 5; n++) enc.offer({ width: W, height: H, data: video.render(n) });
    assert.equal(enc.counters.framesWithoutStreams, 5);
    assert.equal(enc.counters.framesEncoded, 0);
    assert.equal(enc.encoderName, null, 'no codec was opened');
    enc.close();
  });

  it('runs at the lowest estimate of its streams, and rises when the weakest leaves', async () => {
    const enc = new SharedEncoder(codecOf('H264'), OPTIONS, DEFAULT_BITRATE.startKbps);
    const strong = new RtpSendStream(new RecordingTransport(), DEFAULT_BITRATE);
    const weak = new RtpSendStream(new RecordingTransport(), DEFAULT_BITRATE);
    enc.addStream(strong);
    enc.addStream(weak);
    try {
      await encodeFrames(enc, new SyntheticVideo(W, H), 0, 2);
      assert.equal(enc.sendBitrateKbps, DEFAULT_BITRATE.startKbps);
      weak.onRemb(300_000);
      strong.onRemb(1_500_000);
      enc.tick(performance.now());
      assert.equal(enc.sendBitrateKbps, 300, 'the weakest receiver sets the bitrate');
      enc.removeStream(weak);
      assert.equal(enc.sendBitrateKbps, strong.bitrate.currentKbps, 'back to the remaining stream');
      assert.ok(enc.sendBitrateKbps > 300);
    } finally {
      enc.close();
    }
  });

  it(`keeps up to ${ENCODE_QUEUE_MAX} frames waiting behind a busy encoder, in order, and drops the oldest past that`, async () => {
    const enc = new SharedEncoder(codecOf('VP8'), OPTIONS, DEFAULT_BITRATE.startKbps);
    const t = new RecordingTransport();
    enc.addStream(new RtpSendStream(t, DEFAULT_BITRATE));
    const video = new SyntheticVideo(W, H);
    const offered = ENCODE_QUEUE_MAX + 3;
    try {
      // all offered at once: frame 0 goes to the encoder, the rest wait, and the two oldest waiting are dropped
      for (let n = 0; n < offered; n++) {
        const data = video.render(n);
        writeStamp(data, W, H, { frameNumber: n, sendTimeMs: 0 });
        enc.offer({ width: W, height: H, data });
      }
      const deadline = Date.now() + 5000;
      while (enc.counters.framesEncoded + enc.counters.encodeErrors < offered - 2) {
        if (Date.now() > deadline) throw new Error('frames were not encoded within 5 s');
        await new Promise((r) => setTimeout(r, 2));
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(enc.counters.encodeErrors, 0);
      assert.equal(enc.counters.framesReplaced, 2);
      assert.equal(enc.counters.framesEncoded, offered - 2);
      // decode what went out (VP8 payload descriptor: 4 bytes) and read each frame's stamp
      const dec = await VideoDecoder.open('VP8', false);
      const numbers: number[] = [];
      try {
        let parts: Buffer[] = [];
        for (const p of t.sent) {
          parts.push(p.payload.subarray(4));
          if (!p.marker) continue;
          for (const f of await dec.decode(Buffer.concat(parts))) numbers.push(readStamp(f.data, f.width, f.height)?.frameNumber ?? -1);
          parts = [];
        }
      } finally {
        dec.close();
      }
      assert.deepEqual(numbers, [0, ...Array.from({ length: ENCODE_QUEUE_MAX }, (_, i) => i + 3)], 'the first frame, then the newest ones in order');
    } finally {
      enc.close();
    }
  });

  it('keys H264 encoders by level, so viewers of one level share one', () => {
    assert.equal(encoderKey(codecOf('VP8')), 'VP8');
    assert.equal(encoderKey(codecOf('H264')), 'H264/1f');
    assert.equal(encoderKey({ ...codecOf('H264'), profileLevelId: '42001f' }), 'H264/1f');
    assert.equal(encoderKey({ ...codecOf('H264'), profileLevelId: '42e028' }), 'H264/28');
  });
});
