/**
 * libvpx VP8 speed (cpu-used) against cost and quality, as the native engine runs it: the load
 * generator's synthetic video at 30 fps in real time (libvpx's positive cpu-used picks its speed
 * from the time left before the next frame), the engine's encoder settings, each frame decoded
 * again and compared with the input (PSNR of Y). CPU is the process's (every thread), per frame.
 *
 * Usage: node dist/bench/profile/vp8-speed.js [WxH] [seconds] [kbps] [cpu-used,...] [key frame every N frames, default 75] [threads, default the engine's]
 */
import { runCodec } from './realtime-codec-run.js';

async function run(width: number, height: number, seconds: number, kbps: number, cpuUsed: number, gop: number, threads: number | undefined): Promise<string> {
  const r = await runCodec({ codec: 'VP8', width, height, seconds, kbps, gop, vp8CpuUsed: cpuUsed, ...(threads ? { threads } : {}) });
  return `| ${cpuUsed} | ${r.encodeMs.toFixed(2)} | ${r.psnr.toFixed(2)} | ${r.kbpsOut.toFixed(0)} |`;
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
