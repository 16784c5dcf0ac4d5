/**
 * What the face tests share: the astronaut photo (python3-skimage) as RGBA and I420, her face's
 * box, and a measure of whether a face region was covered (its detail gone).
 */
import { ASTRONAUT_FACE, loadRgba, datasetAvailable, type Box } from '../../bench/faces/dataset.js';
import type { RgbaImage, I420Frame } from '../../src/processing/types.js';

export { ASTRONAUT_FACE, datasetAvailable, type Box };

/** The astronaut photo, 512 x 512 RGBA. */
export async function astronaut(): Promise<RgbaImage> {
  return loadRgba('astronaut.png');
}

/** RGBA to I420 (BT.601 limited range, the inverse of what the detector reads). */
export function rgbaToI420(img: RgbaImage): I420Frame {
  const { width: w, height: h, data: s } = img;
  const cw = (w + 1) >> 1, ch = (h + 1) >> 1;
  const out = new Uint8Array(w * h + 2 * cw * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      out[y * w + x] = Math.round(16 + (65.7 * s[p]! + 129 * s[p + 1]! + 25 * s[p + 2]!) / 256);
    }
  }
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const p = (Math.min(h - 1, 2 * y) * w + Math.min(w - 1, 2 * x)) * 4;
      const r = s[p]!, g = s[p + 1]!, b = s[p + 2]!;
      out[w * h + y * cw + x] = Math.round(128 + (-37.9 * r - 74.5 * g + 112.4 * b) / 256);
      out[w * h + cw * ch + y * cw + x] = Math.round(128 + (112.4 * r - 94.2 * g - 18.2 * b) / 256);
    }
  }
  return { width: w, height: h, data: out };
}

/** A frame with the photo pasted at (dx, dy) over grey: I420, its face box moved with it. */
export function shiftedI420(img: RgbaImage, width: number, height: number, dx: number, dy: number): { frame: I420Frame; face: Box } {
  const canvas = new Uint8Array(width * height * 4).fill(128);
  for (let y = 0; y < img.height; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= height) continue;
    for (let x = 0; x < img.width; x++) {
      const tx = x + dx;
      if (tx < 0 || tx >= width) continue;
      canvas.set(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4), (ty * width + tx) * 4);
    }
  }
  return { frame: rgbaToI420({ width, height, data: canvas }), face: { ...ASTRONAUT_FACE, x: ASTRONAUT_FACE.x + dx, y: ASTRONAUT_FACE.y + dy } };
}

/** Sum of absolute horizontal and vertical differences of a luma (I420 Y) box: the detail in it. */
export function detailI420(frame: I420Frame, b: Box): number {
  let sum = 0;
  const w = frame.width;
  for (let y = Math.max(0, b.y); y < Math.min(frame.height - 1, b.y + b.h); y++) {
    for (let x = Math.max(0, b.x); x < Math.min(w - 1, b.x + b.w); x++) {
      const v = frame.data[y * w + x]!;
      sum += Math.abs(v - frame.data[y * w + x + 1]!) + Math.abs(v - frame.data[(y + 1) * w + x]!);
    }
  }
  return sum;
}

/** The same for the green channel of an RGBA image. */
export function detailRgba(img: RgbaImage, b: Box): number {
  let sum = 0;
  const w = img.width;
  for (let y = Math.max(0, b.y); y < Math.min(img.height - 1, b.y + b.h); y++) {
    for (let x = Math.max(0, b.x); x < Math.min(w - 1, b.x + b.w); x++) {
      const v = img.data[(y * w + x) * 4 + 1]!;
      sum += Math.abs(v - img.data[(y * w + x + 1) * 4 + 1]!) + Math.abs(v - img.data[((y + 1) * w + x) * 4 + 1]!);
    }
  }
  return sum;
}
