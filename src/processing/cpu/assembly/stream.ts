// The streaming engine for iterated 3x3 filters: output rows of `levels` passes are produced in
// one sweep, keeping only three rows of every intermediate pass in a ring (a few hundred KiB for
// 1080p RGBA x10, so it stays in L2) instead of writing whole intermediate images.
// Pass k row r needs pass k-1 rows r-1, r, r+1 (clamped to the image), so a run of output rows
// needs `levels` extra input rows on each side and nothing from other workers; the edge clamp
// stays exact at the image border because rows are clamped to [0, h - 1] at every pass, as in
// the reference.
//
// Work sharing: the rows of a segment are claimed a few at a time from a control word shared by
// two workers, one sweeping down from the top, one sweeping up from the bottom, until they meet.
// Each keeps its own pipeline, so a claim continues where that worker left off (no halo is
// recomputed), and a worker the OS leaves waiting simply claims less: the other one takes over.
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

let up = false; // sweep direction: rows in decreasing order

/** Produce the next row of pass `k`, first producing the rows of pass k-1 it needs. */
function advance(k: i32): void {
  const slot = next + (<usize>k << 2);
  const r = load<i32>(slot);
  store<i32>(slot, up ? r - 1 : r + 1);
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
    if (up) {
      while (load<i32>(prev) >= rm) advance(k - 1);
    } else {
      while (load<i32>(prev) <= rp) advance(k - 1);
    }
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

/** Rows claimed at a time: small enough to share the tail of a segment evenly, large enough that claims cost nothing. */
const CLAIM: i32 = 4;

/**
 * Claim the next rows from the control word at `ctrl` (i64: low 32 bits the first unclaimed
 * row, high 32 bits one past the last). Returns the claimed [from, to) packed the same way, or
 * -1 when the segment is done.
 */
function claim(ctrl: usize): i64 {
  while (true) {
    const old = atomic.load<i64>(ctrl);
    const top = <i32>old;
    const bottom = <i32>(old >>> 32);
    if (top >= bottom) return -1;
    let from = top;
    let to = bottom;
    let word: i64;
    if (up) {
      from = bottom - CLAIM > top ? bottom - CLAIM : top;
      word = (<i64>from << 32) | <i64>(<u32>top);
    } else {
      to = top + CLAIM < bottom ? top + CLAIM : bottom;
      word = (<i64>bottom << 32) | <i64>(<u32>to);
    }
    if (atomic.cmpxchg<i64>(ctrl, old, word) == old) return (<i64>to << 32) | <i64>(<u32>from);
  }
}

/**
 * Run `passes` passes of filter `kind` over a plane or RGBA image of `height` rows of `rowBytes`
 * bytes (pixels `pixelBytes` apart), writing the output rows this worker claims from the control
 * word at `ctrl`, sweeping down (`fromBottom` 0) or up (1).
 */
export function run(
  kind: i32, mode: i32, input: usize, output: usize, rowBytes: usize, height: i32, pixelBytes: usize,
  passes: i32, ctrl: usize, fromBottom: bool, scratch: usize, keepAlpha: bool,
): void {
  op = kind;
  srcMode = mode;
  src = input;
  dst = output;
  n = rowBytes;
  h = height;
  cs = pixelBytes;
  levels = passes;
  up = fromBottom;
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
  let started = false;
  while (true) {
    const got = claim(ctrl);
    if (got < 0) return;
    const from = <i32>got;
    const to = <i32>(got >>> 32);
    if (!started) {
      // every pass starts `passes - k` rows before the first output row, clamped to the image
      started = true;
      for (let k = 0; k <= passes; k++) {
        const first = up ? to - 1 + (passes - k) : from - (passes - k);
        store<i32>(next + (<usize>k << 2), first < 0 ? 0 : first > h - 1 ? h - 1 : first);
      }
    }
    if (up) {
      for (let r = to - 1; r >= from; r--) advance(passes);
    } else {
      for (let r = from; r < to; r++) advance(passes);
    }
  }
}
