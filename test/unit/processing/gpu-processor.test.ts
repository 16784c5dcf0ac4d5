/**
 * The WebGPU backend's own behaviour, beyond the FrameProcessor contract that
 * test/unit/processing/processor-conformance.test.ts checks: both RGBA blur kernels, the busy ratio, the buffer limit,
 * software adapter refusal and device loss. Runs on whatever adapter exists (lavapipe in CI);
 * skipped with the reason when none can be created, failed instead under RTC_TEST_REQUIRE_GPU=1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { BufferUsage } from '../../../src/processing/gpu/dawn.js';
import { GpuFrameTooLargeError, GpuProcessor, GpuUnavailableError } from '../../../src/processing/gpu/gpu-processor.js';
import { referenceRgba } from '../../../src/processing/reference/reference-processor.js';
import type { KernelFilterSpec } from '../../../src/processing/types.js';
import { skipWithoutGpu, testDawnOptions } from '../../support/processors.js';
import { mulberry32 as rng } from '../../support/prng.js';


function randomBytes(n: number, next: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: expected ${a[i]}, got ${b[i]}`;
  return 'equal';
}

/** A full V8 garbage collection, without starting node with --expose-gc. */
function forceGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

let gpu: GpuProcessor | null = null;
let skipReason: string | null = null;

before(async () => {
  try {
    gpu = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    console.log(`# gpu device: ${gpu.device} (timestamps: ${gpu.hasTimestamps})`);
  } catch (err) {
    skipReason = err instanceof Error ? err.message : String(err);
    console.log(`# gpu tests skipped: ${skipReason}`);
  }
});

after(async () => {
  await gpu?.close();
});

describe('GpuProcessor beyond the FrameProcessor contract (test/unit/processing/processor-conformance.test.ts runs that)', () => {
  test('both RGBA blur kernels (fused tiles and one dispatch per iteration) match across tile borders', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    const perIteration = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions(), rgbaBlur: 'per-iteration' });
    try {
      assert.equal(gpu.rgbaBlur, 'tiled');
      assert.equal(perIteration.rgbaBlur, 'per-iteration');
      const next = rng(0xb1);
      // Larger than one 32x32 tile in both directions, with ragged last tiles; 11 and 12 need three fused dispatches.
      for (const [w, h] of [[70, 45], [33, 65], [1, 40], [40, 1]] as Array<[number, number]>) {
        const data = randomBytes(w * h * 4, next);
        for (const iterations of [1, 4, 5, 6, 10, 11, 12]) {
          const spec: KernelFilterSpec = { name: 'blur', iterations };
          const want = new Uint8Array(data.length);
          referenceRgba({ width: w, height: h, data }, spec, want);
          for (const p of [gpu, perIteration]) {
            const got = new Uint8Array(data.length);
            await p.processRgba({ width: w, height: h, data }, spec, got);
            assert.ok(Buffer.compare(want, got) === 0, `${p.rgbaBlur} ${w}x${h} x${iterations}: ${firstDiff(want, got)}`);
          }
        }
      }
    } finally {
      await perIteration.close();
    }
  });

  test('busy ratio is a fraction, above zero after GPU work', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    gpu.takeBusyRatio();
    const data = new Uint8Array(32 * 18 * 4).fill(3);
    await gpu.processRgba({ width: 32, height: 18, data }, { name: 'blur', iterations: 3 }, new Uint8Array(data.length));
    const r = gpu.takeBusyRatio();
    assert.ok(r > 0 && r <= 1, `busy ratio ${r}`);
  });

  test('a frame beyond the GPU buffer limit is GpuFrameTooLargeError, checked before any allocation', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    // 8 GB of RGBA: above every device's binding limit (at most 4 GB); tiny arrays suffice, nothing is allocated.
    await assert.rejects(gpu.processRgba({ width: 1_000_000, height: 2000, data: new Uint8Array(4) }, { name: 'invert', iterations: 1 }, new Uint8Array(4)),
      GpuFrameTooLargeError);
    const out = new Uint8Array(4);
    await gpu.processRgba({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]) }, { name: 'invert', iterations: 1 }, out);
    assert.deepEqual([...out], [254, 253, 252, 4]);
  });
});

