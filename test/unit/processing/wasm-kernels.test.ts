/**
 * The WASM kernels called directly, without the worker pool: each row-sweeping filter must give
 * the reference's bytes whichever way its rows are shared out (all by a downward sweep, all by
 * an upward one, or split at any row between the two), and never write outside its output.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileKernels, createSharedMemory, instantiateKernels, type KernelExports } from '../../../src/processing/cpu/wasm-kernels.js';
import { blurPlane, sharpenPlane, sobelPlane } from '../../../src/processing/reference/kernels.js';
import { referenceRgba } from '../../../src/processing/reference/reference-processor.js';

const memory = createSharedMemory(64);
const k: KernelExports = instantiateKernels(compileKernels(), memory);
const CTRL = 4096;
const INPUT = 8192;
const GUARD = 0x5a;

function bytes(n: number, salt: number): Uint8Array {
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = (i * 97 + salt * 13 + ((i * i) >> 5)) & 255;
  return d;
}

type Op = 'blur' | 'sharpen' | 'edges';
type Kind = 'plane' | 'rgba';

function expected(op: Op, kind: Kind, w: number, h: number, data: Uint8Array, passes: number): Uint8Array {
  const out = new Uint8Array(data.length);
  if (kind === 'rgba') {
    referenceRgba({ width: w, height: h, data }, { name: op, iterations: passes }, out);
    return out;
  }
  const src = { data, offset: 0, width: w, height: h, stride: 1 };
  const dst = { data: out, offset: 0, width: w, height: h, stride: 1 };
  if (op === 'blur') blurPlane(src, dst, passes);
  else if (op === 'sharpen') sharpenPlane(src, dst, passes);
  else sobelPlane(src, dst);
  return out;
}

/** Run `op` with rows [0, split) swept down and [split, h) swept up, each with its own scratch. */
function runSplit(op: Op, kind: Kind, w: number, h: number, data: Uint8Array, passes: number, split: number): Uint8Array {
  const size = data.length;
  const output = INPUT + Math.ceil((size + 64) / 64) * 64;
  const rowBytes = kind === 'rgba' && op !== 'edges' ? w * 4 : w;
  const scratchBytes = k.streamScratchBytes(rowBytes, op === 'edges' ? 1 : passes);
  const scratchA = output + Math.ceil((size + 64) / 64) * 64;
  const scratchB = scratchA + Math.ceil(scratchBytes / 64) * 64;
  const end = scratchB + scratchBytes;
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / 65536));
  const mem = new Uint8Array(memory.buffer);
  mem.set(data, INPUT);
  mem.fill(GUARD, output, output + size + 64);
  const words = new Uint32Array(memory.buffer, CTRL, 4);
  words.set([0, split, split, h]);
  const px = kind === 'rgba' ? 4 : 1;
  const rgba = kind === 'rgba' ? 1 : 0;
  const call = (ctrl: number, up: number, scratch: number): void => {
    if (op === 'blur') k.blur(INPUT, output, rowBytes, h, px, passes, ctrl, up, scratch);
    else if (op === 'sharpen') k.sharpen(INPUT, output, rowBytes, h, px, passes, ctrl, up, scratch, rgba);
    else k.edges(INPUT, output, w, h, rgba, ctrl, up, scratch);
  };
  call(CTRL, 0, scratchA); // rows [0, split), downwards
  call(CTRL + 8, 1, scratchB); // rows [split, h), upwards
  const after = new Uint8Array(memory.buffer, output + size, 64);
  assert.ok(after.every((b) => b === GUARD), 'wrote past the output');
  // both control words are used up
  assert.ok(words[0]! >= words[1]! && words[2]! >= words[3]!, 'rows left unclaimed');
  return new Uint8Array(memory.buffer, output, size).slice();
}

describe('row sweeps share rows in any proportion with exact results', () => {
  const sizes: Array<[number, number]> = [[1, 1], [3, 2], [5, 7], [16, 5], [17, 13], [64, 9], [33, 40]];
  for (const op of ['blur', 'sharpen', 'edges'] as const) {
    for (const kind of ['plane', 'rgba'] as const) {
      test(`${op} on ${kind}s`, () => {
        for (const [w, h] of sizes) {
          const data = bytes(w * h * (kind === 'rgba' ? 4 : 1), w * 31 + h);
          for (const passes of op === 'edges' ? [1] : [1, 2, 5]) {
            const want = expected(op, kind, w, h, data, passes);
            for (const split of new Set([0, 1, h >> 1, h - 1, h])) {
              if (split < 0 || split > h) continue;
              const got = runSplit(op, kind, w, h, data, passes, split);
              assert.deepEqual(got, want, `${op} ${kind} ${w}x${h} x${passes}, rows below ${split} swept up`);
            }
          }
        }
      });
    }
  }
});

describe('pointwise kernels', () => {
  test('invert keeps alpha only when asked (whole pixels), and stays within n bytes', () => {
    for (const n of [1, 4, 15, 16, 17, 64, 100]) {
      const data = bytes(n, n);
      const mem = new Uint8Array(memory.buffer);
      mem.set(data, INPUT);
      const out = INPUT + 1024;
      for (const keep of n % 4 === 0 ? [0, 1] : [0]) { // keepAlpha is for whole RGBA pixels
        mem.fill(GUARD, out, out + n + 32);
        k.invert(INPUT, out, n, keep, CTRL);
        const got = mem.slice(out, out + n);
        const want = data.map((v, i) => (keep && i % 4 === 3 ? v : 255 - v));
        assert.deepEqual(got, want, `n=${n} keepAlpha=${keep}`);
        assert.ok(mem.slice(out + n, out + n + 32).every((b) => b === GUARD), `n=${n}: wrote past the end`);
      }
    }
  });
});
