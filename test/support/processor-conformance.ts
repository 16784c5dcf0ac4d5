/**
 * The FrameProcessor contract as one suite that owns it (the model is hono's
 * `runTest({ newRouter })`): a backend's test file calls runProcessorConformance with a factory and
 * gets every check: byte-identical output to the TypeScript reference on random frames of odd and
 * even sizes (every filter, 1 to 10 iterations, I420 and RGBA), independent concurrent calls, the
 * input left alone, timings that add up, RangeError for buffers of the wrong size, and close().
 *
 * Frames come from a seeded PRNG; the seed is printed, and RTC_TEST_SEED=<seed> reproduces a
 * failure. A backend that cannot be created here skips every check with the reason, unless it is
 * `required` (the CPU always; the GPU under RTC_TEST_REQUIRE_GPU=1), when each check fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { referenceI420, referenceRgba } from '../../src/processing/reference/reference-processor.js';
import { KERNEL_FILTER_NAMES, i420Size, type KernelFilterName, type KernelFilterSpec, type FrameProcessor } from '../../src/processing/types.js';
import { mulberry32 as prng } from './prng.js';

/** The checks of the contract, by title: what `skip` names. */
export const PROCESSOR_CHECKS = {
  identity: 'names itself and its device',
  i420Small: 'i420: small odd and even sizes, every filter, 1..10 iterations',
  rgbaSmall: 'rgba: small odd and even sizes, every filter, 1..10 iterations',
  i420Large: 'i420: larger frames, every filter',
  rgbaLarge: 'rgba: larger frames, every filter',
  concurrent: 'calls in flight at the same time give correct, independent results',
  inputKept: 'the input buffer is not modified',
  timings: 'timings are finite, non-negative and add up to at most the total',
  badSizes: 'buffers that do not match the size, and sizes below 1x1, are a RangeError',
  close: 'close() makes later calls reject, and may be called twice',
} as const;
export type ProcessorCheck = (typeof PROCESSOR_CHECKS)[keyof typeof PROCESSOR_CHECKS];

export interface ProcessorConformanceOptions {
  /** The backend's name, as `FrameProcessor.name` must report it. */
  name: FrameProcessor['name'];
  /** Make a new processor; reject when this machine cannot have one (the reason is shown). */
  create: () => Promise<FrameProcessor>;
  /** Checks this backend is excused from, each with the reason (hono's `skip`). */
  skip?: Array<{ reason: string; tests: ProcessorCheck[] }>;
  /** A processor that cannot be created fails every check instead of skipping it. */
  required?: boolean;
}

const seed = process.env.RTC_TEST_SEED ? Number(process.env.RTC_TEST_SEED) : Math.floor(Math.random() * 2 ** 31);
let seedShown = false;

type Format = 'i420' | 'rgba';

/** Random bytes, with some flat and saturated runs so clamps and saturation are exercised. */
function randomFrame(rand: () => number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  let i = 0;
  while (i < bytes) {
    const run = 1 + Math.floor(rand() * 24);
    const mode = rand();
    for (let k = 0; k < run && i < bytes; k++, i++) {
      data[i] = mode < 0.1 ? 0 : mode < 0.2 ? 255 : Math.floor(rand() * 256);
    }
  }
  return data;
}

function sizeOf(format: Format, w: number, h: number): number {
  return format === 'rgba' ? w * h * 4 : i420Size(w, h);
}

function reference(format: Format, w: number, h: number, data: Uint8Array, filter: KernelFilterSpec): Uint8Array {
  const out = new Uint8Array(data.length);
  if (format === 'rgba') referenceRgba({ width: w, height: h, data }, filter, out);
  else referenceI420({ width: w, height: h, data }, filter, out);
  return out;
}

async function run(p: FrameProcessor, format: Format, w: number, h: number, data: Uint8Array, filter: KernelFilterSpec): Promise<Uint8Array> {
  const out = new Uint8Array(data.length).fill(0xa5); // bytes a backend forgets to write show up
  if (format === 'rgba') await p.processRgba({ width: w, height: h, data }, filter, out);
  else await p.processI420({ width: w, height: h, data }, filter, out);
  return out;
}

/** Where a byte is, for a readable failure message. */
function locate(format: Format, w: number, h: number, i: number): string {
  if (format === 'rgba') return `pixel (${Math.floor(i / 4) % w}, ${Math.floor(i / 4 / w)}) channel ${i % 4}`;
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  if (i < w * h) return `Y (${i % w}, ${Math.floor(i / w)})`;
  const j = i - w * h;
  const plane = j < cw * ch ? 'U' : 'V';
  const k = j % (cw * ch);
  return `${plane} (${k % cw}, ${Math.floor(k / cw)})`;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, format: Format, w: number, h: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.length))) return;
  let first = -1;
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  assert.fail(`${what} (seed ${seed}): ${count} bytes differ; first at byte ${first}, ${locate(format, w, h, first)}: ` +
    `got ${actual[first]}, reference ${expected[first]}`);
}

