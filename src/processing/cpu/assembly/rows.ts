// Row kernels: one output row of a 3x3 filter from three input rows, 16 bytes per SIMD step.
// The arithmetic is the reference's (src/processing/reference/kernels.ts) to the bit:
//   blur    (a + 2b + c) vertically, then (l + 2c + r + 8) >> 4 horizontally, in u16 lanes;
//   sharpen clamp(5c - n - s - w - e, 0, 255) in i16 lanes (narrow_u saturates = the clamp);
//   sobel   min(255, |gx| + |gy|) in i16 lanes.
// `n` is the row length in bytes and `cs` the distance in bytes between horizontal neighbours
// (1 for a plane, 4 for interleaved RGBA). Rows read with a horizontal offset are "padded": the
// `cs` bytes before x = 0 and after x = n - 1 repeat the edge pixel (clamp-to-edge), see padRow.
// Reads may run up to 15 bytes past a row (the caller leaves slack); writes never do: the last
// partial vector is recomputed at n - 16 (same values, overlapping), or staged for rows < 16.

/** 16 bytes of slack used to stage the output of rows shorter than one vector. */
let stage: usize = 0;

/** Where rows shorter than 16 bytes are staged (set by the streaming engine from its scratch). */
export function setStage(ptr: usize): void {
  stage = ptr;
}

/** Repeat the edge pixel into the `cs` bytes before and after a row of `n` bytes. */
export function padRow(row: usize, n: usize, cs: usize): void {
  for (let i: usize = 0; i < cs; i++) {
    store<u8>(row - cs + i, load<u8>(row + i));
    store<u8>(row + n + i, load<u8>(row + n - cs + i));
  }
}

// ---- blur ------------------------------------------------------------------------------------

/** Vertical [1 2 1] of three u8 rows into a u16 row `t` (n elements, padded by cs elements). */
export function blurVertical(a: usize, b: usize, c: usize, t: usize, n: usize, cs: usize): void {
  for (let x: usize = 0; x < n; x += 16) {
    const va = v128.load(a + x);
    const vb = v128.load(b + x);
    const vc = v128.load(c + x);
    const lo = i16x8.add(
      i16x8.add(i16x8.extend_low_i8x16_u(va), i16x8.extend_low_i8x16_u(vc)),
      i16x8.shl(i16x8.extend_low_i8x16_u(vb), 1),
    );
    const hi = i16x8.add(
      i16x8.add(i16x8.extend_high_i8x16_u(va), i16x8.extend_high_i8x16_u(vc)),
      i16x8.shl(i16x8.extend_high_i8x16_u(vb), 1),
    );
    const p = t + (x << 1);
    v128.store(p, lo);
    v128.store(p, hi, 16);
  }
  // clamp-to-edge in the u16 domain: the vertical sum of the edge pixel repeats
  for (let i: usize = 0; i < cs; i++) {
    store<u16>(t + ((i - cs) << 1), load<u16>(t + (i << 1)));
    store<u16>(t + ((n + i) << 1), load<u16>(t + ((n - cs + i) << 1)));
  }
}

// @ts-ignore: decorator
@inline function blurH16(t: usize, x: usize, cs2: usize): v128 {
  const p = t + (x << 1);
  const e8 = i16x8.splat(8);
  const s0 = i16x8.shr_u(
    i16x8.add(i16x8.add(v128.load(p - cs2), v128.load(p + cs2)), i16x8.add(i16x8.shl(v128.load(p), 1), e8)),
    4,
  );
  const s1 = i16x8.shr_u(
    i16x8.add(i16x8.add(v128.load(p - cs2, 16), v128.load(p + cs2, 16)), i16x8.add(i16x8.shl(v128.load(p, 16), 1), e8)),
    4,
  );
  return i8x16.narrow_i16x8_u(s0, s1);
}

/** Horizontal [1 2 1], +8, >>4 of the u16 row `t` into `n` u8 bytes at dst. */
export function blurHorizontal(t: usize, dst: usize, n: usize, cs: usize): void {
  const cs2 = cs << 1;
  let x: usize = 0;
  for (; x + 16 <= n; x += 16) v128.store(dst + x, blurH16(t, x, cs2));
  if (x < n) {
    if (n >= 16) {
      v128.store(dst + n - 16, blurH16(t, n - 16, cs2));
    } else {
      v128.store(stage, blurH16(t, x, cs2));
      memory.copy(dst + x, stage, n - x);
    }
  }
}

