/**
 * The WebGPU backend against the TypeScript reference: identical bytes for every filter on I420
 * and RGBA frames of random odd and even sizes, 1 to 10 iterations; plus concurrency, software
 * adapter refusal and device loss. Runs on whatever adapter exists (lavapipe in CI); skipped with
 * the reason only when no adapter at all can be created.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { GpuFrameTooLargeError, GpuProcessor, GpuUnavailableError } from '../../src/processing/gpu/gpu-processor.js';
import { referenceI420, referenceRgba } from '../../src/processing/reference/reference-processor.js';
import { FILTER_NAMES, i420Size, type FilterSpec } from '../../src/processing/types.js';
import { isIterated } from '../../src/processing/filter-spec.js';
import { testDawnOptions } from '../support/processors.js';
import { mulberry32 as rng } from '../support/prng.js';


function randomBytes(n: number, next: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** Sizes covering 1-pixel edges, odd and even widths/heights, and plane sizes not a multiple of 4. */
const SIZES: Array<[number, number]> = [[1, 1], [2, 1], [1, 3], [3, 3], [5, 2], [6, 7], [17, 9], [32, 18], [37, 23]];

function specs(): FilterSpec[] {
  const out: FilterSpec[] = [];
  for (const name of FILTER_NAMES) {
    if (isIterated(name)) for (let it = 1; it <= 10; it++) out.push({ name, iterations: it });
    else out.push({ name, iterations: 1 });
  }
  return out;
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

describe('GpuProcessor matches the reference byte for byte', () => {
  test('I420, every filter, iterations 1..10, odd and even sizes', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const next = rng(0x1420);
    for (const [w, h] of SIZES) {
      const data = randomBytes(i420Size(w, h), next);
      for (const spec of specs()) {
        const want = new Uint8Array(data.length);
        const got = new Uint8Array(data.length).fill(0xaa);
        referenceI420({ width: w, height: h, data }, spec, want);
        await gpu.processI420({ width: w, height: h, data }, spec, got);
        assert.ok(Buffer.compare(want, got) === 0, `I420 ${w}x${h} ${spec.name} x${spec.iterations}: ${firstDiff(want, got)}`);
      }
    }
  });

  test('RGBA, every filter, iterations 1..10, odd and even sizes', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const next = rng(0x4ba);
    for (const [w, h] of SIZES) {
      const data = randomBytes(w * h * 4, next);
      for (const spec of specs()) {
        const want = new Uint8Array(data.length);
        const got = new Uint8Array(data.length).fill(0xaa);
        referenceRgba({ width: w, height: h, data }, spec, want);
        await gpu.processRgba({ width: w, height: h, data }, spec, got);
        assert.ok(Buffer.compare(want, got) === 0, `RGBA ${w}x${h} ${spec.name} x${spec.iterations}: ${firstDiff(want, got)}`);
      }
    }
  });

  test('both RGBA blur kernels (fused tiles and one dispatch per iteration) match across tile borders', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const perIteration = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions(), rgbaBlur: 'per-iteration' });
    try {
      assert.equal(gpu.rgbaBlur, 'tiled');
      assert.equal(perIteration.rgbaBlur, 'per-iteration');
      const next = rng(0xb1);
      // Larger than one 32x32 tile in both directions, with ragged last tiles; 11 and 12 need three fused dispatches.
      for (const [w, h] of [[70, 45], [33, 65], [1, 40], [40, 1]] as Array<[number, number]>) {
        const data = randomBytes(w * h * 4, next);
        for (const iterations of [1, 4, 5, 6, 10, 11, 12]) {
          const spec: FilterSpec = { name: 'blur', iterations };
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

  test('overlapping calls of several sizes each get their own correct result', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const g = gpu;
    const next = rng(7);
    // More concurrent calls per size than the pool has slots, so some wait for a slot.
    const jobs = Array.from({ length: 16 }, (_, i) => {
      const [w, h] = SIZES[(i % 4) + 4]!;
      const data = randomBytes(i420Size(w, h), next);
      const spec: FilterSpec = { name: i % 2 ? 'blur' : 'sharpen', iterations: 1 + (i % 5) };
      const want = new Uint8Array(data.length);
      referenceI420({ width: w, height: h, data }, spec, want);
      const got = new Uint8Array(data.length);
      return { w, h, spec, want, got, run: g.processI420({ width: w, height: h, data }, spec, got) };
    });
    await Promise.all(jobs.map((j) => j.run));
    for (const j of jobs) assert.ok(Buffer.compare(j.want, j.got) === 0, `${j.w}x${j.h} ${j.spec.name}: ${firstDiff(j.want, j.got)}`);
  });

  test('timings are reported per phase and add up to the total', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const data = new Uint8Array(64 * 48 * 4).fill(9);
    const timings = await gpu.processRgba({ width: 64, height: 48, data }, { name: 'blur', iterations: 10 }, new Uint8Array(data.length));
    for (const k of ['upload', 'compute', 'download', 'total'] as const) {
      assert.ok(Number.isFinite(timings[k]) && timings[k] >= 0, `${k} = ${timings[k]}`);
    }
    assert.ok(Math.abs(timings.upload + timings.compute + timings.download - timings.total) < 1e-6);
  });

  test('busy ratio is a fraction, above zero after GPU work', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    gpu.takeBusyRatio();
    const data = new Uint8Array(32 * 18 * 4).fill(3);
    await gpu.processRgba({ width: 32, height: 18, data }, { name: 'blur', iterations: 3 }, new Uint8Array(data.length));
    const r = gpu.takeBusyRatio();
    assert.ok(r > 0 && r <= 1, `busy ratio ${r}`);
  });

  test('a buffer of the wrong size is a RangeError, not a GPU fault', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    await assert.rejects(gpu.processI420({ width: 4, height: 4, data: new Uint8Array(10) }, { name: 'invert', iterations: 1 }, new Uint8Array(24)), RangeError);
    await assert.rejects(gpu.processRgba({ width: 4, height: 4, data: new Uint8Array(64) }, { name: 'invert', iterations: 1 }, new Uint8Array(8)), RangeError);
  });

  test('a frame beyond the GPU buffer limit is GpuFrameTooLargeError, checked before any allocation', async (t) => {
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
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
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
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
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
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
      lost.destroyDeviceForTest();
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
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    let lost: GpuProcessor | null = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    const data = new Uint8Array(8 * 8 * 4).fill(1);
    const inFlight = lost.processRgba({ width: 8, height: 8, data }, { name: 'blur', iterations: 2 }, new Uint8Array(data.length));
    lost.destroyDeviceForTest();
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
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const p = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    try {
      const reasons: string[] = [];
      const fired = new Promise<void>((resolve) => p.onDeviceLost((r) => {
        reasons.push(r);
        resolve();
      }));
      p.raiseUncapturedErrorForTest();
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
    if (!gpu) return t.skip(skipReason ?? 'no gpu');
    const p = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    let fired = 0;
    p.onDeviceLost(() => fired++);
    await p.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fired, 0);
    await assert.rejects(p.processRgba({ width: 1, height: 1, data: new Uint8Array(4) }, { name: 'none', iterations: 1 }, new Uint8Array(4)), GpuUnavailableError);
  });
});
