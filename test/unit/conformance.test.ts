/**
 * One conformance suite for every backend this machine can create (test/support/processors.ts):
 * on random frames of odd and even sizes, every filter, 1 to 10 iterations, I420 and RGBA, the
 * output must be byte-identical to the TypeScript reference. The frames come from a seeded PRNG;
 * the seed is printed, and RTC_TEST_SEED=<seed> reproduces a failure.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { referenceI420, referenceRgba } from '../../src/processing/reference/reference-processor.js';
import { FILTER_NAMES, i420Size, type FilterName, type FilterSpec, type FrameProcessor } from '../../src/processing/types.js';
import { createTestBackends, type TestBackends } from '../support/processors.js';
import { mulberry32 as prng } from '../support/prng.js';

const seed = process.env.RTC_TEST_SEED ? Number(process.env.RTC_TEST_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`conformance: seed ${seed} (RTC_TEST_SEED=${seed} reproduces this run)`);


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

function reference(format: Format, w: number, h: number, data: Uint8Array, filter: FilterSpec): Uint8Array {
  const out = new Uint8Array(data.length);
  if (format === 'rgba') referenceRgba({ width: w, height: h, data }, filter, out);
  else referenceI420({ width: w, height: h, data }, filter, out);
  return out;
}

async function run(p: FrameProcessor, format: Format, w: number, h: number, data: Uint8Array, filter: FilterSpec): Promise<Uint8Array> {
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

interface Case {
  format: Format;
  w: number;
  h: number;
  filter: FilterSpec;
}

/** Every filter; the iterated ones with each iteration count in `iterations`. */
function cases(format: Format, w: number, h: number, iterations: readonly number[]): Case[] {
  const out: Case[] = [];
  for (const name of FILTER_NAMES) {
    const counts = name === 'blur' || name === 'sharpen' ? iterations : [1, 3]; // 3: must be ignored
    for (const n of counts) out.push({ format, w, h, filter: { name, iterations: n } });
  }
  return out;
}

const ALL_ITERATIONS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
const SMALL: Array<[number, number]> = [[1, 1], [2, 2], [3, 5], [17, 9], [5, 1], [1, 7], [64, 48], [161, 91]];
const LARGE: Array<[number, number]> = [[320, 180], [641, 361]];

const backends: TestBackends = await createTestBackends();
after(() => backends.close());

for (const s of backends.skipped) {
  console.log(`conformance: backend ${s.name} skipped: ${s.reason}`);
  test(`${s.name} backend (skipped)`, (t) => {
    t.diagnostic(`${s.name} skipped: ${s.reason}`);
    t.skip(s.reason);
  });
}

for (const p of backends.processors) {
  describe(`${p.name} backend (${p.device}) is byte-identical to the reference`, () => {
    for (const format of ['i420', 'rgba'] as const) {
      test(`${format}: small odd and even sizes, every filter, 1..10 iterations`, async () => {
        const rand = prng(seed ^ (format === 'rgba' ? 0x5151 : 0x4242));
        for (const [w, h] of SMALL) {
          const data = randomFrame(rand, sizeOf(format, w, h));
          for (const c of cases(format, w, h, ALL_ITERATIONS)) {
            const want = reference(format, w, h, data, c.filter);
            const got = await run(p, format, w, h, data, c.filter);
            assertSameBytes(got, want, format, w, h, `${p.name} ${format} ${w}x${h} ${c.filter.name} x${c.filter.iterations}`);
          }
        }
      });

      test(`${format}: larger frames (split across workers), every filter`, async () => {
        const rand = prng(seed ^ (format === 'rgba' ? 0x7373 : 0x6262));
        for (const [w, h] of LARGE) {
          const data = randomFrame(rand, sizeOf(format, w, h));
          const iterations = [1 + Math.floor(rand() * 9), 10];
          for (const c of cases(format, w, h, iterations)) {
            const want = reference(format, w, h, data, c.filter);
            const got = await run(p, format, w, h, data, c.filter);
            assertSameBytes(got, want, format, w, h, `${p.name} ${format} ${w}x${h} ${c.filter.name} x${c.filter.iterations}`);
          }
        }
      });
    }

    test('calls in flight at the same time give correct, independent results', async () => {
      const rand = prng(seed ^ 0x9999);
      const jobs: Array<Case & { data: Uint8Array }> = [];
      for (let i = 0; i < 16; i++) {
        const format: Format = rand() < 0.5 ? 'i420' : 'rgba';
        const [w, h] = i % 4 === 0 ? [160 + Math.floor(rand() * 40), 90 + Math.floor(rand() * 20)] : [1 + Math.floor(rand() * 70), 1 + Math.floor(rand() * 50)];
        const name: FilterName = FILTER_NAMES[Math.floor(rand() * FILTER_NAMES.length)]!;
        const filter = { name, iterations: 1 + Math.floor(rand() * 10) };
        jobs.push({ format, w, h, filter, data: randomFrame(rand, sizeOf(format, w, h)) });
      }
      const results = await Promise.all(jobs.map((j) => run(p, j.format, j.w, j.h, j.data, j.filter)));
      jobs.forEach((j, i) => {
        assertSameBytes(results[i]!, reference(j.format, j.w, j.h, j.data, j.filter), j.format, j.w, j.h,
          `concurrent #${i}: ${j.format} ${j.w}x${j.h} ${j.filter.name} x${j.filter.iterations}`);
      });
    });

    test('the input buffer is not modified', async () => {
      const rand = prng(seed ^ 0x1234);
      const data = randomFrame(rand, sizeOf('rgba', 33, 21));
      const copy = data.slice();
      await run(p, 'rgba', 33, 21, data, { name: 'blur', iterations: 4 });
      await run(p, 'i420', 33, 21, data.subarray(0, sizeOf('i420', 33, 21)), { name: 'sharpen', iterations: 2 });
      assert.deepEqual(data, copy);
    });
  });
}
