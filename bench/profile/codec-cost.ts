/**
 * What one frame costs in each codec the native engine runs (VP8: libvpx, H264: libx264), with
 * the engine's own encoder settings (codecs/ffmpeg.ts) and FFmpeg's decoders: the load
 * generator's synthetic video at 30 fps in real time (libvpx's positive cpu-used picks its speed
 * from the time left before the next frame, so the frames must come at their pace), each encoded
 * frame decoded again and compared with the input (PSNR of Y). CPU is the process's (every
 * thread: libvpx and libx264 run their own), per frame, encode and decode apart. A session of the
 * engine pays one decode (the client's codec) and one encode (the same codec back) per frame.
 *
 * Usage: node dist/bench/profile/codec-cost.js [WxH:kbps,...] [seconds] [rounds] [key frame every N frames]
 *   default 640x360:600,1280x720:1500 10 2 300 (the engine's 10 s key frame interval)
 */
import { availableParallelism } from 'node:os';
import { encoderThreads } from '../../src/media/engines/native/codecs/ffmpeg.js';
import { MEDIA_SETTINGS } from '../../src/media/media-settings.js';
import { runCodec, type CodecRunResult } from './realtime-codec-run.js';

type Codec = 'VP8' | 'H264';

interface Row extends CodecRunResult {
  codec: Codec;
}

async function run(codec: Codec, width: number, height: number, seconds: number, kbps: number, gop: number): Promise<Row> {
  return { codec, ...(await runCodec({ codec, width, height, seconds, kbps, gop, vp8CpuUsed: MEDIA_SETTINGS.vp8CpuUsed.default })) };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const [sizes = '640x360:600,1280x720:1500', secs = '10', roundsArg = '2', gop = '300'] = process.argv.slice(2);
  const rounds = Math.max(1, Number(roundsArg));
  console.log(`codec cost, ${secs} s at 30 fps per run, ${rounds} rounds (codecs alternated), key frame every ${gop} frames, `
    + `${availableParallelism()} cores; synthetic video of the load generator; medians over rounds (min-max)`);
  console.log('| size | target kbit/s | codec (encoder, threads) | encode CPU ms/frame | decode CPU ms/frame | encode + decode | PSNR Y dB | kbit/s out |');
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const spec of sizes.split(',')) {
    const [size = '640x360', kbps = '600'] = spec.split(':');
    const [w, h] = size.split('x').map(Number) as [number, number];
    const rows: Record<Codec, Row[]> = { VP8: [], H264: [] };
    for (let r = 0; r < rounds; r++) {
      // alternate the order so a change in the machine's load touches both codecs alike
      for (const codec of (r % 2 ? ['H264', 'VP8'] : ['VP8', 'H264']) as Codec[]) rows[codec].push(await run(codec, w, h, Number(secs), Number(kbps), Number(gop)));
    }
    for (const codec of ['VP8', 'H264'] as Codec[]) {
      const rs = rows[codec];
      const fig = (pick: (r: Row) => number, digits = 2): string => {
        const v = rs.map(pick);
        return `${median(v).toFixed(digits)} (${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)})`;
      };
      console.log(`| ${size} | ${kbps} | ${codec} (${rs[0]!.encoder}, ${encoderThreads(codec, w, h)}) | ${fig((r) => r.encodeMs)} | ${fig((r) => r.decodeMs)} | `
        + `${fig((r) => r.encodeMs + r.decodeMs)} | ${fig((r) => r.psnr, 1)} | ${fig((r) => r.kbpsOut, 0)} |`);
    }
  }
}

await main();
