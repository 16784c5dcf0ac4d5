/**
 * The frame stamp the /app page draws into every sent frame must read back after each server
 * filter (invert, grayscale, blur, sharpen, edges), at any frame width, and must not read a
 * stamp where there is none. Runs in Node: frame-stamp.ts has no DOM.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COUNTER_MOD, STAMP_CELLS, cellX, readStamp, stampColors } from '../../src/web/frame-stamp.js';

/** Luma of each column of the strip as a codec delivers it: video range 16..235. */
function stripLuma(counter: number, width: number): Float32Array {
  const colors = stampColors(counter);
  const out = new Float32Array(width);
  for (let i = 0; i < STAMP_CELLS; i++) {
    for (let x = cellX(i, width); x < cellX(i + 1, width); x++) out[x] = colors[i] === '#ffffff' ? 235 : 16;
  }
  return out;
}

const clamp = (v: number) => Math.max(0, Math.min(255, v));
const invert = (l: Float32Array) => l.map((v) => 255 - v);
/** The 3x3 Gaussian of the server on a strip that is uniform vertically: [1 2 1]/4 across, clamp to edge. */
function blur(l: Float32Array, times: number): Float32Array {
  let a = l;
  for (let t = 0; t < times; t++) {
    const b = new Float32Array(a.length);
    for (let x = 0; x < a.length; x++) b[x] = (a[Math.max(0, x - 1)]! + 2 * a[x]! + a[Math.min(a.length - 1, x + 1)]!) / 4;
    a = b;
  }
  return a;
}
/** Sobel magnitude on a vertically uniform strip: |gx| = 4·|p[x+1] − p[x−1]|, clamped. */
const edges = (l: Float32Array) => l.map((_, x) => clamp(4 * Math.abs(l[Math.min(l.length - 1, x + 1)]! - l[Math.max(0, x - 1)]!)));
/** Unsharp mask like the server's sharpen, across only. */
const sharpen = (l: Float32Array) => l.map((v, x) => clamp(v + (v - (l[Math.max(0, x - 1)]! + 2 * v + l[Math.min(l.length - 1, x + 1)]!) / 4)));

/** Deterministic noise so the test never flakes. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const noisy = (l: Float32Array, r: () => number, amp: number) => l.map((v) => clamp(v + (r() - 0.5) * 2 * amp));

describe('frame stamp', () => {
  test('every counter reads back unfiltered and inverted, with codec-like noise', () => {
    const r = rng(1);
    for (let c = 0; c < COUNTER_MOD; c++) {
      const l = noisy(stripLuma(c, 320), r, 12);
      assert.equal(readStamp(l), c);
      assert.equal(readStamp(invert(l)), c);
    }
  });

  for (const width of [160, 320, 641, 1280, 3840]) {
    test(`reads back after blur x1/x10/x50, sharpen and edges at width ${width} (grayscale keeps luma)`, () => {
      const r = rng(width);
      for (let k = 0; k < 200; k++) {
        const c = Math.floor(r() * COUNTER_MOD);
        const l = stripLuma(c, width);
        assert.equal(readStamp(noisy(blur(l, 1), r, 8)), c, `blur x1, counter ${c}`);
        assert.equal(readStamp(noisy(blur(l, 10), r, 8)), c, `blur x10, counter ${c}`);
        if (width >= 320) assert.equal(readStamp(noisy(blur(l, 50), r, 8)), c, `blur x50, counter ${c}`);
        assert.equal(readStamp(noisy(sharpen(l), r, 8)), c, `sharpen, counter ${c}`);
        assert.equal(readStamp(noisy(edges(l), r, 8)), c, `edges, counter ${c}`);
      }
    });
  }

  test('a flat strip, or a frame without a stamp, is not read as one', () => {
    assert.equal(readStamp(new Float32Array(320).fill(128)), null);
    assert.equal(readStamp(new Float32Array(320).fill(16)), null);
    const r = rng(7);
    let falsePositives = 0;
    for (let k = 0; k < 1000; k++) {
      // A random picture: smooth random blobs, as a camera image under the strip might look.
      const l = blur(Float32Array.from({ length: 320 }, () => r() * 255), 3);
      if (readStamp(l) !== null) falsePositives++;
    }
    // Two clean levels plus a 4-bit check; the page also ignores counters it did not send recently.
    assert.ok(falsePositives < 10, `${falsePositives} of 1000 random strips decoded`);
  });
});
