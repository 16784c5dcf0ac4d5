/**
 * The real-GPU benchmark (run by bench/gpu/gpu-bench.sh): the /process workload (1920x1080 RGBA8,
 * 3x3 Gaussian blur x10, the synthetic input of GET /process) on our WebGPU backend, on the CPU
 * backend, and in PyTorch on the same GPU (torch-blur.py) when python3 can import torch.
 * Prints ONE JSON object on stdout; progress on stderr.
 *
 * Compiled with the project (dist/bench/gpu/gpu-bench.js); gpu-bench.sh --pack copies it with the
 * compiled modules it imports, so it also runs from a packed folder on a machine without the
 * TypeScript toolchain.
 *
 * Options: --width N --height N --iterations N --runs N (default 30) --warmup N (default 5)
 *          --cpu-runs N (0 skips the CPU backend) --no-torch --python PATH
 *          --torch-device cpu (runs torch-blur.py on the CPU: checks its checksum where there is no GPU)
 *          --no-faces, --face-runs N (the face detector per ONNX provider; default 20 runs)
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuProcessor } from '../../src/processing/cpu/cpu-processor.js';
import { FaceDetector, type OnnxProvider } from '../../src/processing/faces/face-detector.js';
import { GpuProcessor, type RgbaBlurKernel } from '../../src/processing/gpu/gpu-processor.js';
import { sha256Hex, syntheticRgba } from '../../src/processing/synthetic.js';
import type { KernelFilterSpec as FilterSpec, ProcessTimings } from '../../src/processing/types.js';
import { numberArg, numberEnv, parseCommandLine, stringArg, UsageError } from '../../src/toolkit/args.js';

/** torch-blur.py stays in the source tree (not compiled): dist/bench/gpu -> bench/gpu, in the repository and in a packed folder alike. */
const TORCH_BLUR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/gpu/torch-blur.py');

interface GpuBenchOptions {
  width: number;
  height: number;
  iterations: number;
  runs: number;
  warmup: number;
  cpuRuns: number;
  torch: boolean;
  python: string;
  torchDevice: string;
  faces: boolean;
  faceRuns: number;
}

/** Parse argv (without node and script). */
function parseGpuBenchOptions(argv: string[]): GpuBenchOptions {
  const values = parseCommandLine(argv, {
    width: { type: 'string' }, height: { type: 'string' }, iterations: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' },
    'cpu-runs': { type: 'string' }, 'no-torch': { type: 'boolean' }, python: { type: 'string' }, 'torch-device': { type: 'string' },
    'no-faces': { type: 'boolean' }, 'face-runs': { type: 'string' },
  });
  const int = (name: string, min: number, def: number): number => numberArg(name, stringArg(values, name), { integer: true, min, max: 100_000 }) ?? def;
  return {
    width: int('width', 1, 1920),
    height: int('height', 1, 1080),
    iterations: int('iterations', 1, 10),
    runs: int('runs', 1, 30),
    warmup: int('warmup', 0, 5),
    cpuRuns: int('cpu-runs', 0, 20),
    torch: values['no-torch'] !== true,
    python: stringArg(values, 'python') ?? 'python3',
    torchDevice: stringArg(values, 'torch-device') ?? 'cuda',
    faces: values['no-faces'] !== true,
    faceRuns: int('face-runs', 1, 20),
  };
}

interface Summary { runs: number; median: number; min: number; p95: number }

function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const r = (v: number): number => Math.round(v * 10000) / 10000;
  return { runs: s.length, median: r(median), min: r(s[0]!), p95: r(at(0.95)) };
}

const log = (msg: string): void => {
  process.stderr.write(`gpu-bench: ${msg}\n`);
};

