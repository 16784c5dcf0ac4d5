/**
 * Frame stamps: a strip of black and white cells drawn along the bottom of every frame the page
 * sends, encoding a 12-bit frame counter and a 4-bit check. Reading the strip back from the
 * processed video tells which sent frame came back, so the page measures a real per-frame
 * round trip instead of guessing one from network statistics.
 *
 * The code is differential (NRZI): a 1 bit toggles the colour from the previous cell, a 0 keeps
 * it. That survives every filter the server has: invert swaps black and white (toggles stay
 * toggles), grayscale/blur/sharpen keep large cells distinguishable, and edges (Sobel) turns the
 * cells black and leaves bright lines exactly where a toggle was, which the second decoder reads.
 * This module is pure (no DOM) so it can be checked in isolation.
 */

export const COUNTER_BITS = 12;
export const COUNTER_MOD = 1 << COUNTER_BITS;
const CHECK_BITS = 4;
const DATA_BITS = COUNTER_BITS + CHECK_BITS;
/** Cell 0 is the start cell; cells 1..16 carry one bit each. */
export const STAMP_CELLS = DATA_BITS + 1;
/** Share of the frame height the strip takes. */
export const STRIP_FRACTION = 0.1;
/** Lightest and darkest cell, as CSS colours (full range; codecs compress them a little). */
const LIGHT = '#ffffff';
const DARK = '#000000';
/** Smallest luma contrast accepted as a real stamp (0-255). */
const MIN_CONTRAST = 60;

/** The 4-bit check of a counter; never 0 for counter 0, so a blank strip is not a stamp. */
function check(counter: number): number {
  return ((counter ^ (counter >> 4) ^ (counter >> 8) ^ 0xa) & 0xf) >>> 0;
}

/** The 16 bits of a stamp, most significant counter bit first, then the check. */
export function stampBits(counter: number): number[] {
  const c = ((counter % COUNTER_MOD) + COUNTER_MOD) % COUNTER_MOD;
  const word = (c << CHECK_BITS) | check(c);
  return Array.from({ length: DATA_BITS }, (_, i) => (word >> (DATA_BITS - 1 - i)) & 1);
}

function bitsToCounter(bits: readonly number[]): number | null {
  let word = 0;
  for (const b of bits) word = (word << 1) | b;
  const c = word >> CHECK_BITS;
  return (word & 0xf) === check(c) ? c : null;
}

/** Strip geometry in pixels for a frame of the given height. */
export function stripRect(height: number): { y: number; h: number } {
  const h = Math.max(8, Math.round(height * STRIP_FRACTION));
  return { y: height - h, h };
}

/** x of the left edge of cell i (cells cover the whole width). */
export function cellX(i: number, width: number): number {
  return Math.round((i * width) / STAMP_CELLS);
}

/** Colours of the cells for `counter`, left to right. */
export function stampColors(counter: number): string[] {
  const colors: string[] = [DARK];
  let light = false;
  for (const b of stampBits(counter)) {
    if (b === 1) light = !light;
    colors.push(light ? LIGHT : DARK);
  }
  return colors;
}

/** Luma (BT.601, 0-255) of each column of an RGBA block `width` wide and `rows` high, averaged over the rows. */
export function columnLuma(rgba: Uint8ClampedArray, width: number, rows: number): Float32Array {
  const out = new Float32Array(width);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      out[x]! += (rgba[o]! * 77 + rgba[o + 1]! * 150 + rgba[o + 2]! * 29) / 256;
    }
  }
  for (let x = 0; x < width; x++) out[x]! /= rows;
  return out;
}

/**
 * True when every value is near `lo` or near `hi` (within a third of the contrast): a stamp has
 * two levels, a camera picture under the strip position rarely does.
 */
function twoLevels(values: readonly number[], lo: number, hi: number): boolean {
  const tol = Math.max(MIN_CONTRAST, hi - lo) / 3;
  return values.every((v) => Math.abs(v - lo) <= tol || Math.abs(v - hi) <= tol);
}

/** Decode cell by cell: toggles show as a luma step between neighbouring cell centres. */
function decodeCells(luma: Float32Array): number | null {
  const w = luma.length;
  const means: number[] = [];
  for (let i = 0; i < STAMP_CELLS; i++) {
    const x0 = cellX(i, w);
    const x1 = cellX(i + 1, w);
    const a = Math.floor(x0 + (x1 - x0) * 0.3);
    const b = Math.max(a + 1, Math.ceil(x0 + (x1 - x0) * 0.7));
    let s = 0;
    for (let x = a; x < b; x++) s += luma[x]!;
    means.push(s / (b - a));
  }
  const lo = Math.min(...means);
  const contrast = Math.max(...means) - lo;
  if (contrast < MIN_CONTRAST || !twoLevels(means, lo, lo + contrast)) return null;
  const bits: number[] = [];
  for (let i = 1; i < STAMP_CELLS; i++) bits.push(Math.abs(means[i]! - means[i - 1]!) > contrast / 2 ? 1 : 0);
  return bitsToCounter(bits);
}

/** Decode an edge-filtered strip: a toggle leaves a bright line on the cell boundary, flat cells are dark. */
function decodeEdges(luma: Float32Array): number | null {
  const w = luma.length;
  const peaks: number[] = [];
  const floor: number[] = [];
  for (let i = 1; i < STAMP_CELLS; i++) {
    const xb = cellX(i, w);
    const half = Math.max(2, Math.round(w / STAMP_CELLS / 8));
    let m = 0;
    for (let x = Math.max(0, xb - half); x < Math.min(w, xb + half + 1); x++) m = Math.max(m, luma[x]!);
    peaks.push(m);
    const mid = Math.round((cellX(i - 1, w) + xb) / 2);
    floor.push(luma[mid]!);
  }
  const hi = Math.max(...peaks);
  const lo = Math.min(...floor);
  if (hi - lo < MIN_CONTRAST || !twoLevels(peaks, lo, hi) || !twoLevels(floor, lo, lo)) return null;
  return bitsToCounter(peaks.map((p) => (p - lo > (hi - lo) / 2 ? 1 : 0)));
}

/** Read a stamp from per-column luma of the strip's middle rows; null when there is none. */
export function readStamp(luma: Float32Array): number | null {
  return decodeCells(luma) ?? decodeEdges(luma);
}
