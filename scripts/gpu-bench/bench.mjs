#!/usr/bin/env node
// The real-GPU benchmark (run by scripts/gpu-bench.sh): the /process workload (1920x1080 RGBA8,
// 3x3 Gaussian blur x10, the synthetic input of GET /process) on our WebGPU backend, on the CPU
// backend, and in PyTorch on the same GPU (torch_blur.py) when python3 can import torch.
// Prints ONE JSON object on stdout; progress on stderr.
//
// Plain JavaScript on purpose: it runs from a packed folder (--pack) next to dist/, with no
// TypeScript toolchain, and imports the compiled backends from ../../dist.
//
// Options: --width N --height N --iterations N --runs N (>= 20 by default 30) --warmup N
//          --cpu-runs N (0 skips the CPU backend) --no-torch --python PATH
//          --torch-device cpu (runs torch_blur.py on the CPU: checks its checksum where there is no GPU)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// In the repository: scripts/gpu-bench/ -> ../../dist; in a packed folder: bench/ -> ../dist.
const dist = [path.resolve(here, '../dist/src/processing'), path.resolve(here, '../../dist/src/processing')]
  .find((d) => existsSync(path.join(d, 'gpu/gpu-processor.js'))) ?? path.resolve(here, '../../dist/src/processing');

function parseArgs(argv) {
  const opts = { width: 1920, height: 1080, iterations: 10, runs: 30, warmup: 5, cpuRuns: 20, torch: true, python: 'python3', torchDevice: 'cuda', faces: true, faceRuns: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--width') opts.width = num();
    else if (a === '--height') opts.height = num();
    else if (a === '--iterations') opts.iterations = num();
    else if (a === '--runs') opts.runs = num();
    else if (a === '--warmup') opts.warmup = num();
    else if (a === '--cpu-runs') opts.cpuRuns = num();
    else if (a === '--no-torch') opts.torch = false;
    else if (a === '--no-faces') opts.faces = false;
    else if (a === '--face-runs') opts.faceRuns = Math.max(1, num());
    else if (a === '--python') opts.python = argv[++i];
    else if (a === '--torch-device') opts.torchDevice = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.runs < 1) throw new Error('--runs must be at least 1');
  return opts;
}

function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const r = (v) => Math.round(v * 10000) / 10000;
  return { runs: s.length, median: r(median), min: r(s[0]), p95: r(at(0.95)) };
}

const log = (msg) => process.stderr.write(`gpu-bench: ${msg}\n`);

/**
 * The anonymize filter's face detector (BlazeFace ONNX through onnxruntime-node) per provider
 * (webgpu: the GPU; cpu) at 360p, 720p and 1080p: one detection = a downscaled copy and one model
 * run per region of the pyramid (levels 1 and 2: 4 and 19 runs at 16:9). Median ms.
 */