type Unavailable = { available: false; reason: string };
type WebGpuResult = Unavailable | {
  available: true; device: string; blur_kernel: RgbaBlurKernel; timestamp_queries: boolean; kernel_ms: Summary; kernel_source: string;
  end_to_end_ms: Summary; upload_ms: Summary; download_ms: Summary; checksum: string;
};
type CpuResult = Unavailable | { available: true; device: string; end_to_end_ms: Summary; checksum: string };
type TorchResult = Unavailable | { available: true; checksum: string; kernel_ms: Summary; end_to_end_ms: Summary };

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function benchWebGpu(opts: GpuBenchOptions, input: Uint8Array, spec: FilterSpec, rgbaBlur: RgbaBlurKernel): Promise<WebGpuResult> {
  const allowSoftware = /^(1|true|yes)$/i.test(process.env.RTC_GPU_ALLOW_SOFTWARE ?? '');
  const dawnOptions = (process.env.RTC_GPU_DAWN_OPTIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  let gpu: GpuProcessor;
  try {
    gpu = await GpuProcessor.create({ allowSoftware, dawnOptions, rgbaBlur });
  } catch (err) {
    return { available: false, reason: reasonOf(err) };
  }
  try {
    log(`webgpu (${rgbaBlur} blur kernel) on ${gpu.device} (timestamps: ${gpu.hasTimestamps}); ${opts.warmup} warm-up + ${opts.runs} runs`);
    const out = new Uint8Array(input.length);
    const image = { width: opts.width, height: opts.height, data: input };
    const t: Record<keyof ProcessTimings, number[]> = { upload: [], compute: [], download: [], total: [] };
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      const r = await gpu.processRgba(image, spec, out);
      if (i < opts.warmup) continue;
      for (const k of Object.keys(t) as Array<keyof ProcessTimings>) t[k].push(r[k]);
    }
    return {
      available: true,
      device: gpu.device,
      blur_kernel: rgbaBlur,
      timestamp_queries: gpu.hasTimestamps,
      // With timestamp queries: GPU time of the compute pass (all iterations); else wall clock from submit to readback.
      kernel_ms: summarize(t.compute),
      kernel_source: gpu.hasTimestamps ? 'timestamp-query around the compute pass' : 'wall clock, submit to mapAsync (no timestamp-query)',
      end_to_end_ms: summarize(t.total),
      upload_ms: summarize(t.upload),
      download_ms: summarize(t.download),
      checksum: sha256Hex(out),
    };
  } finally {
    await gpu.close();
  }
}

async function benchCpu(opts: GpuBenchOptions, input: Uint8Array, spec: FilterSpec): Promise<CpuResult> {
  if (opts.cpuRuns === 0) return { available: false, reason: 'skipped (--cpu-runs 0)' };
  const workers = numberEnv('RTC_CPU_WORKERS', process.env.RTC_CPU_WORKERS, { integer: true, min: 1, max: 256 }) ?? os.availableParallelism();
  let cpu: CpuProcessor;
  try {
    cpu = await CpuProcessor.create({ workers });
  } catch (err) {
    return { available: false, reason: reasonOf(err) };
  }
  try {
    log(`cpu backend on ${cpu.device}; 2 warm-up + ${opts.cpuRuns} runs`);
    const out = new Uint8Array(input.length);
    const image = { width: opts.width, height: opts.height, data: input };
    const total: number[] = [];
    for (let i = 0; i < 2 + opts.cpuRuns; i++) {
      const r = await cpu.processRgba(image, spec, out);
      if (i >= 2) total.push(r.total);
    }
    return { available: true, device: cpu.device, end_to_end_ms: summarize(total), checksum: sha256Hex(out) };
  } finally {
    await cpu.close();
  }
}