/** Every filter; the iterated ones with each iteration count in `iterations`. */
function cases(iterations: readonly number[]): KernelFilterSpec[] {
  const out: KernelFilterSpec[] = [];
  for (const name of KERNEL_FILTER_NAMES) {
    const counts = name === 'blur' || name === 'sharpen' ? iterations : [1, 3]; // 3: must be ignored
    for (const n of counts) out.push({ name, iterations: n });
  }
  return out;
}

const ALL_ITERATIONS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
const SMALL: Array<[number, number]> = [[1, 1], [2, 2], [3, 5], [17, 9], [5, 1], [1, 7], [64, 48], [161, 91]];
const LARGE: Array<[number, number]> = [[320, 180], [641, 361]];

async function sameAsReference(p: FrameProcessor, format: Format, sizes: Array<[number, number]>, salt: number, iterations: (rand: () => number) => readonly number[]): Promise<void> {
  const rand = prng(seed ^ salt);
  for (const [w, h] of sizes) {
    const data = randomFrame(rand, sizeOf(format, w, h));
    for (const filter of cases(iterations(rand))) {
      const got = await run(p, format, w, h, data, filter);
      assertSameBytes(got, reference(format, w, h, data, filter), format, w, h, `${p.name} ${format} ${w}x${h} ${filter.name} x${filter.iterations}`);
    }
  }
}