// Fused blur row for rows of whole 16-byte blocks: the vertical sums stay in registers and the
// horizontal neighbours come from byte shuffles of adjacent blocks (no u16 row round trip through
// memory). One copy per pixel size because shuffle lanes are compile-time constants.
// The rounding term is folded into the vertical sums: V = a + 2b + c + 2, so the horizontal
// l + 2c + r of three of them carries 2 + 4 + 2 = 8, and the output is (l + 2c + r) >> 4. Each
// V is used three times but computed once, which saves an add per output vector (~5% measured).

// @ts-ignore: decorator
@inline function vsumLo(a: usize, b: usize, c: usize, x: usize): v128 {
  const vb = i16x8.extend_low_i8x16_u(v128.load(b + x));
  return i16x8.add(
    i16x8.add(i16x8.extend_low_i8x16_u(v128.load(a + x)), i16x8.extend_low_i8x16_u(v128.load(c + x))),
    i16x8.add(i16x8.add(vb, vb), i16x8.splat(2)),
  );
}

// @ts-ignore: decorator
@inline function vsumHi(a: usize, b: usize, c: usize, x: usize): v128 {
  const vb = i16x8.extend_high_i8x16_u(v128.load(b + x));
  return i16x8.add(
    i16x8.add(i16x8.extend_high_i8x16_u(v128.load(a + x)), i16x8.extend_high_i8x16_u(v128.load(c + x))),
    i16x8.add(i16x8.add(vb, vb), i16x8.splat(2)),
  );
}

// @ts-ignore: decorator
@inline function hsum(l: v128, c: v128, r: v128): v128 {
  return i16x8.shr_u(i16x8.add(i16x8.add(l, r), i16x8.add(c, c)), 4);
}

