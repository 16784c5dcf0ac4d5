/**
 * frame-size.ts: the size a VP8 key frame header or an H264 SPS claims, read from frames that
 * libvpx and libx264 really encode (cropping included), a lying header read as the lie, and any
 * bytes read without a throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VideoEncoder } from '../../../../src/media/engines/native/codecs/ffmpeg.js';
import { claimedFrameSize, h264FrameSize, vp8FrameSize } from '../../../../src/media/engines/native/codecs/frame-size.js';
import type { NativeCodecName } from '../../../../src/media/engines/native/stack-types.js';
import { SyntheticVideo } from '../../../../src/loadgen/synthetic-video.js';

async function keyframe(codec: NativeCodecName, width: number, height: number): Promise<Buffer> {
  const enc = await VideoEncoder.open({ codec, width, height, bitrateKbps: 800, keyframeInterval: 75, vp8CpuUsed: 12, hardware: false, h264Level: 31 });
  try {
    const video = new SyntheticVideo(width, height);
    for (let n = 0; n < 5; n++) {
      for (const p of await enc.encode(video.render(n), n * 3000, n === 0)) if (p.keyframe) return p.data;
    }
    throw new Error('no key frame');
  } finally {
    enc.close();
  }
}

describe('claimed frame size', () => {
  for (const [w, h] of [[640, 360], [320, 240], [1280, 720]] as const) {
    it(`reads ${w}x${h} from real VP8 and H264 key frames`, async () => {
      assert.deepEqual(claimedFrameSize('VP8', await keyframe('VP8', w, h)), { width: w, height: h });
      assert.deepEqual(claimedFrameSize('H264', await keyframe('H264', w, h)), { width: w, height: h });
    });
  }

  it('reads a VP8 key frame header that claims 16383x16383 as such; a delta frame says nothing', async () => {
    const frame = Buffer.from(await keyframe('VP8', 320, 240));
    frame.writeUInt16LE(0x3fff, 6);
    frame.writeUInt16LE(0x3fff, 8);
    assert.deepEqual(vp8FrameSize(frame), { width: 16383, height: 16383 });
    const delta = Buffer.from(frame);
    delta[0]! |= 1;
    assert.equal(vp8FrameSize(delta), null);
  });

  it('reads a lying H264 SPS (a huge pic_width_in_mbs) as huge, and an unreadable one as unbounded', () => {
    // baseline SPS: profile 66, level 31, id 0, log2_max_frame_num-4 = 0, poc type 2, 1 ref frame,
    // width 1000 MBs (16000 px), height 1000 map units, frame_mbs_only, no cropping
    const ue999 = '000000000' + '1111101000';
    const bits = '1' + '1' + '011' + '010' + '0' + ue999 + ue999 + '1' + '1' + '0' + '0';
    const sps = Buffer.from([0x67, 66, 0, 31, ...bitsToBytes(bits)]);
    const s = h264FrameSize(Buffer.concat([Buffer.from([0, 0, 0, 1]), sps]));
    assert.deepEqual(s, { width: 16000, height: 16000 });
    const garbage = Buffer.from([0, 0, 0, 1, 0x67, 66, 0, 31, 0, 0, 0, 0]);
    assert.equal(h264FrameSize(garbage)?.width, Infinity);
  });

  it('never throws on any bytes (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      const buf = Buffer.from(b);
      vp8FrameSize(buf);
      h264FrameSize(Buffer.concat([Buffer.from([0, 0, 1, 0x67]), buf]));
    }), { numRuns: 2000, seed: 31 });
  });
});

function bitsToBytes(bits: string): number[] {
  const padded = bits + '1' + '0'.repeat((8 - ((bits.length + 1) % 8)) % 8); // rbsp stop bit
  const out: number[] = [];
  for (let i = 0; i < padded.length; i += 8) out.push(parseInt(padded.slice(i, i + 8), 2));
  return out;
}
