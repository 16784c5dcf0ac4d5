/**
 * The native engine's codec path without a network: real FFmpeg encoders (libvpx, libx264) ->
 * packetizer -> reordered packets -> receive buffer -> depacketizer -> real decoders, with the
 * frame stamps readable at the end; key frames on request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readStamp, writeStamp } from '../../../../src/loadgen/stamp.js';
import { SyntheticVideo } from '../../../../src/loadgen/synthetic-video.js';
import { VideoDecoder, VideoEncoder, encoderThreads, vp8CpuUsedFor } from '../../../../src/media/engines/native/codecs/ffmpeg.js';
import { MEDIA_SETTINGS } from '../../../../src/media/media-settings.js';
import { Impairment } from '../../../../src/media/engines/native/transport/impairment.js';
import type { NativeCodecName } from '../../../../src/media/engines/native/stack-types.js';
import { ReceiveBuffer } from '../../../../src/media/engines/native/receive/receive-buffer.js';
import type { IncomingRtp } from '../../../../src/media/engines/native/stack-types.js';
import type { RtpDepacketizer, RtpPacketizer } from '../../../../src/media/engines/native/payload/codec-payload.js';
import { H264Depacketizer, H264Packetizer } from '../../../../src/media/engines/native/payload/h264.js';
import { Vp8Depacketizer, Vp8Packetizer } from '../../../../src/media/engines/native/payload/vp8.js';

const W = 640;
const H = 360;

async function roundTrip(codec: NativeCodecName, packetizer: RtpPacketizer, depacketizer: RtpDepacketizer): Promise<void> {
  const enc = await VideoEncoder.open({ codec, width: W, height: H, bitrateKbps: 1200, keyframeInterval: 75, vp8CpuUsed: MEDIA_SETTINGS.vp8CpuUsed.default, hardware: false, h264Level: 31 });
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
  it('sizes encoder threads by frame size, within the cores; libvpx VP8 keeps one thread up to 1080p', () => {
    assert.equal(encoderThreads('H264', 640, 360, 8), 1);
    assert.equal(encoderThreads('H264', 1280, 720, 8), 3);
    assert.equal(encoderThreads('H264', 1920, 1080, 2), 2);
    assert.equal(encoderThreads('VP8', 1280, 720, 8), 1);
    assert.equal(encoderThreads('VP8', 1920, 1080, 8), 1);
    assert.equal(encoderThreads('VP8', 3840, 2160, 8), 4);
    assert.equal(encoderThreads('VP8', 3840, 2160, 2), 2);
  });
  it('gives libvpx a time budget by frame size when cpu-used is 0 (the default), and any other value as set', () => {
    assert.equal(MEDIA_SETTINGS.vp8CpuUsed.default, 0);
    assert.equal(vp8CpuUsedFor(0, 640, 360), 15);
    assert.equal(vp8CpuUsedFor(0, 640, 480), 15);
    assert.equal(vp8CpuUsedFor(0, 1280, 720), 13);
    assert.equal(vp8CpuUsedFor(0, 1920, 1080), 12);
    assert.equal(vp8CpuUsedFor(-6, 640, 360), -6);
    assert.equal(vp8CpuUsedFor(12, 1280, 720), 12);
  });
});