describe('GpuProcessor adapter selection', () => {
  test('a software adapter is refused unless allowSoftware is set', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    if (!gpu.device.includes('software')) {
      // Real hardware here: creating without allowSoftware must work.
      const hw = await GpuProcessor.create({ allowSoftware: false, dawnOptions: testDawnOptions() });
      await hw.close();
      return;
    }
    await assert.rejects(GpuProcessor.create({ allowSoftware: false, dawnOptions: testDawnOptions() }), (err: unknown) => {
      assert.ok(err instanceof GpuUnavailableError);
      assert.match(err.message, /software adapter/);
      assert.match(err.message, /RTC_GPU_ALLOW_SOFTWARE/);
      return true;
    });
  });

  test('a backend Dawn does not have is GpuUnavailableError with the reason', async () => {
    await assert.rejects(GpuProcessor.create({ allowSoftware: true, dawnOptions: ['backend=null-no-such-backend'] }), (err: unknown) => {
      assert.ok(err instanceof GpuUnavailableError);
      assert.match(err.message, /no WebGPU adapter|could not start/);
      return true;
    });
  });
});

describe('GpuProcessor device loss', () => {
  test('destroying the device fires onDeviceLost once and every call rejects cleanly', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    const lost = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    try {
      const reasons: string[] = [];
      const fired = new Promise<void>((resolve) => lost.onDeviceLost((r) => {
        reasons.push(r);
        resolve();
      }));
      const size = 37 * 23 * 4;
      const data = new Uint8Array(size).fill(50);
      // Calls in flight when the device goes: each either finished before or rejects with GpuUnavailableError.
      const inFlight = Array.from({ length: 6 }, () =>
        lost.processRgba({ width: 37, height: 23, data }, { name: 'blur', iterations: 10 }, new Uint8Array(size)));
      lost.gpuDevice?.destroy(); // as a driver reset would
      await fired;
      const settled = await Promise.allSettled(inFlight);
      console.log(`# in-flight calls: ${settled.filter((s) => s.status === "rejected").length} of ${settled.length} rejected by the loss`);
      for (const s of settled) {
        if (s.status === 'rejected') assert.ok(s.reason instanceof GpuUnavailableError, `in-flight call rejected with ${String(s.reason)}`);
      }
      await assert.rejects(lost.processRgba({ width: 37, height: 23, data }, { name: 'invert', iterations: 1 }, new Uint8Array(size)), GpuUnavailableError);
      await assert.rejects(lost.processI420({ width: 4, height: 4, data: new Uint8Array(24) }, { name: 'none', iterations: 1 }, new Uint8Array(24)), GpuUnavailableError);
      assert.equal(reasons.length, 1);
      assert.match(reasons[0]!, /destroyed/);
      assert.match(lost.lostBecause ?? '', /destroyed/);
    } finally {
      await lost.close();
    }
  });

  test('after a loss and a garbage collection, a new processor works (dawn.node once crashed here)', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    let lost: GpuProcessor | null = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    const data = new Uint8Array(8 * 8 * 4).fill(1);
    const inFlight = lost.processRgba({ width: 8, height: 8, data }, { name: 'blur', iterations: 2 }, new Uint8Array(data.length));
    lost.gpuDevice?.destroy(); // as a driver reset would
    await Promise.allSettled([inFlight]);
    await lost.close();
    lost = null;
    forceGc();
    await new Promise((r) => setTimeout(r, 20));
    forceGc();
    const fresh = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    try {
      const out = new Uint8Array(data.length);
      await fresh.processRgba({ width: 8, height: 8, data }, { name: 'invert', iterations: 1 }, out);
      assert.equal(out[0], 254);
      assert.equal(out[3], 1);
    } finally {
      await fresh.close();
    }
  });

  test('an uncaptured GPU error gives the device up as lost (no wrong pixels)', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    const p = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    try {
      const reasons: string[] = [];
      const fired = new Promise<void>((resolve) => p.onDeviceLost((r) => {
        reasons.push(r);
        resolve();
      }));
      // MAP_READ may only be combined with COPY_DST: a validation error outside any error scope.
      p.gpuDevice?.createBuffer({ size: 4, usage: BufferUsage.MAP_READ | BufferUsage.STORAGE });
      await fired;
      assert.match(reasons[0]!, /^GPU error: /);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(reasons.length, 1, 'the device.lost that follows is not reported again');
      await assert.rejects(p.processRgba({ width: 2, height: 2, data: new Uint8Array(16) }, { name: 'blur', iterations: 1 }, new Uint8Array(16)),
        GpuUnavailableError);
    } finally {
      await p.close();
    }
  });

  test('close() does not report a device loss, and later calls reject', async (t) => {
    if (!gpu) return skipWithoutGpu(t, skipReason ?? 'no gpu');
    const p = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    let fired = 0;
    p.onDeviceLost(() => fired++);
    await p.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fired, 0);
    await assert.rejects(p.processRgba({ width: 1, height: 1, data: new Uint8Array(4) }, { name: 'none', iterations: 1 }, new Uint8Array(4)), GpuUnavailableError);
  });
});
