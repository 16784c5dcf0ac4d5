/**
 * One codec run as the native engine does it, for the profile tools (codec-cost.ts, vp8-speed.ts):
 * the load generator's synthetic video at 30 fps in real time (libvpx's positive cpu-used picks
 * its speed from the time left before the next frame, so the frames must come at their pace), the
 * engine's encoder settings (codecs/ffmpeg.ts), each encoded frame decoded again and compared with
 * its input (PSNR of Y). CPU is the process's (every thread: libvpx and libx264 run their own).
 */
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { VideoDecoder, VideoEncoder } from '../../src/media/engines/native/codecs/ffmpeg.js';
import type { NativeCodecName } from '../../src/media/engines/native/stack-types.js';

/** What to run. */
export interface CodecRunOptions {
  codec: NativeCodecName;
  width: number;
  height: number;
  seconds: number;
  kbps: number;
  /** Frames between key frames. */
  gop: number;
  vp8CpuUsed: number;
  /** Encoder threads (default: the engine's rule). */
  threads?: number;
}

/** What one run cost and gave. */
export interface CodecRunResult {
  encoder: string;
  /** CPU per frame, all threads, ms. */
  encodeMs: number;
  decodeMs: number;
  psnr: number;
  kbpsOut: number;
}

/** PSNR of the Y plane of `b` against `a` (99 when equal). */
export function psnrY(a: Uint8Array, b: Uint8Array, pixels: number): number {
  let se = 0;
  for (let i = 0; i < pixels; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  const mse = se / pixels;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

/** Encode and decode `seconds` of synthetic video at 30 fps, in real time. */
export async function runCodec(o: CodecRunOptions): Promise<CodecRunResult> {
  const { codec, width, height } = o;
  const video = new SyntheticVideo(width, height, 1);
  const enc = await VideoEncoder.open({
    codec, width, height, bitrateKbps: o.kbps, keyframeInterval: o.gop, vp8CpuUsed: o.vp8CpuUsed, hardware: false,
    // the level the load generator's H264 offer (42e01f) asks for: 3.1
    h264Level: codec === 'H264' ? 31 : null,
    ...(o.threads ? { threads: o.threads } : {}),
  });
  const dec = await VideoDecoder.open(codec, false);
  const frames = Math.round(o.seconds * 30);
  const input = new Uint8Array(video.data.length);
  let psnr = 0;
  let decoded = 0;
  let bytes = 0;
  let encodeUs = 0;
  let decodeUs = 0;
  const start = performance.now();
  try {
    for (let n = 0; n < frames; n++) {
      const wait = start + (n * 1000) / 30 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      video.render(n);
      input.set(video.data);
      const e0 = process.cpuUsage();
      const packets = await enc.encode(input, n * 3000, false);
      const e = process.cpuUsage(e0);
      encodeUs += e.user + e.system;
      for (const p of packets) {
        bytes += p.data.length;
        const d0 = process.cpuUsage();
        const out = await dec.decode(p.data);
        const d = process.cpuUsage(d0);
        decodeUs += d.user + d.system;
        for (const f of out) {
          psnr += psnrY(f.data, input, width * height);
          decoded++;
        }
      }
    }
    return {
      encoder: enc.name, encodeMs: encodeUs / 1000 / frames, decodeMs: decodeUs / 1000 / Math.max(1, decoded),
      psnr: psnr / Math.max(1, decoded), kbpsOut: (bytes * 8) / o.seconds / 1000,
    };
  } finally {
    enc.close();
    dec.close();
  }
}