function benchTorch(opts: GpuBenchOptions): TorchResult {
  if (!opts.torch) return { available: false, reason: 'skipped (--no-torch)' };
  const probe = spawnSync(opts.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() || `exit ${probe.status}`);
    return { available: false, reason: `${opts.python} -c 'import torch' failed: ${why}` };
  }
  log(`pytorch on ${opts.torchDevice} (${opts.python}); ${opts.warmup} warm-up + ${opts.runs} runs`);
  const r = spawnSync(opts.python, [TORCH_BLUR,
    '--width', String(opts.width), '--height', String(opts.height), '--iterations', String(opts.iterations),
    '--runs', String(opts.runs), '--warmup', String(opts.warmup), '--device', opts.torchDevice], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { available: false, reason: `torch-blur.py failed (${r.status}): ${r.stderr.trim().slice(-500)}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchResult;
  } catch {
    return { available: false, reason: `torch-blur.py printed no JSON: ${r.stdout.slice(-300)}` };
  }
}

/**
 * The anonymize filter's face detector (BlazeFace through onnxruntime-node) per provider (webgpu:
 * the GPU; cpu) at 360p, 720p and 1080p: one detection = a downscaled copy and one model run per
 * region of the pyramid (levels 1 and 2: 4 and 19 runs at 16:9). Median ms of `faceRuns`.
 */
async function benchFaces(opts: GpuBenchOptions): Promise<Record<string, unknown>> {
  if (!opts.faces) return { available: false, reason: 'skipped (--no-faces)' };
  const out: Record<string, unknown> = { available: true };
  for (const provider of ['webgpu', 'cpu'] as OnnxProvider[]) {
    let d: FaceDetector;
    try {
      d = await FaceDetector.create(provider, { maxPending: 4 });
    } catch (err) {
      out[provider] = { available: false, reason: err instanceof Error ? err.message : String(err) };
      continue;
    }
    const r: Record<string, unknown> = { available: true };
    for (const [w, h] of [[640, 360], [1280, 720], [1920, 1080]] as const) {
      const frame = { width: w, height: h, data: new Uint8Array((w * h * 3) / 2).fill(100) };
      for (const tiles of [1, 2]) {
        const detect: number[] = [];
        const model: number[] = [];
        for (let i = 0; i < opts.faceRuns + 2; i++) {
          const t0 = performance.now();
          const res = await d.detect({ kind: 'i420', frame }, tiles);
          if (i >= 2) { detect.push(performance.now() - t0); model.push(res.inferenceMs); }
        }
        r[`${w}x${h} tiles ${tiles}`] = { detect_ms: summarize(detect), model_ms: summarize(model) };
        log(`faces ${provider} ${w}x${h} tiles ${tiles}: ${summarize(detect).median} ms`);
      }
    }
    await d.close();
    out[provider] = r;
  }
  return out;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

async function main(argv: string[]): Promise<number> {
  let opts: GpuBenchOptions;
  try {
    opts = parseGpuBenchOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    log(err.message);
    return 2;
  }
  const spec: FilterSpec = { name: 'blur', iterations: opts.iterations };
  const input = syntheticRgba(opts.width, opts.height);
  // The default kernel (up to 5 iterations fused per dispatch in workgroup memory), then one dispatch per iteration.
  const webgpu = await benchWebGpu(opts, input, spec, 'tiled');
  const webgpuPerIteration = webgpu.available ? await benchWebGpu(opts, input, spec, 'per-iteration') : webgpu;
  const cpu = await benchCpu(opts, input, spec);
  const torch = benchTorch(opts);
  const faces = await benchFaces(opts);
  const sums = [webgpu, webgpuPerIteration, cpu, torch].flatMap((b) => (b.available ? [b.checksum] : []));
  const result = {
    workload: {
      what: '3x3 Gaussian [1 2 1; 2 4 2; 1 2 1], clamp-to-edge, (sum+8)>>4, all 4 channels, repeated',
      format: 'rgba8', width: opts.width, height: opts.height, iterations: opts.iterations,
      input: 'byte (x,y,c) = (x*7 + y*13 + c*29 + (x ^ y)*3) & 255',
    },
    host: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: os.availableParallelism(), cpu_model: os.cpus()[0]?.model ?? 'unknown' },
    runs: opts.runs,
    warmup: opts.warmup,
    webgpu,
    webgpu_per_iteration: webgpuPerIteration,
    cpu,
    torch,
    faces,
    checksums_match: sums.length >= 2 ? sums.every((s) => s === sums[0]) : null,
    torch_matches_webgpu: webgpu.available && torch.available ? torch.checksum === webgpu.checksum : null,
    // > 1: ours is faster (torch median / ours median), for each of our two blur kernels.
    speedup_vs_torch: webgpu.available && torch.available
      ? Object.fromEntries([webgpu, webgpuPerIteration].flatMap((w) => (w.available ? [[w.blur_kernel, {
        kernel: round2(torch.kernel_ms.median / w.kernel_ms.median),
        end_to_end: round2(torch.end_to_end_ms.median / w.end_to_end_ms.median),
      }]] : [])))
      : null,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  // Exit explicitly: worker pools and Dawn are closed, but do not let a stray handle hold the run.
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gpu-bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
