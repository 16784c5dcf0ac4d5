// The streaming engine for iterated 3x3 filters: output rows [y0, y1) of `levels` passes are
// produced in one sweep, keeping only three rows of every intermediate pass in a ring (a few
// hundred KiB for 1080p RGBA x10, so it stays in L2) instead of writing whole intermediate images.
// Pass k row r needs pass k-1 rows r-1, r, r+1 (clamped to the image), so a strip of output rows
// needs `levels` extra input rows on each side and nothing from other strips: workers run their
// strips with no synchronisation between passes, and the edge clamp stays exact at the image
// border because rows are clamped to [0, h - 1] at every pass, as in the reference.
import { blurHorizontal, blurRowPlane, blurRowRgba, blurVertical, expandRgba, lumaRow, padRow, setStage, sharpenRow, sobelRow } from './rows';

export const OP_BLUR = 0;
export const OP_SHARPEN = 1;
export const OP_SOBEL = 2;

/** Pass 0 rows are the input rows themselves (blur reads no horizontal neighbour of them). */
export const SRC_DIRECT = 0;
/** Pass 0 rows are padded copies of the input rows. */
export const SRC_COPY = 1;
/** Pass 0 rows are padded luma rows of RGBA input rows (edges on RGBA). */
export const SRC_LUMA = 2;

/** Bytes before every ring row: room for the clamp-to-edge pad of one RGBA pixel, 16-aligned. */
const PAD: usize = 16;

// @ts-ignore: decorator
@inline function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

function ringStrideOf(n: usize): usize {
  return PAD + align16(n) + 32;
}

function tempBytesOf(n: usize): usize {
  return ((PAD + align16(n) + 32) << 1);
}

/** Scratch bytes one call of `run` needs for rows of `n` bytes and `levels` passes. */
export function scratchBytes(n: usize, levels: usize): usize {
  return align16((levels + 1) << 2) + 16 + tempBytesOf(n) + (align16(n) + 32) + (levels + 1) * 3 * ringStrideOf(n);
}

let op = 0;
let srcMode = 0;
let src: usize = 0;
let dst: usize = 0;
let n: usize = 0; // bytes of one row of every pass
let h = 0;
let cs: usize = 1;
let levels = 1;
let srcRowBytes: usize = 0; // bytes of one input row (4 n in SRC_LUMA mode)
let dstRowBytes: usize = 0;
let alphaFix = false; // RGBA sharpen: alpha bytes of the output are the input's
let next: usize = 0; // i32 per pass: the next row it produces
let temp: usize = 0; // u16 row of the blur's vertical sums (padded)
let edge: usize = 0; // plane row of the RGBA sobel before expansion
let ring: usize = 0;
let ringStride: usize = 0;

// @ts-ignore: decorator
@inline function rowOf(level: i32, r: i32): usize {
  if (level == 0 && srcMode == SRC_DIRECT) return src + <usize>r * n;
  return ring + (<usize>(level * 3 + r % 3)) * ringStride + PAD;
}

/** Produce the next row of pass `k`, first producing the rows of pass k-1 it needs. */
function advance(k: i32): void {
  const slot = next + (<usize>k << 2);
  const r = load<i32>(slot);
  store<i32>(slot, r + 1);
  if (k == 0) {
    // only in SRC_COPY / SRC_LUMA mode
    const row = rowOf(0, r);
    if (srcMode == SRC_LUMA) lumaRow(src + <usize>r * srcRowBytes, row, n);
    else memory.copy(row, src + <usize>r * srcRowBytes, n);
    padRow(row, n, cs);
    return;
  }
  const rm = r > 0 ? r - 1 : 0;
  const rp = r < h - 1 ? r + 1 : h - 1;
  if (k > 1 || srcMode != SRC_DIRECT) {
    const prev = next + (<usize>(k - 1) << 2);
    while (load<i32>(prev) <= rp) advance(k - 1);
  }
  const a = rowOf(k - 1, rm);
  const b = rowOf(k - 1, r);
  const c = rowOf(k - 1, rp);
  const last = k == levels;
  const out = last ? dst + <usize>r * dstRowBytes : rowOf(k, r);
  if (op == OP_BLUR) {
    if ((n & 15) == 0 && cs == 4) blurRowRgba(a, b, c, out, n);
    else if ((n & 15) == 0 && cs == 1) blurRowPlane(a, b, c, out, n);
    else {
      blurVertical(a, b, c, temp, n, cs);
      blurHorizontal(temp, out, n, cs);
    }
  } else if (op == OP_SHARPEN) {
    sharpenRow(a, b, c, out, n, cs, last && alphaFix ? src + <usize>r * srcRowBytes : 0);
  } else if (srcMode == SRC_LUMA) {
    sobelRow(a, b, c, edge, n);
    expandRgba(edge, src + <usize>r * srcRowBytes, out, dstRowBytes);
  } else {
    sobelRow(a, b, c, out, n);
  }
  if (!last) padRow(out, n, cs);
}

/**
 * Run `passes` passes of filter `kind` over a plane or RGBA image of `height` rows of `rowBytes`
 * bytes (pixels `pixelBytes` apart), writing output rows [y0, y1) to `out`.
 */
export function run(
  kind: i32, mode: i32, input: usize, output: usize, rowBytes: usize, height: i32, pixelBytes: usize,
  passes: i32, y0: i32, y1: i32, scratch: usize, keepAlpha: bool,
): void {
  if (y0 >= y1) return;
  op = kind;
  srcMode = mode;
  src = input;
  dst = output;
  n = rowBytes;
  h = height;
  cs = pixelBytes;
  levels = passes;
  srcRowBytes = mode == SRC_LUMA ? rowBytes << 2 : rowBytes;
  dstRowBytes = srcRowBytes;
  alphaFix = keepAlpha;
  next = scratch;
  let p = scratch + align16((<usize>passes + 1) << 2);
  setStage(p);
  p += 16;
  temp = p + (PAD << 1);
  p += tempBytesOf(n);
  edge = p;
  p += align16(n) + 32;
  ring = p;
  ringStride = ringStrideOf(n);
  for (let k = 0; k <= passes; k++) {
    const lo = y0 - (passes - k);
    store<i32>(next + (<usize>k << 2), lo > 0 ? lo : 0);
  }
  for (let r = y0; r < y1; r++) advance(passes);
}
