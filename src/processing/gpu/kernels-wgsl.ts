/**
 * The WGSL compute kernels of the GPU backend: integer arithmetic that reproduces
 * src/processing/reference/kernels.ts byte for byte.
 *
 * Storage buffers hold bytes packed four to a u32 (little-endian: byte k of word w is address
 * 4w + k). Two layouts:
 * - I420: the whole frame (Y, U, V back to back, planes at unaligned offsets, odd widths) is one
 *   byte array; each invocation writes one output word, i.e. four consecutive bytes, finding for
 *   each byte its plane and (x, y) from the byte address. This keeps every write a whole word (no
 *   atomics, no races between invocations) whatever the plane sizes.
 * - RGBA: one pixel is one word; each invocation computes one pixel's four channels.
 *
 * The filter is a pipeline-overridable constant OP, so each (layout, filter) pair compiles to its
 * own specialised pipeline with the switch folded away.
 */

/** Filter opcodes shared by the WGSL `OP` override and the TypeScript side. */
export const Op = { invert: 1, grayscale: 2, blur: 3, sharpen: 4, edges: 5 } as const;
export type OpName = keyof typeof Op;

/** Workgroup size of the I420 kernel (one dimension). */
export const I420_WORKGROUP = 256;
/** Workgroup edge of the RGBA kernel (square, two dimensions). */
export const RGBA_WORKGROUP = 16;

/** Output tile edge of the fused RGBA blur kernel (each of its 16x16 invocations writes 2x2 pixels). */
export const TILE = 32;
/** Blur iterations the fused kernel runs per dispatch at most (its halo is this wide). */
export const TILE_MAX_ITERATIONS = 5;

/** Size in bytes of the Params uniform below (8 u32, rounded to 16). */
export const PARAMS_BYTES = 32;

/** Params field order, as written by the host into a Uint32Array. */
export const ParamIndex = { width: 0, height: 1, cw: 2, ch: 3, uOffset: 4, vOffset: 5, total: 6, rowInvocations: 7 } as const;