async function benchFaces(opts) {
  if (!opts.faces) return { available: false, reason: '--no-faces' };
  let faces;
  try {
    faces = await import(path.join(dist, 'faces/face-detector.js'));
  } catch (err) {
    return { available: false, reason: `face detector not loadable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const out = {};
  for (const provider of ['webgpu', 'cpu']) {
    let d;
    try {
      d = await faces.FaceDetector.create(provider, { maxPending: 4 });
    } catch (err) {
      out[provider] = { available: false, reason: err instanceof Error ? err.message : String(err) };
      continue;
    }
    const r = { available: true };
    for (const [w, h] of [[640, 360], [1280, 720], [1920, 1080]]) {
      const frame = { width: w, height: h, data: new Uint8Array(w * h * 3 / 2).fill(100) };
      for (const tiles of [1, 2]) {
        const detect = [], model = [];
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
  return { available: true, ...out };
}

async function benchWebGpu(opts, input, spec, lib, rgbaBlur) {
  const { GpuProcessor } = lib.gpu;
  const allowSoftware = /^(1|true|yes)$/i.test(process.env.RTC_GPU_ALLOW_SOFTWARE ?? '');
  const dawnOptions = (process.env.RTC_GPU_DAWN_OPTIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  let gpu;
  try {
    gpu = await GpuProcessor.create({ allowSoftware, dawnOptions, rgbaBlur });
  } catch (err) {
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  }
  try {
    log(`webgpu (${rgbaBlur} blur kernel) on ${gpu.device} (timestamps: ${gpu.hasTimestamps}); ${opts.warmup} warm-up + ${opts.runs} runs`);
    const out = new Uint8Array(input.length);
    const image = { width: opts.width, height: opts.height, data: input };
    const t = { upload: [], compute: [], download: [], total: [] };
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      const r = await gpu.processRgba(image, spec, out);
      if (i < opts.warmup) continue;
      for (const k of Object.keys(t)) t[k].push(r[k]);
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
      checksum: lib.synthetic.sha256Hex(out),
    };
  } finally {
    await gpu.close();
  }
}

async function benchCpu(opts, input, spec, lib) {
  if (opts.cpuRuns === 0) return { available: false, reason: 'skipped (--cpu-runs 0)' };
  const workers = Math.max(1, Number(process.env.RTC_CPU_WORKERS) || os.availableParallelism());
  let cpu;
  try {
    cpu = await lib.cpu.CpuProcessor.create({ workers });
  } catch (err) {
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  }
  try {
    log(`cpu backend on ${cpu.device}; 2 warm-up + ${opts.cpuRuns} runs`);
    const out = new Uint8Array(input.length);
    const image = { width: opts.width, height: opts.height, data: input };
    const total = [];
    for (let i = 0; i < 2 + opts.cpuRuns; i++) {
      const r = await cpu.processRgba(image, spec, out);
      if (i >= 2) total.push(r.total);
    }
    return { available: true, device: cpu.device, end_to_end_ms: summarize(total), checksum: lib.synthetic.sha256Hex(out) };
  } finally {
    await cpu.close();
  }
}

function benchTorch(opts) {
  if (!opts.torch) return { available: false, reason: 'skipped (--no-torch)' };
  const probe = spawnSync(opts.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() || `exit ${probe.status}`);
    return { available: false, reason: `${opts.python} -c 'import torch' failed: ${why}` };
  }
  log(`pytorch on ${opts.torchDevice} (${opts.python}); ${opts.warmup} warm-up + ${opts.runs} runs`);
  const r = spawnSync(opts.python, [path.join(here, 'torch_blur.py'),
    '--width', String(opts.width), '--height', String(opts.height), '--iterations', String(opts.iterations),
    '--runs', String(opts.runs), '--warmup', String(opts.warmup), '--device', opts.torchDevice], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { available: false, reason: `torch_blur.py failed (${r.status}): ${r.stderr.trim().slice(-500)}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return { available: false, reason: `torch_blur.py printed no JSON: ${r.stdout.slice(-300)}` };
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const lib = {
    gpu: await import(path.join(dist, 'gpu/gpu-processor.js')),
    cpu: await import(path.join(dist, 'cpu/cpu-processor.js')),
    synthetic: await import(path.join(dist, 'synthetic.js')),
  };
  const spec = { name: 'blur', iterations: opts.iterations };
  const input = lib.synthetic.syntheticRgba(opts.width, opts.height);
  // The default kernel (up to 5 iterations fused per dispatch in workgroup memory), then one dispatch per iteration.
  const webgpu = await benchWebGpu(opts, input, spec, lib, 'tiled');
  const webgpuPerIteration = webgpu.available ? await benchWebGpu(opts, input, spec, lib, 'per-iteration') : webgpu;
  const cpu = await benchCpu(opts, input, spec, lib);
  const torch = benchTorch(opts);
  const faces = await benchFaces(opts);
  const sums = [webgpu, webgpuPerIteration, cpu, torch].filter((b) => b.available).map((b) => b.checksum);
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
      ? Object.fromEntries([webgpu, webgpuPerIteration].map((w) => [w.blur_kernel, {
        kernel: round2(torch.kernel_ms.median / w.kernel_ms.median),
        end_to_end: round2(torch.end_to_end_ms.median / w.end_to_end_ms.median),
      }]))
      : null,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function round2(v) {
  return Math.round(v * 100) / 100;
}

main().then(
  // Exit explicitly: worker pools and Dawn are closed, but do not let a stray handle hold the run.
  () => process.exit(0),
  (err) => {
    process.stderr.write(`gpu-bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
