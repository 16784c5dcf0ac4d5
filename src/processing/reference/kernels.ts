/**
 * The reference arithmetic of every filter, in plain TypeScript. Other backends must produce the
 * same bytes. A "plane" here is one 8-bit channel of an image: `stride` bytes apart between
 * neighbouring pixels of a row (1 for an I420 plane, 4 for one channel of RGBA), rows
 * `width * stride` bytes apart. Neighbours outside the image are clamped to the edge.
 *
 * - blur: 3x3 Gaussian [1 2 1; 2 4 2; 1 2 1], out = (sum + 8) >> 4.
 * - sharpen: [0 -1 0; -1 5 -1; 0 -1 0], out = clamp(sum, 0, 255).
 * - sobel: gx = right column (1,2,1) - left column, gy = bottom row (1,2,1) - top row,
 *   out = min(255, |gx| + |gy|).
 * - invert: 255 - v.  luma (RGBA only): (77 R + 150 G + 29 B + 128) >> 8.
 */

/** View of one channel inside a buffer. */
export interface PlaneView {
  data: Uint8Array;
  offset: number;
  width: number;
  height: number;
  /** Bytes between horizontally adjacent samples. */
  stride: number;
}

type Kernel3x3 = (nw: number, n: number, ne: number, w: number, c: number, e: number, sw: number, s: number, se: number) => number;

const blurKernel: Kernel3x3 = (nw, n, ne, w, c, e, sw, s, se) =>
  (nw + 2 * n + ne + 2 * w + 4 * c + 2 * e + sw + 2 * s + se + 8) >> 4;

const sharpenKernel: Kernel3x3 = (_nw, n, _ne, w, c, e, _sw, s, _se) => {
  const v = 5 * c - n - w - e - s;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

const sobelKernel: Kernel3x3 = (nw, n, ne, w, _c, e, sw, s, se) => {
  const gx = ne + 2 * e + se - (nw + 2 * w + sw);
  const gy = sw + 2 * s + se - (nw + 2 * n + ne);
  const m = Math.abs(gx) + Math.abs(gy);
  return m > 255 ? 255 : m;
};

function apply3x3(src: PlaneView, dst: PlaneView, k: Kernel3x3): void {
  const { width: w, height: h } = src;
  const at = (p: PlaneView, x: number, y: number): number => p.data[p.offset + (y * w + x) * p.stride]!;
  for (let y = 0; y < h; y++) {
    const ym = y > 0 ? y - 1 : 0;
    const yp = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      const xm = x > 0 ? x - 1 : 0;
      const xp = x < w - 1 ? x + 1 : w - 1;
      dst.data[dst.offset + (y * w + x) * dst.stride] = k(
        at(src, xm, ym), at(src, x, ym), at(src, xp, ym),
        at(src, xm, y), at(src, x, y), at(src, xp, y),
        at(src, xm, yp), at(src, x, yp), at(src, xp, yp),
      );
    }
  }
}

/** Copy a plane into a dense scratch plane (stride 1). */
function dense(p: PlaneView): PlaneView {
  const data = new Uint8Array(p.width * p.height);
  for (let i = 0; i < data.length; i++) data[i] = p.data[p.offset + i * p.stride]!;
  return { data, offset: 0, width: p.width, height: p.height, stride: 1 };
}

function copyPlane(src: PlaneView, dst: PlaneView): void {
  const n = src.width * src.height;
  for (let i = 0; i < n; i++) dst.data[dst.offset + i * dst.stride] = src.data[src.offset + i * src.stride]!;
}

function iterate(src: PlaneView, dst: PlaneView, k: Kernel3x3, iterations: number): void {
  let a = dense(src);
  let b = dense(src);
  for (let i = 0; i < iterations; i++) {
    apply3x3(a, b, k);
    [a, b] = [b, a];
  }
  copyPlane(a, dst);
}

/** `iterations` passes of the 3x3 Gaussian blur from src into dst. */
export function blurPlane(src: PlaneView, dst: PlaneView, iterations: number): void {
  iterate(src, dst, blurKernel, iterations);
}

/** `iterations` passes of the 3x3 sharpen from src into dst. */
export function sharpenPlane(src: PlaneView, dst: PlaneView, iterations: number): void {
  iterate(src, dst, sharpenKernel, iterations);
}

/** Sobel gradient magnitude of src into dst. */
export function sobelPlane(src: PlaneView, dst: PlaneView): void {
  apply3x3(dense(src), dst, sobelKernel);
}

/** 255 - v for every sample. */
export function invertPlane(src: PlaneView, dst: PlaneView): void {
  const n = src.width * src.height;
  for (let i = 0; i < n; i++) dst.data[dst.offset + i * dst.stride] = 255 - src.data[src.offset + i * src.stride]!;
}

/** Set every sample of a plane to `value`. */
export function fillPlane(dst: PlaneView, value: number): void {
  const n = dst.width * dst.height;
  for (let i = 0; i < n; i++) dst.data[dst.offset + i * dst.stride] = value;
}

export { copyPlane };

/** Luma of an RGBA image into a dense plane: (77 R + 150 G + 29 B + 128) >> 8. */
export function lumaOfRgba(rgba: Uint8Array, width: number, height: number): PlaneView {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) {
    const p = i * 4;
    data[i] = (77 * rgba[p]! + 150 * rgba[p + 1]! + 29 * rgba[p + 2]! + 128) >> 8;
  }
  return { data, offset: 0, width, height, stride: 1 };
}
