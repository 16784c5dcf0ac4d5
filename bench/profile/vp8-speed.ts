/**
 * libvpx VP8 speed (cpu-used) against cost and quality, as the native engine runs it: the load
 * generator's synthetic video at 30 fps in real time (libvpx's positive cpu-used picks its speed
 * from the time left before the next frame), the engine's encoder settings, each frame decoded
 * again and compared with the input (PSNR of Y). CPU is the process's (every thread), per frame.
 *
 * Usage: node dist/bench/profile/vp8-speed.js [WxH] [seconds] [kbps] [cpu-used,...] [key frame every N frames, default 75] [threads, default the engine's]
 */
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { VideoDecoder, VideoEncoder } from '../../src/media/engines/native/codecs/ffmpeg.js';

function psnrY(a: Uint8Array, b: Uint8Array, pixels: number): number {
  let se = 0;
  for (let i = 0; i < pixels; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  const mse = se / pixels;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

async function run(width: number, height: number, seconds: number, kbps: number, cpuUsed: number, gop: number, threads: number | undefined): Promise<string> {
  const video = new SyntheticVideo(width, height, 1);
  const enc = await VideoEncoder.open({ codec: 'VP8', width, height, bitrateKbps: kbps, keyframeInterval: gop, vp8CpuUsed: cpuUsed, hardware: false, h264Level: null, ...(threads ? { threads } : {}) });
  const dec = await VideoDecoder.open('VP8', false);
  const frames = seconds * 30;
  const input = new Uint8Array(video.data.length);
  let psnr = 0;
  let decoded = 0;
  let bytes = 0;
  let encodeCpuUs = 0;
  const start = performance.now();
  for (let n = 0; n < frames; n++) {
    const due = start + (n * 1000) / 30;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    video.render(n);
    input.set(video.data);
    const c0 = process.cpuUsage();
    const packets = await enc.encode(input, n * 3000, false);
    const c = process.cpuUsage(c0);
    encodeCpuUs += c.user + c.system;
    for (const p of packets) {
      bytes += p.data.length;
      for (const f of await dec.decode(p.data)) {
        psnr += psnrY(f.data, input, width * height);
        decoded++;
      }
    }
  }
  enc.close();
  dec.close();
  return `| ${cpuUsed} | ${(encodeCpuUs / 1000 / frames).toFixed(2)} | ${(psnr / Math.max(1, decoded)).toFixed(2)} | ${((bytes * 8) / seconds / 1000).toFixed(0)} |`;
}

async function main(): Promise<void> {
  const [size = '640x360', secs = '5', kbps = '800', list = '12,8,4,-4,-6,-8,-12,-16', gop = '75', threads] = process.argv.slice(2);
  const [w, h] = size.split('x').map(Number) as [number, number];
  console.log(`VP8 ${size}, ${kbps} kbit/s, ${secs} s at 30 fps, a key frame every ${gop} frames, ${threads ?? 'the engine\'s'} encoder threads (synthetic video of the load generator)`);
  console.log('| cpu-used | encode CPU ms/frame (all threads) | PSNR Y dB | kbit/s out |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const cu of list.split(',').map(Number)) console.log(await run(w, h, Number(secs), Number(kbps), cu, Number(gop), threads ? Number(threads) : undefined));
}

await main();