/** The checks of the contract, on a live processor (`fresh` makes another for the close() check). */
const CHECKS: Record<ProcessorCheck, (p: FrameProcessor, name: string, fresh: () => Promise<FrameProcessor>) => Promise<void>> = {
  [PROCESSOR_CHECKS.identity]: async (p, name) => {
    assert.equal(p.name, name);
    assert.ok(typeof p.device === 'string' && p.device.trim() !== '', `device ${JSON.stringify(p.device)}`);
  },
  [PROCESSOR_CHECKS.i420Small]: (p) => sameAsReference(p, 'i420', SMALL, 0x4242, () => ALL_ITERATIONS),
  [PROCESSOR_CHECKS.rgbaSmall]: (p) => sameAsReference(p, 'rgba', SMALL, 0x5151, () => ALL_ITERATIONS),
  [PROCESSOR_CHECKS.i420Large]: (p) => sameAsReference(p, 'i420', LARGE, 0x6262, (rand) => [1 + Math.floor(rand() * 9), 10]),
  [PROCESSOR_CHECKS.rgbaLarge]: (p) => sameAsReference(p, 'rgba', LARGE, 0x7373, (rand) => [1 + Math.floor(rand() * 9), 10]),
  [PROCESSOR_CHECKS.concurrent]: async (p) => {
    const rand = prng(seed ^ 0x9999);
    const jobs: Array<{ format: Format; w: number; h: number; filter: KernelFilterSpec; data: Uint8Array }> = [];
    for (let i = 0; i < 16; i++) {
      const format: Format = rand() < 0.5 ? 'i420' : 'rgba';
      const [w, h] = i % 4 === 0 ? [160 + Math.floor(rand() * 40), 90 + Math.floor(rand() * 20)] : [1 + Math.floor(rand() * 70), 1 + Math.floor(rand() * 50)];
      const name: KernelFilterName = KERNEL_FILTER_NAMES[Math.floor(rand() * KERNEL_FILTER_NAMES.length)]!;
      jobs.push({ format, w, h, filter: { name, iterations: 1 + Math.floor(rand() * 10) }, data: randomFrame(rand, sizeOf(format, w, h)) });
    }
    const results = await Promise.all(jobs.map((j) => run(p, j.format, j.w, j.h, j.data, j.filter)));
    jobs.forEach((j, i) => {
      assertSameBytes(results[i]!, reference(j.format, j.w, j.h, j.data, j.filter), j.format, j.w, j.h,
        `concurrent #${i}: ${j.format} ${j.w}x${j.h} ${j.filter.name} x${j.filter.iterations}`);
    });
  },
  [PROCESSOR_CHECKS.inputKept]: async (p) => {
    const rand = prng(seed ^ 0x1234);
    const data = randomFrame(rand, sizeOf('rgba', 33, 21));
    const copy = data.slice();
    await run(p, 'rgba', 33, 21, data, { name: 'blur', iterations: 4 });
    await run(p, 'i420', 33, 21, data.subarray(0, sizeOf('i420', 33, 21)), { name: 'sharpen', iterations: 2 });
    assert.deepEqual(data, copy);
  },
  [PROCESSOR_CHECKS.timings]: async (p) => {
    const data = randomFrame(prng(seed ^ 0x7177), 64 * 48 * 4);
    for (const t of [
      await p.processRgba({ width: 64, height: 48, data }, { name: 'blur', iterations: 10 }, new Uint8Array(data.length)),
      await p.processI420({ width: 64, height: 32, data: data.subarray(0, i420Size(64, 32)) }, { name: 'edges', iterations: 1 }, new Uint8Array(i420Size(64, 32))),
    ]) {
      for (const k of ['upload', 'compute', 'download', 'total'] as const) assert.ok(Number.isFinite(t[k]) && t[k] >= 0, `${k} = ${t[k]}`);
      assert.ok(t.upload + t.compute + t.download <= t.total + 1e-6, JSON.stringify(t));
    }
  },
  [PROCESSOR_CHECKS.badSizes]: async (p) => {
    const f: KernelFilterSpec = { name: 'invert', iterations: 1 };
    await assert.rejects(p.processRgba({ width: 4, height: 4, data: new Uint8Array(63) }, f, new Uint8Array(64)), RangeError, 'rgba input short');
    await assert.rejects(p.processRgba({ width: 4, height: 4, data: new Uint8Array(64) }, f, new Uint8Array(8)), RangeError, 'rgba output short');
    await assert.rejects(p.processI420({ width: 4, height: 4, data: new Uint8Array(10) }, f, new Uint8Array(24)), RangeError, 'i420 input short');
    await assert.rejects(p.processI420({ width: 4, height: 4, data: new Uint8Array(24) }, f, new Uint8Array(23)), RangeError, 'i420 output short');
    await assert.rejects(p.processI420({ width: 0, height: 4, data: new Uint8Array(64) }, f, new Uint8Array(64)), RangeError, 'width 0');
    await assert.rejects(p.processI420({ width: 2.5, height: 4, data: new Uint8Array(64) }, f, new Uint8Array(64)), RangeError, 'width 2.5');
    // and the processor still works
    const out = new Uint8Array(4);
    await p.processRgba({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]) }, f, out);
    assert.deepEqual([...out], [254, 253, 252, 4]);
  },
  [PROCESSOR_CHECKS.close]: async (_p, _name, fresh) => {
    const q = await fresh();
    const out = new Uint8Array(4);
    await q.processRgba({ width: 1, height: 1, data: new Uint8Array(4) }, { name: 'none', iterations: 1 }, out);
    await q.close();
    await assert.rejects(q.processRgba({ width: 1, height: 1, data: new Uint8Array(4) }, { name: 'invert', iterations: 1 }, out));
    await assert.rejects(q.processI420({ width: 2, height: 2, data: new Uint8Array(6) }, { name: 'none', iterations: 1 }, new Uint8Array(6)));
    await q.close();
  },
};

/** Register the conformance suite for one backend. */
export function runProcessorConformance(opts: ProcessorConformanceOptions): void {
  if (!seedShown) {
    seedShown = true;
    console.log(`conformance: seed ${seed} (RTC_TEST_SEED=${seed} reproduces this run)`);
  }
  const excused = new Map<string, string>();
  for (const s of opts.skip ?? []) for (const t of s.tests) excused.set(t, s.reason);

  describe(`${opts.name} backend meets the FrameProcessor contract`, () => {
    let processor: FrameProcessor | null = null;
    let unavailable: string | null = null;
    before(async () => {
      try {
        processor = await opts.create();
        console.log(`conformance: ${opts.name} on ${processor.device}`);
      } catch (err) {
        unavailable = err instanceof Error ? err.message : String(err);
        console.log(`conformance: ${opts.name} cannot be created here: ${unavailable}`);
      }
    });
    after(() => processor?.close());

    for (const title of Object.values(PROCESSOR_CHECKS)) {
      test(title, async (t: TestContext) => {
        const reason = excused.get(title);
        if (reason !== undefined) return t.skip(reason);
        if (!processor) {
          const why = unavailable ?? 'not created';
          if (opts.required) assert.fail(`the ${opts.name} backend is required here but cannot be created: ${why}`);
          return t.skip(`${opts.name} unavailable: ${why}`);
        }
        await CHECKS[title](processor, opts.name, opts.create);
      });
    }
  });
}
