/**
 * `npm run bench`: prints one JSON document with
 *  - the /process workload (1920x1080 RGBA, 3x3 blur x10, the synthetic input of GET /process)
 *    per backend: median / p95 / min of the runs in ms, and the SHA-256 of the output;
 *  - the per-frame cost (median ms) of every filter on I420 at 640x360 and 1280x720.
 * Progress goes to stderr, so `npm run bench > bench.json` keeps the JSON clean.
 *
 * Environment: BENCH_RUNS (default 15, an integer of at least 10; a bad value stops the run),
 * BENCH_FACES=0 / BENCH_FACES_ONLY=1 (the face filter section: skip it / run only it),
 * RTC_CPU_WORKERS (default: the cores),
 * RTC_GPU_ALLOW_SOFTWARE=1 to measure a software GPU adapter too, BENCH_REFERENCE=0 to skip the
 * (slow) reference backend.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { CpuProcessor } from '../src/processing/cpu/cpu-processor.js';
import { GpuProcessor } from '../src/processing/gpu/gpu-processor.js';
import { ReferenceProcessor } from '../src/processing/reference/reference-processor.js';
import { sha256Hex, syntheticRgba } from '../src/processing/synthetic.js';
import { FaceDetector, type OnnxProvider } from '../src/processing/faces/face-detector.js';
import { FaceGuard, DEFAULT_GUARD_SETTINGS } from '../src/processing/faces/face-guard.js';
import { numberEnv } from '../src/toolkit/args.js';
import { KERNEL_FILTER_NAMES, i420Size, type KernelFilterSpec, type FrameProcessor, type ProcessTimings } from '../src/processing/types.js';

const RUNS = numberEnv('BENCH_RUNS', process.env.BENCH_RUNS, { integer: true, min: 10, max: 100_000 }) ?? 15;
const WARMUP = 2;
const WIDTH = 1920;
const HEIGHT = 1080;
const ITERATIONS = 10;
const FRAME_SIZES: Array<[number, number]> = [[640, 360], [1280, 720]];

interface Summary {
  runs: number;
  median: number;
  p95: number;
  min: number;
}

function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  const round = (v: number): number => Math.round(v * 100) / 100;
  return { runs: s.length, median: round(at(0.5)), p95: round(at(0.95)), min: round(s[0]!) };
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** The 1080p RGBA blur x10 of GET /process: wall time of each call, and the time split. */
async function blur1080p(p: FrameProcessor, runs: number): Promise<Record<string, unknown>> {
  const data = syntheticRgba(WIDTH, HEIGHT);
  const out = new Uint8Array(data.length);
  const filter: KernelFilterSpec = { name: 'blur', iterations: ITERATIONS };
  for (let i = 0; i < Math.min(WARMUP, runs - 1); i++) await p.processRgba({ width: WIDTH, height: HEIGHT, data }, filter, out);
  const wall: number[] = [];
  const split: ProcessTimings[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    split.push(await p.processRgba({ width: WIDTH, height: HEIGHT, data }, filter, out));
    wall.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const med = (k: keyof ProcessTimings): number => summarize(split.map((t) => t[k])).median;
  return {
    device: p.device,
    ms: summarize(wall),
    // CPU time of the whole process (all threads) per call: the work itself, whatever else runs on the machine
    cpuMsPerCall: Math.round((cpu.user + cpu.system) / 1000 / runs * 100) / 100,
    medianSplitMs: { upload: med('upload'), compute: med('compute'), download: med('download'), total: med('total') },
    checksum: sha256Hex(out),
  };
}

/** Median ms per I420 frame of every filter (iterations 1) at each frame size. */
async function perFilter(p: FrameProcessor, sizes: Array<[number, number]>, runs: number): Promise<Record<string, Record<string, number>>> {
  const result: Record<string, Record<string, number>> = {};
  for (const [w, h] of sizes) {
    const rgba = syntheticRgba(w, h);
    const data = rgba.subarray(0, i420Size(w, h)); // any bytes will do; same input for every backend
    const out = new Uint8Array(data.length);
    const row: Record<string, number> = {};
    for (const name of KERNEL_FILTER_NAMES) {
      const filter: KernelFilterSpec = { name, iterations: 1 };
      for (let i = 0; i < WARMUP; i++) await p.processI420({ width: w, height: h, data }, filter, out);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await p.processI420({ width: w, height: h, data }, filter, out);
        times.push(performance.now() - t0);
      }
      row[name] = summarize(times).median;
    }
    result[`${w}x${h}`] = row;
  }
  return result;
}

/**
 * The anonymize filter's cost per I420 frame on one ONNX provider, at 360p, 720p and 1080p: the
 * detection alone (downscaled copy + every region's model run; RTC_FACES_TILES levels, default 1
 * as in sessions), its CPU time (all threads),
 * and the whole filter on a frame (detect, wait, cover) as a session runs it when it detects on
 * every frame. Median ms of `runs` calls; a provider that cannot load is reported as skipped.
 */