/** Blur row of RGBA pixels (cs 4), n a multiple of 16 bytes. */
export function blurRowRgba(a: usize, b: usize, c: usize, dst: usize, n: usize): void {
  let lo = vsumLo(a, b, c, 0);
  let hi = vsumHi(a, b, c, 0);
  // left of pixel 0 is pixel 0: a previous "hi" whose last pixel is lo's first
  let prevHi = i8x16.shuffle(lo, lo, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
  const last = n - 16;
  for (let x: usize = 0; x < last; x += 16) {
    const nlo = vsumLo(a, b, c, x + 16);
    const nhi = vsumHi(a, b, c, x + 16);
    const mid = i8x16.shuffle(lo, hi, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    const l0 = i8x16.shuffle(prevHi, lo, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    const r1 = i8x16.shuffle(hi, nlo, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    v128.store(dst + x, i8x16.narrow_i16x8_u(hsum(l0, lo, mid), hsum(mid, hi, r1)));
    prevHi = hi;
    lo = nlo;
    hi = nhi;
  }
  const mid = i8x16.shuffle(lo, hi, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
  const l0 = i8x16.shuffle(prevHi, lo, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
  // right of the last pixel is itself
  const r1 = i8x16.shuffle(hi, hi, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  v128.store(dst + last, i8x16.narrow_i16x8_u(hsum(l0, lo, mid), hsum(mid, hi, r1)));
}

/** Blur row of a plane (cs 1), n a multiple of 16 bytes. */
export function blurRowPlane(a: usize, b: usize, c: usize, dst: usize, n: usize): void {
  let lo = vsumLo(a, b, c, 0);
  let hi = vsumHi(a, b, c, 0);
  let prevHi = i8x16.shuffle(lo, lo, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1);
  const last = n - 16;
  for (let x: usize = 0; x < last; x += 16) {
    const nlo = vsumLo(a, b, c, x + 16);
    const nhi = vsumHi(a, b, c, x + 16);
    const l0 = i8x16.shuffle(prevHi, lo, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
    const r0 = i8x16.shuffle(lo, hi, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
    const l1 = i8x16.shuffle(lo, hi, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
    const r1 = i8x16.shuffle(hi, nlo, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
    v128.store(dst + x, i8x16.narrow_i16x8_u(hsum(l0, lo, r0), hsum(l1, hi, r1)));
    prevHi = hi;
    lo = nlo;
    hi = nhi;
  }
  const l0 = i8x16.shuffle(prevHi, lo, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
  const r0 = i8x16.shuffle(lo, hi, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
  const l1 = i8x16.shuffle(lo, hi, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
  const r1 = i8x16.shuffle(hi, hi, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 14, 15);
  v128.store(dst + last, i8x16.narrow_i16x8_u(hsum(l0, lo, r0), hsum(l1, hi, r1)));
}

// ---- sharpen ---------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function sharpen16(a: usize, b: usize, c: usize, x: usize, cs: usize): v128 {
  const va = v128.load(a + x);
  const vb = v128.load(b + x);
  const vc = v128.load(c + x);
  const vl = v128.load(b + x - cs);
  const vr = v128.load(b + x + cs);
  const bl = i16x8.extend_low_i8x16_u(vb);
  const bh = i16x8.extend_high_i8x16_u(vb);
  const lo = i16x8.sub(
    i16x8.add(i16x8.shl(bl, 2), bl),
    i16x8.add(
      i16x8.add(i16x8.extend_low_i8x16_u(va), i16x8.extend_low_i8x16_u(vc)),
      i16x8.add(i16x8.extend_low_i8x16_u(vl), i16x8.extend_low_i8x16_u(vr)),
    ),
  );
  const hi = i16x8.sub(
    i16x8.add(i16x8.shl(bh, 2), bh),
    i16x8.add(
      i16x8.add(i16x8.extend_high_i8x16_u(va), i16x8.extend_high_i8x16_u(vc)),
      i16x8.add(i16x8.extend_high_i8x16_u(vl), i16x8.extend_high_i8x16_u(vr)),
    ),
  );
  return i8x16.narrow_i16x8_u(lo, hi);
}

/** Alpha bytes of RGBA pixels: bitselect keeps these from the source. */
// @ts-ignore: decorator
@inline function alphaMask(): v128 {
  return i32x4.splat(0xff000000);
}

/**
 * Sharpen of one row: `b` is the padded centre row, `a`/`c` the rows above and below. When
 * `alphaFrom` is not 0, every fourth byte (RGBA alpha) is taken from that row instead.
 */
export function sharpenRow(a: usize, b: usize, c: usize, dst: usize, n: usize, cs: usize, alphaFrom: usize): void {
  let x: usize = 0;
  if (alphaFrom == 0) {
    for (; x + 16 <= n; x += 16) v128.store(dst + x, sharpen16(a, b, c, x, cs));
  } else {
    const m = alphaMask();
    for (; x + 16 <= n; x += 16) {
      v128.store(dst + x, v128.bitselect(v128.load(alphaFrom + x), sharpen16(a, b, c, x, cs), m));
    }
  }
  if (x < n) {
    const at: usize = n >= 16 ? n - 16 : x;
    let v = sharpen16(a, b, c, at, cs);
    if (alphaFrom != 0) v = v128.bitselect(v128.load(alphaFrom + at), v, alphaMask());
    if (n >= 16) {
      v128.store(dst + at, v);
    } else {
      v128.store(stage, v);
      memory.copy(dst + x, stage, n - x);
    }
  }
}

// ---- sobel -----------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function sobelHalf(a0: v128, a1: v128, a2: v128, b0: v128, b2: v128, c0: v128, c1: v128, c2: v128): v128 {
  // gx = (a2 - a0) + 2 (b2 - b0) + (c2 - c0);  gy = (c0 - a0) + 2 (c1 - a1) + (c2 - a2)
  const gx = i16x8.add(i16x8.add(i16x8.sub(a2, a0), i16x8.sub(c2, c0)), i16x8.shl(i16x8.sub(b2, b0), 1));
  const gy = i16x8.add(i16x8.add(i16x8.sub(c0, a0), i16x8.sub(c2, a2)), i16x8.shl(i16x8.sub(c1, a1), 1));
  return i16x8.add(i16x8.abs(gx), i16x8.abs(gy));
}

// @ts-ignore: decorator
@inline function sobel16(a: usize, b: usize, c: usize, x: usize): v128 {
  const a0 = v128.load(a + x - 1);
  const a1 = v128.load(a + x);
  const a2 = v128.load(a + x + 1);
  const b0 = v128.load(b + x - 1);
  const b2 = v128.load(b + x + 1);
  const c0 = v128.load(c + x - 1);
  const c1 = v128.load(c + x);
  const c2 = v128.load(c + x + 1);
  const lo = sobelHalf(
    i16x8.extend_low_i8x16_u(a0), i16x8.extend_low_i8x16_u(a1), i16x8.extend_low_i8x16_u(a2),
    i16x8.extend_low_i8x16_u(b0), i16x8.extend_low_i8x16_u(b2),
    i16x8.extend_low_i8x16_u(c0), i16x8.extend_low_i8x16_u(c1), i16x8.extend_low_i8x16_u(c2),
  );
  const hi = sobelHalf(
    i16x8.extend_high_i8x16_u(a0), i16x8.extend_high_i8x16_u(a1), i16x8.extend_high_i8x16_u(a2),
    i16x8.extend_high_i8x16_u(b0), i16x8.extend_high_i8x16_u(b2),
    i16x8.extend_high_i8x16_u(c0), i16x8.extend_high_i8x16_u(c1), i16x8.extend_high_i8x16_u(c2),
  );
  return i8x16.narrow_i16x8_u(lo, hi);
}

/** Sobel magnitude of one row of a plane (cs = 1); all three rows padded. */
export function sobelRow(a: usize, b: usize, c: usize, dst: usize, n: usize): void {
  let x: usize = 0;
  for (; x + 16 <= n; x += 16) v128.store(dst + x, sobel16(a, b, c, x));
  if (x < n) {
    if (n >= 16) {
      v128.store(dst + n - 16, sobel16(a, b, c, n - 16));
    } else {
      v128.store(stage, sobel16(a, b, c, x));
      memory.copy(dst + x, stage, n - x);
    }
  }
}

// ---- RGBA helpers ----------------------------------------------------------------------------

/** Luma (77 R + 150 G + 29 B + 128) >> 8 of four RGBA pixels, as four i32 lanes. */
// @ts-ignore: decorator
@inline function luma4(px: v128): v128 {
  const w = i16x8(77, 150, 29, 0, 77, 150, 29, 0);
  const d0 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(px), w);
  const d1 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(px), w);
  const s = i32x4.add(i32x4.shuffle(d0, d1, 0, 2, 4, 6), i32x4.shuffle(d0, d1, 1, 3, 5, 7));
  return i32x4.shr_u(i32x4.add(s, i32x4.splat(128)), 8);
}

/** Luma of `width` RGBA pixels into a plane row (may write up to 15 bytes past it). */
export function lumaRow(src: usize, dst: usize, width: usize): void {
  for (let x: usize = 0; x < width; x += 16) {
    const p = src + (x << 2);
    const l0 = luma4(v128.load(p));
    const l1 = luma4(v128.load(p, 16));
    const l2 = luma4(v128.load(p, 32));
    const l3 = luma4(v128.load(p, 48));
    v128.store(dst + x, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(l0, l1), i16x8.narrow_i32x4_u(l2, l3)));
  }
}

// @ts-ignore: decorator
@inline function gray16(src: usize, x: usize): v128 {
  const px = v128.load(src + x);
  return i8x16.shuffle(luma4(px), px, 0, 0, 0, 19, 4, 4, 4, 23, 8, 8, 8, 27, 12, 12, 12, 31);
}

/** RGBA grayscale of `n` bytes (whole pixels): R = G = B = luma, alpha kept. */
export function grayRgba(src: usize, dst: usize, n: usize): void {
  let x: usize = 0;
  for (; x + 16 <= n; x += 16) v128.store(dst + x, gray16(src, x));
  if (x < n) {
    if (n >= 16) {
      v128.store(dst + n - 16, gray16(src, n - 16));
    } else {
      v128.store(stage, gray16(src, x));
      memory.copy(dst + x, stage, n - x);
    }
  }
}

// @ts-ignore: decorator
@inline function expand16(plane: usize, alphaFrom: usize, x: usize): v128 {
  return i8x16.shuffle(v128.load(plane + (x >> 2)), v128.load(alphaFrom + x), 0, 0, 0, 19, 1, 1, 1, 23, 2, 2, 2, 27, 3, 3, 3, 31);
}

/** RGBA row of `n` bytes with R = G = B = the plane row's byte and alpha from `alphaFrom`. */
export function expandRgba(plane: usize, alphaFrom: usize, dst: usize, n: usize): void {
  let x: usize = 0;
  for (; x + 16 <= n; x += 16) v128.store(dst + x, expand16(plane, alphaFrom, x));
  if (x < n) {
    if (n >= 16) {
      v128.store(dst + n - 16, expand16(plane, alphaFrom, n - 16));
    } else {
      v128.store(stage, expand16(plane, alphaFrom, x));
      memory.copy(dst + x, stage, n - x);
    }
  }
}

// ---- pointwise -------------------------------------------------------------------------------

/** 255 - v over `n` bytes; with `keepAlpha`, every fourth byte (RGBA alpha, n whole pixels) is copied. */
export function invertBytes(src: usize, dst: usize, n: usize, keepAlpha: bool): void {
  const mask = keepAlpha ? i32x4.splat(0x00ffffff) : i32x4.splat(-1);
  let x: usize = 0;
  for (; x + 16 <= n; x += 16) v128.store(dst + x, v128.xor(v128.load(src + x), mask));
  if (x < n) {
    if (n >= 16) {
      v128.store(dst + n - 16, v128.xor(v128.load(src + n - 16), mask));
    } else {
      for (; x < n; x++) {
        const v = load<u8>(src + x);
        store<u8>(dst + x, keepAlpha && (x & 3) == 3 ? v : 255 - v);
      }
    }
  }
}
