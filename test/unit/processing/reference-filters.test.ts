/**
 * The reference filters on small cases worked out by hand: clamp-to-edge, rounding, saturation,
 * chroma and alpha handling, iterations. Every other backend is tested against this reference,
 * so these tests pin down what "correct" means.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { blurPlane, sharpenPlane, sobelPlane, type PlaneView } from '../../../src/processing/reference/kernels.js';
import { referenceI420, referenceRgba } from '../../../src/processing/reference/reference-processor.js';
import { i420Size, type KernelFilterSpec } from '../../../src/processing/types.js';

function plane(width: number, height: number, values: number[]): PlaneView {
  assert.equal(values.length, width * height);
  return { data: Uint8Array.from(values), offset: 0, width, height, stride: 1 };
}

function empty(width: number, height: number): PlaneView {
  return { data: new Uint8Array(width * height), offset: 0, width, height, stride: 1 };
}

const blur = (w: number, h: number, v: number[], n = 1): number[] => {
  const dst = empty(w, h);
  blurPlane(plane(w, h, v), dst, n);
  return [...dst.data];
};
const sharpen = (w: number, h: number, v: number[], n = 1): number[] => {
  const dst = empty(w, h);
  sharpenPlane(plane(w, h, v), dst, n);
  return [...dst.data];
};
const sobel = (w: number, h: number, v: number[]): number[] => {
  const dst = empty(w, h);
  sobelPlane(plane(w, h, v), dst);
  return [...dst.data];
};

const rgba = (w: number, h: number, data: number[], filter: KernelFilterSpec): number[] => {
  const out = new Uint8Array(w * h * 4);
  referenceRgba({ width: w, height: h, data: Uint8Array.from(data) }, filter, out);
  return [...out];
};
const i420 = (w: number, h: number, data: number[], filter: KernelFilterSpec): number[] => {
  const out = new Uint8Array(i420Size(w, h));
  referenceI420({ width: w, height: h, data: Uint8Array.from(data) }, filter, out);
  return [...out];
};

describe('blur (3x3 Gaussian, (sum + 8) >> 4, clamp-to-edge)', () => {
  test('a 1x1 image is unchanged, whatever the iterations: all nine taps clamp to the pixel', () => {
    for (const v of [0, 1, 127, 255]) {
      assert.deepEqual(blur(1, 1, [v], 1), [v]);
      assert.deepEqual(blur(1, 1, [v], 7), [v]);
    }
  });

  test('a single row: the row above and below clamp to the row itself (weight 4)', () => {
    // x=0: 4 * (0 + 2*0 + 16) = 64 -> (64 + 8) >> 4 = 4; x=1: 4 * (0 + 32 + 0) = 128 -> 8
    assert.deepEqual(blur(3, 1, [0, 16, 0]), [4, 8, 4]);
  });

  test('rounds half up: a sum of 8 gives 1, a sum of 7 would give 0', () => {
    // x=0: 4 * (0 + 0 + 2) = 8 -> (8 + 8) >> 4 = 1; x=1: 4 * (0 + 4 + 2) = 24 -> 32 >> 4 = 2
    assert.deepEqual(blur(2, 1, [0, 2]), [1, 2]);
    // 4 * (0 + 0 + 1) = 4 -> 12 >> 4 = 0; x=1: 4 * (0 + 2 + 1) = 12 -> 20 >> 4 = 1
    assert.deepEqual(blur(2, 1, [0, 1]), [0, 1]);
  });

  test('a bright centre spreads with weights 1 2 1 / 2 4 2 / 1 2 1', () => {
    const v = [0, 0, 0, 0, 160, 0, 0, 0, 0];
    // corners 160 -> (160 + 8) >> 4 = 10, edges 320 -> 20, centre 640 -> 40
    assert.deepEqual(blur(3, 3, v), [10, 20, 10, 20, 40, 20, 10, 20, 10]);
  });

  test('the edge clamps: a bright corner keeps more of its weight', () => {
    // (0,0): nw n ne w c e sw s se = 160 160 0 160 160 0 0 0 0 -> 160*(1+2+2+4) = 1440 -> 90
    assert.deepEqual(blur(3, 3, [160, 0, 0, 0, 0, 0, 0, 0, 0]), [90, 30, 0, 30, 10, 0, 0, 0, 0]);
  });

  test('iterations apply the filter again to the rounded result', () => {
    const v = [0, 0, 0, 0, 160, 0, 0, 0, 0];
    assert.deepEqual(blur(3, 3, v, 2), blur(3, 3, blur(3, 3, v, 1), 1));
    assert.deepEqual(blur(3, 3, v, 3), blur(3, 3, blur(3, 3, blur(3, 3, v, 1), 1), 1));
    assert.notDeepEqual(blur(3, 3, v, 2), blur(3, 3, v, 1));
  });
});

describe('sharpen ([0 -1 0; -1 5 -1; 0 -1 0], clamped to 0..255)', () => {
  test('a flat image is unchanged', () => {
    assert.deepEqual(sharpen(3, 2, [90, 90, 90, 90, 90, 90]), [90, 90, 90, 90, 90, 90]);
  });

  test('saturates above 255 and below 0', () => {
    const v = [100, 100, 100, 100, 200, 100, 100, 100, 100];
    // centre 5*200 - 400 = 600 -> 255; (1,0): 500 - (100 clamped n + 200 s + 100 + 100) = 0;
    // corner (0,0): 500 - (100 + 100 + 100 + 100) = 100
    assert.deepEqual(sharpen(3, 3, v), [100, 0, 100, 0, 255, 0, 100, 0, 100]);
    const dark = [100, 100, 100, 100, 0, 100, 100, 100, 100];
    // centre 0 - 400 -> 0; (1,0): 500 - (100 + 0 + 100 + 100) = 200
    assert.deepEqual(sharpen(3, 3, dark), [100, 200, 100, 200, 0, 200, 100, 200, 100]);
  });

  test('iterations repeat the clamped result', () => {
    const v = [10, 50, 90, 130, 170, 210];
    assert.deepEqual(sharpen(3, 2, v, 2), sharpen(3, 2, sharpen(3, 2, v, 1), 1));
  });
});

describe('sobel (|gx| + |gy|, at most 255)', () => {
  test('a gentle horizontal ramp: gx only, clamped at the ends', () => {
    // single row, so each column sum is 4x the value; x=0: 4*(10 - 0) = 40; x=1: 4*(20 - 0) = 80; x=2: 4*(20 - 10) = 40
    assert.deepEqual(sobel(3, 1, [0, 10, 20]), [40, 80, 40]);
  });

  test('a vertical ramp: gy only', () => {
    assert.deepEqual(sobel(1, 3, [0, 10, 20]), [40, 80, 40]);
  });

  test('a hard edge saturates at 255', () => {
    // centre: gx = 4 * 255 = 1020 -> 255
    assert.deepEqual(sobel(3, 3, [0, 0, 255, 0, 0, 255, 0, 0, 255]), [0, 255, 255, 0, 255, 255, 0, 255, 255]);
  });

  test('gx and gy add as absolute values', () => {
    // (1,1) of a diagonal: gx = (ne+2e+se)-(nw+2w+sw) = (0+0+9) - (0+0+0) = 9 (only se = 9), gy = (sw+2s+se)-(nw+2n+ne) = 9
    assert.equal(sobel(3, 3, [0, 0, 0, 0, 0, 0, 0, 0, 9])[4], 18);
    // and with the signs flipped (nw bright): both negative, magnitudes still add
    assert.equal(sobel(3, 3, [9, 0, 0, 0, 0, 0, 0, 0, 0])[4], 18);
  });
});

describe('I420 frames', () => {
  // 2x2: Y = 4 bytes, U = 1, V = 1
  const frame = [10, 20, 30, 40, 50, 200];

  test('none copies, invert is 255 - v on Y, U and V', () => {
    assert.deepEqual(i420(2, 2, frame, { name: 'none', iterations: 1 }), frame);
    assert.deepEqual(i420(2, 2, frame, { name: 'invert', iterations: 1 }), [245, 235, 225, 215, 205, 55]);
  });

  test('grayscale keeps Y and sets U = V = 128', () => {
    assert.deepEqual(i420(2, 2, frame, { name: 'grayscale', iterations: 1 }), [10, 20, 30, 40, 128, 128]);
  });

  test('edges is Sobel on Y with U = V = 128', () => {
    const out = i420(2, 2, frame, { name: 'edges', iterations: 1 });
    assert.deepEqual(out.slice(4), [128, 128]);
    // (0,0): gx = (20+2*20+40) - (10+2*10+30) = 40; gy = (30+2*30+40) - (10+2*10+20) = 80 -> 120
    assert.equal(out[0], 120);
  });

  test('sharpen touches only Y; blur filters all three planes', () => {
    const s = i420(2, 2, frame, { name: 'sharpen', iterations: 1 });
    assert.deepEqual(s.slice(4), [50, 200]);
    const b = i420(2, 2, frame, { name: 'blur', iterations: 2 });
    // a 1x1 chroma plane is a fixed point of the blur
    assert.deepEqual(b.slice(4), [50, 200]);
    assert.notDeepEqual(b.slice(0, 4), frame.slice(0, 4));
  });

  test('odd sizes round the chroma planes up (3x3 has 2x2 chroma)', () => {
    assert.equal(i420Size(3, 3), 9 + 2 * 4);
    const data = Array.from({ length: i420Size(3, 3) }, (_, i) => i * 10);
    const out = i420(3, 3, data, { name: 'grayscale', iterations: 1 });
    assert.deepEqual(out, [...data.slice(0, 9), ...new Array(8).fill(128)]);
  });
});

describe('RGBA images', () => {
  const px = [255, 0, 0, 7, 255, 255, 255, 200]; // red (alpha 7), white (alpha 200)

  test('luma is (77 R + 150 G + 29 B + 128) >> 8, alpha kept', () => {
    // red: (77 * 255 + 128) >> 8 = 77; white: (256 * 255 + 128) >> 8 = 255
    assert.deepEqual(rgba(2, 1, px, { name: 'grayscale', iterations: 1 }), [77, 77, 77, 7, 255, 255, 255, 200]);
  });

  test('invert leaves alpha alone', () => {
    assert.deepEqual(rgba(2, 1, px, { name: 'invert', iterations: 1 }), [0, 255, 255, 7, 0, 0, 0, 200]);
  });

  test('edges: Sobel of the luma in R, G and B, alpha kept', () => {
    // luma row [77, 255]: x=0: 4*(255 - 77) = 712 -> 255; x=1: same -> 255
    assert.deepEqual(rgba(2, 1, px, { name: 'edges', iterations: 1 }), [255, 255, 255, 7, 255, 255, 255, 200]);
  });

  test('sharpen filters R, G, B and keeps alpha', () => {
    // R: both 255 -> 255; G: x=0: 5*0 - (0 + 0 + 0 + 255) -> 0, x=1: 5*255 - (255+255+0+255) = 510 -> 255
    assert.deepEqual(rgba(2, 1, px, { name: 'sharpen', iterations: 3 }), [255, 0, 0, 7, 255, 255, 255, 200]);
  });

  test('blur filters all four channels, alpha included, each on its own', () => {
    // alpha row [7, 200]: x=0: 4*(7 + 14 + 200) = 884 -> (892) >> 4 = 55; x=1: 4*(7 + 400 + 200) = 2428 -> 152
    const out = rgba(2, 1, px, { name: 'blur', iterations: 1 });
    assert.equal(out[3], 55);
    assert.equal(out[7], 152);
    // R is 255 in both pixels: stays 255 (channels do not mix)
    assert.equal(out[0], 255);
    assert.equal(out[4], 255);
  });

  test('iterations are ignored by none, invert, grayscale and edges', () => {
    for (const name of ['none', 'invert', 'grayscale', 'edges'] as const) {
      assert.deepEqual(rgba(2, 1, px, { name, iterations: 5 }), rgba(2, 1, px, { name, iterations: 1 }));
    }
  });
});