async function faceCost(provider: OnnxProvider, runs: number): Promise<Record<string, unknown>> {
  const tiles = Number(process.env.RTC_FACES_TILES ?? 1);
  let d: FaceDetector;
  try {
    d = await FaceDetector.create(provider, { tiles });
  } catch (err) {
    return { skipped: err instanceof Error ? err.message : String(err) };
  }
  const out: Record<string, unknown> = { tiles };
  for (const [w, h] of [[640, 360], [1280, 720], [1920, 1080]] as const) {
    const rgba = syntheticRgba(w, h);
    const frame = { width: w, height: h, data: new Uint8Array(i420Size(w, h)) };
    frame.data.set(rgba.subarray(0, frame.data.length));
    const detect: number[] = [];
    const model: number[] = [];
    let cpu0 = process.cpuUsage();
    for (let i = 0; i < runs + WARMUP; i++) {
      if (i === WARMUP) cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await d.detect({ kind: 'i420', frame });
      if (i >= WARMUP) { detect.push(performance.now() - t0); model.push(r.inferenceMs); }
    }
    const cpu = process.cpuUsage(cpu0);
    // CPU time of every thread per detection: steady on a shared machine where wall times swing.
    const detectCpuMs = Math.round(((cpu.user + cpu.system) / 1000 / runs) * 100) / 100;
    const guard = new FaceGuard('anonymize', () => d, { ...DEFAULT_GUARD_SETTINGS, minIntervalMs: 0, waitMs: 10_000 });
    const filter: number[] = [];
    const buf = { kind: 'i420' as const, width: w, height: h, data: frame.data.slice() };
    for (let i = 0; i < runs + WARMUP; i++) {
      buf.data.set(frame.data);
      const t0 = performance.now();
      await guard.apply(buf);
      if (i >= WARMUP) filter.push(performance.now() - t0);
    }
    out[`${w}x${h}`] = { detectMs: summarize(detect).median, detectCpuMs, modelMs: summarize(model).median, filterMs: summarize(filter).median };
    log(`faces ${provider} ${w}x${h}: ${JSON.stringify(out[`${w}x${h}`])}`);
  }
  await d.close();
  return out;
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  const workers = numberEnv('RTC_CPU_WORKERS', process.env.RTC_CPU_WORKERS, { integer: true, min: 1, max: 256 }) ?? os.availableParallelism();
  const report: Record<string, unknown> = {
    machine: {
      cpus: os.availableParallelism(),
      model: cpus[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      loadavgAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    },
    workload: {
      blur: `${WIDTH}x${HEIGHT} RGBA8, 3x3 Gaussian [1 2 1; 2 4 2; 1 2 1], clamp-to-edge, (sum + 8) >> 4, ${ITERATIONS} iterations, ` +
        'input byte (x, y, c) = (x*7 + y*13 + c*29 + (x ^ y)*3) & 255 (as GET /process); ms = wall time of one call, ' +
        'copies in and out of the backend included; checksum = SHA-256 of the output',
      perFrame: 'median ms of one call per I420 frame, iterations 1, wall time',
      runs: RUNS,
    },
  };
  const blur: Record<string, unknown> = {};
  const frames: Record<string, unknown> = {};
  report.blur1080pX10 = blur;
  report.perFrameI420Ms = frames;

  if (process.env.BENCH_FACES_ONLY === '1') {
    report.anonymizePerFrameI420 = { cpu: await faceCost('cpu', Math.max(10, Math.min(RUNS, 15))), webgpu: await faceCost('webgpu', 10) };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const cpu = await CpuProcessor.create({ workers });
  log(`cpu: ${cpu.device}`);
  blur.cpu = await blur1080p(cpu, RUNS);
  log(`cpu blur done: ${JSON.stringify(blur.cpu)}`);
  frames.cpu = await perFilter(cpu, FRAME_SIZES, Math.max(RUNS, 30));
  await cpu.close();
  if (workers > 1) {
    // the same work on one worker shows what the parallel split buys
    const one = await CpuProcessor.create({ workers: 1 });
    blur['cpu-1-worker'] = await blur1080p(one, RUNS);
    await one.close();
  }

  let gpu: GpuProcessor | null = null;
  try {
    gpu = await GpuProcessor.create({ allowSoftware: process.env.RTC_GPU_ALLOW_SOFTWARE === '1', dawnOptions: [] });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    blur.gpu = { skipped: reason };
    frames.gpu = { skipped: reason };
    log(`gpu skipped: ${reason}`);
  }
  if (gpu) {
    log(`gpu: ${gpu.device}`);
    blur.gpu = await blur1080p(gpu, RUNS);
    frames.gpu = await perFilter(gpu, FRAME_SIZES, Math.max(RUNS, 30));
    await gpu.close();
  }

  // The face filters' cost per provider (BENCH_FACES=0 skips; the WebGPU provider loads only
  // where Dawn finds an adapter, lavapipe included).
  if (process.env.BENCH_FACES !== '0') {
    const faceRuns = Math.max(10, Math.min(RUNS, 15));
    report.anonymizePerFrameI420 = { cpu: await faceCost('cpu', faceRuns), webgpu: await faceCost('webgpu', faceRuns) };
  }

  if (process.env.BENCH_REFERENCE !== '0') {
    // the reference takes seconds per 1080p call: one run, and the small frame size only
    const ref = new ReferenceProcessor();
    log('reference (slow)');
    blur.reference = { ...(await blur1080p(ref, 1)), note: 'single run: the TypeScript reference takes seconds per call' };
    frames.reference = await perFilter(ref, [FRAME_SIZES[0]!], 5);
  }

  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

const started = performance.now();
main().then(
  () => {
    log(`finished in ${Math.round((performance.now() - started) / 1000)} s`);
    // a WebGPU instance keeps the process alive even after close (Dawn); exit explicitly
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