export const KERNELS_WGSL = /* wgsl */ `
override OP: u32 = 0u;
// Blur iterations fused into one dispatch of rgba_blur_tiled (1..TILE_MAX_ITERATIONS).
override K: u32 = 1u;

struct Params {
  width: u32,          // Y plane / image width in pixels
  height: u32,
  cw: u32,             // chroma plane width  (I420)
  ch: u32,             // chroma plane height (I420)
  uOffset: u32,        // byte offset of U (I420)
  vOffset: u32,        // byte offset of V (I420)
  total: u32,          // bytes in the frame (I420)
  rowInvocations: u32, // invocations per row of a folded 1D grid (I420)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

// ---------------------------------------------------------------- I420 (bytes) ----

fn byteAt(a: u32) -> u32 {
  return (src[a >> 2u] >> ((a & 3u) * 8u)) & 255u;
}

struct Plane { base: u32, w: u32, h: u32, index: u32 }

fn planeOf(a: u32) -> Plane {
  if (a < P.uOffset) { return Plane(0u, P.width, P.height, 0u); }
  if (a < P.vOffset) { return Plane(P.uOffset, P.cw, P.ch, 1u); }
  return Plane(P.vOffset, P.cw, P.ch, 2u);
}

// The 3x3 neighbourhood of (x, y), clamped to the plane's edge, in reading order.
struct Hood { nw: i32, n: i32, ne: i32, w: i32, c: i32, e: i32, sw: i32, s: i32, se: i32 }

fn hoodBytes(p: Plane, x: u32, y: u32) -> Hood {
  let xm = select(x - 1u, 0u, x == 0u);
  let xp = min(x + 1u, p.w - 1u);
  let rm = p.base + select(y - 1u, 0u, y == 0u) * p.w;
  let r0 = p.base + y * p.w;
  let rp = p.base + min(y + 1u, p.h - 1u) * p.w;
  return Hood(
    i32(byteAt(rm + xm)), i32(byteAt(rm + x)), i32(byteAt(rm + xp)),
    i32(byteAt(r0 + xm)), i32(byteAt(r0 + x)), i32(byteAt(r0 + xp)),
    i32(byteAt(rp + xm)), i32(byteAt(rp + x)), i32(byteAt(rp + xp)));
}

fn blurOf(h: Hood) -> u32 {
  return u32(h.nw + 2 * h.n + h.ne + 2 * h.w + 4 * h.c + 2 * h.e + h.sw + 2 * h.s + h.se + 8) >> 4u;
}

fn sharpenOf(h: Hood) -> u32 {
  return u32(clamp(5 * h.c - h.n - h.w - h.e - h.s, 0, 255));
}

fn sobelOf(h: Hood) -> u32 {
  let gx = h.ne + 2 * h.e + h.se - (h.nw + 2 * h.w + h.sw);
  let gy = h.sw + 2 * h.s + h.se - (h.nw + 2 * h.n + h.ne);
  return u32(min(abs(gx) + abs(gy), 255));
}

fn i420Byte(a: u32) -> u32 {
  if (OP == 1u) { return 255u - byteAt(a); }
  let p = planeOf(a);
  let local = a - p.base;
  let y = local / p.w;
  let x = local - y * p.w;
  if (OP == 3u) { return blurOf(hoodBytes(p, x, y)); }
  if (p.index != 0u) {
    if (OP == 4u) { return byteAt(a); }  // sharpen: chroma copied
    return 128u;                          // grayscale, edges: neutral chroma
  }
  if (OP == 2u) { return byteAt(a); }
  if (OP == 4u) { return sharpenOf(hoodBytes(p, x, y)); }
  return sobelOf(hoodBytes(p, x, y));
}

@compute @workgroup_size(${I420_WORKGROUP})
fn i420(@builtin(global_invocation_id) gid: vec3<u32>) {
  let word = gid.y * P.rowInvocations + gid.x;
  let first = word * 4u;
  if (first >= P.total) { return; }
  var packed = 0u;
  for (var k = 0u; k < 4u; k = k + 1u) {
    let a = first + k;
    if (a >= P.total) { break; }
    packed = packed | (i420Byte(a) << (k * 8u));
  }
  dst[word] = packed;
}

// ---------------------------------------------------------------- RGBA (words) ----

fn px(x: u32, y: u32) -> vec4<i32> {
  let p = src[y * P.width + x];
  return vec4<i32>(vec4<u32>(p & 255u, (p >> 8u) & 255u, (p >> 16u) & 255u, p >> 24u));
}

fn pack(v: vec4<i32>) -> u32 {
  let u = vec4<u32>(v);
  return u.x | (u.y << 8u) | (u.z << 16u) | (u.w << 24u);
}

fn luma(v: vec4<i32>) -> i32 {
  return (77 * v.x + 150 * v.y + 29 * v.z + 128) >> 8u;
}

// Blur of four packed channels at once, two per 32-bit lane pair (SWAR): R and B in the 16-bit
// halves of (p & 0x00ff00ff), G and A in those of ((p >> 8) & 0x00ff00ff). A weighted sum is at
// most 16 * 255 + 8 = 4088, so no half ever carries into the other.
fn blurWords(nw: u32, n: u32, ne: u32, w: u32, c: u32, e: u32, sw: u32, s: u32, se: u32) -> u32 {
  let m = 0x00ff00ffu;
  let rb = (nw & m) + 2u * (n & m) + (ne & m) + 2u * (w & m) + 4u * (c & m) + 2u * (e & m)
         + (sw & m) + 2u * (s & m) + (se & m) + 0x00080008u;
  let ga = ((nw >> 8u) & m) + 2u * ((n >> 8u) & m) + ((ne >> 8u) & m) + 2u * ((w >> 8u) & m)
         + 4u * ((c >> 8u) & m) + 2u * ((e >> 8u) & m) + ((sw >> 8u) & m) + 2u * ((s >> 8u) & m)
         + ((se >> 8u) & m) + 0x00080008u;
  return ((rb >> 4u) & m) | (((ga >> 4u) & m) << 8u);
}

@compute @workgroup_size(${RGBA_WORKGROUP}, ${RGBA_WORKGROUP})
fn rgba(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  if (x >= P.width || y >= P.height) { return; }
  let i = y * P.width + x;
  if (OP == 1u) { dst[i] = src[i] ^ 0x00ffffffu; return; }
  let c = px(x, y);
  if (OP == 2u) { let l = luma(c); dst[i] = pack(vec4<i32>(l, l, l, c.w)); return; }
  let xm = select(x - 1u, 0u, x == 0u);
  let xp = min(x + 1u, P.width - 1u);
  let ym = select(y - 1u, 0u, y == 0u);
  let yp = min(y + 1u, P.height - 1u);
  let n = px(x, ym);
  let w = px(xm, y);
  let e = px(xp, y);
  let s = px(x, yp);
  if (OP == 4u) {
    let v = clamp(5 * c - n - w - e - s, vec4<i32>(0), vec4<i32>(255));
    dst[i] = pack(vec4<i32>(v.xyz, c.w));
    return;
  }
  let nw = px(xm, ym);
  let ne = px(xp, ym);
  let sw = px(xm, yp);
  let se = px(xp, yp);
  if (OP == 3u) {
    dst[i] = blurWords(src[ym * P.width + xm], src[ym * P.width + x], src[ym * P.width + xp],
                       src[y * P.width + xm], src[i], src[y * P.width + xp],
                       src[yp * P.width + xm], src[yp * P.width + x], src[yp * P.width + xp]);
    return;
  }
  // edges: Sobel of the luma, written to R, G and B; alpha kept.
  let h = Hood(luma(nw), luma(n), luma(ne), luma(w), luma(c), luma(e), luma(sw), luma(s), luma(se));
  let m = i32(sobelOf(h));
  dst[i] = pack(vec4<i32>(m, m, m, c.w));
}

// ------------------------------------------------- RGBA blur, K iterations fused ----
// One workgroup computes a TILE x TILE block of output after K iterations: it loads the block
// plus a K-pixel halo into workgroup memory, runs K iterations there (the valid area shrinks by
// one pixel a side each time) and writes the block. Clamp-to-edge holds at every iteration
// because a pixel's neighbours are looked up at clamped image coordinates, which always fall
// inside the valid area; halo cells outside the image are never read.

const TILE: u32 = ${TILE}u;
const SPAN: u32 = ${TILE + 2 * TILE_MAX_ITERATIONS}u;   // TILE + 2 * TILE_MAX_ITERATIONS
const PLANE: u32 = SPAN * SPAN;
var<workgroup> tile: array<u32, ${2 * (TILE + 2 * TILE_MAX_ITERATIONS) ** 2}>;  // two planes: ping and pong

@compute @workgroup_size(${RGBA_WORKGROUP}, ${RGBA_WORKGROUP})
fn rgba_blur_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let W = i32(P.width);
  let H = i32(P.height);
  let ox = i32(wg.x * TILE) - i32(K);   // image x of tile column 0
  let oy = i32(wg.y * TILE) - i32(K);
  let span = TILE + 2u * K;
  for (var ly = lid.y; ly < span; ly = ly + ${RGBA_WORKGROUP}u) {
    let gy = clamp(oy + i32(ly), 0, H - 1);
    for (var lx = lid.x; lx < span; lx = lx + ${RGBA_WORKGROUP}u) {
      let gx = clamp(ox + i32(lx), 0, W - 1);
      tile[ly * SPAN + lx] = src[u32(gy) * P.width + u32(gx)];
    }
  }
  workgroupBarrier();
  for (var it = 1u; it <= K; it = it + 1u) {
    let rd = ((it - 1u) & 1u) * PLANE;
    let wr = (it & 1u) * PLANE;
    for (var ly = it + lid.y; ly < span - it; ly = ly + ${RGBA_WORKGROUP}u) {
      let gy = oy + i32(ly);
      if (gy < 0 || gy >= H) { continue; }
      let rm = rd + u32(max(gy - 1, 0) - oy) * SPAN;
      let r0 = rd + ly * SPAN;
      let rp = rd + u32(min(gy + 1, H - 1) - oy) * SPAN;
      for (var lx = it + lid.x; lx < span - it; lx = lx + ${RGBA_WORKGROUP}u) {
        let gx = ox + i32(lx);
        if (gx < 0 || gx >= W) { continue; }
        let xm = u32(max(gx - 1, 0) - ox);
        let xp = u32(min(gx + 1, W - 1) - ox);
        tile[wr + ly * SPAN + lx] = blurWords(tile[rm + xm], tile[rm + lx], tile[rm + xp],
                                              tile[r0 + xm], tile[r0 + lx], tile[r0 + xp],
                                              tile[rp + xm], tile[rp + lx], tile[rp + xp]);
      }
    }
    workgroupBarrier();
  }
  let last = (K & 1u) * PLANE;
  for (var ty = lid.y; ty < TILE; ty = ty + ${RGBA_WORKGROUP}u) {
    let gy = wg.y * TILE + ty;
    if (gy >= P.height) { break; }
    for (var tx = lid.x; tx < TILE; tx = tx + ${RGBA_WORKGROUP}u) {
      let gx = wg.x * TILE + tx;
      if (gx >= P.width) { break; }
      dst[gy * P.width + gx] = tile[last + (ty + K) * SPAN + tx + K];
    }
  }
}
`;
