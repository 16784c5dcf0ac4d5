/**
 * A frame stamp (frame number + send time) written into the pixels of an I420 frame, so that a
 * client can recognise its own frames after a round trip through VP8 and any server filter and
 * measure glass-to-glass latency.
 *
 * Layout. The stamp lives in a band at the top of the frame. Everything is measured in cells of
 * `width / 40` pixels (16 px at 640 wide, 32 px at 1280), so a frame that libwebrtc scaled down on
 * the way (CPU or bandwidth adaptation) still decodes: positions are fractions of the frame.
 * The band (rows 0 .. 4.5 cells) is flat grey (Y = 128, U = V = 128). In it, 3 rows of 34 cells
 * start at cell (3, 1); each row begins with two reference cells (textured, flat), then 32 data cells.
 *
 * One bit per cell, as texture versus flatness rather than brightness:
 * - bit 1: two vertical bars, dark (Y 32) then bright (Y 224), each half a cell wide;
 * - bit 0: flat grey (Y 128).
 * The decoder measures the mean absolute deviation of Y inside each cell (inset by a quarter
 * cell, away from neighbours). That survives every filter: invert and grayscale keep the
 * deviation, blur (a few iterations) only softens the bars, sharpen amplifies them, and edges
 * (Sobel) turns the bar boundary into a bright line inside a textured cell while a flat cell
 * stays black. No polarity marker is needed because deviation does not change sign with invert.
 *
 * Payload: 32-bit frame number, low 32 bits of floor(sendTimeMs), and a 32-bit check
 * (CRC-32 of the 8 payload bytes, XOR a constant so that all-flat or all-textured bands fail).
 * readStamp returns null unless the reference cells are clearly apart, every data cell is
 * clearly on one side of the threshold, and the check matches: a wrong decode is never returned.
 */
import { crc32 } from 'node:zlib';

/** What a stamp carries. */
export interface FrameStamp {
  /** Frame counter, stored modulo 2^32. */
  frameNumber: number;
  /** A millisecond clock value; stored (and returned by readStamp) as floor(ms) modulo 2^32. */
  sendTimeMs: number;
}

/** Thrown when a frame is too small (or not an I420 buffer of its size) to carry a stamp. */
export class StampGeometryError extends Error {
  override readonly name = 'StampGeometryError';
}

const CELLS_ACROSS = 40;
const ORIGIN_COL = 3;
const ORIGIN_ROW = 1;
const ROWS = 3;
const DATA_PER_ROW = 32;
const REFS_PER_ROW = 2;
const COLS = REFS_PER_ROW + DATA_PER_ROW;
/** Band height in cells: rows 0 .. ORIGIN_ROW + ROWS plus half a cell of margin. */
const BAND_CELLS = ORIGIN_ROW + ROWS + 0.5;
const Y_FLAT = 128;
const Y_DARK = 32;
const Y_BRIGHT = 224;
const CHECK_XOR = 0x5a17c3e9;
/** Smallest deviation (grey levels) a textured reference must keep; below it the band is unreadable. */
const MIN_TEXTURE_DEVIATION = 8;
/** Textured references must deviate at least this many times more than flat ones. */
const MIN_REFERENCE_RATIO = 2.5;
/** A data cell within this fraction of the reference gap around the threshold is ambiguous. */
const AMBIGUOUS_FRACTION = 0.1;

/** Smallest frame that can carry a stamp (the cells get too small to survive VP8 below it). */
export const MIN_STAMP_WIDTH = 160;

/** Height in pixels of the band at the top of a frame of this width that the stamp overwrites. */
export function stampBandHeight(width: number): number {
  return Math.ceil((width / CELLS_ACROSS) * BAND_CELLS);
}

interface CellRect { x0: number; x1: number; y0: number; y1: number }

/** Pixel rectangle of the cell at (row, col) of the stamp grid, col counted from the first reference cell. */
function cellRect(width: number, row: number, col: number): CellRect {
  const cell = width / CELLS_ACROSS;
  return {
    x0: Math.round((ORIGIN_COL + col) * cell),
    x1: Math.round((ORIGIN_COL + col + 1) * cell),
    y0: Math.round((ORIGIN_ROW + row) * cell),
    y1: Math.round((ORIGIN_ROW + row + 1) * cell),
  };
}

function checkGeometry(data: Uint8Array, width: number, height: number): boolean {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < MIN_STAMP_WIDTH) return false;
  if (height < stampBandHeight(width)) return false;
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  return data.length >= width * height + 2 * cw * ch;
}


function checkWord(frameNumber: number, time: number): number {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, frameNumber);
  view.setUint32(4, time);
  return (crc32(bytes) ^ CHECK_XOR) >>> 0;
}

/** Low 32 bits of floor(ms), as the stamp stores it. */
function wrapMs(ms: number): number {
  return Number(BigInt.asUintN(32, BigInt(Math.floor(ms))));
}

/** The three 32-bit words of a stamp, one per row. */
function words(stamp: FrameStamp): [number, number, number] {
  const frame = stamp.frameNumber >>> 0;
  const time = wrapMs(stamp.sendTimeMs);
  return [frame, time, checkWord(frame, time)];
}

function fillRect(data: Uint8Array, width: number, r: CellRect, value: number): void {
  for (let y = r.y0; y < r.y1; y++) data.fill(value, y * width + r.x0, y * width + r.x1);
}

/** Write `stamp` into the top band of an I420 frame (Y plane cells; U and V under the band set to 128). */
export function writeStamp(data: Uint8Array, width: number, height: number, stamp: FrameStamp): void {
  if (!checkGeometry(data, width, height)) {
    throw new StampGeometryError(`cannot stamp a ${width}x${height} I420 frame of ${data.length} bytes (needs width >= ${MIN_STAMP_WIDTH} and an I420 buffer)`);
  }
  const band = stampBandHeight(width);
  data.fill(Y_FLAT, 0, band * width);
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const chromaRows = Math.min(ch, (band + 1) >> 1);
  const uOff = width * height;
  const vOff = uOff + cw * ch;
  data.fill(128, uOff, uOff + chromaRows * cw);
  data.fill(128, vOff, vOff + chromaRows * cw);

  const rows = words(stamp);
  for (let row = 0; row < ROWS; row++) {
    for (let col = 0; col < COLS; col++) {
      // Reference cells: col 0 textured, col 1 flat. Data cells: most significant bit first.
      const textured = col < REFS_PER_ROW ? col === 0 : ((rows[row]! >>> (DATA_PER_ROW - 1 - (col - REFS_PER_ROW))) & 1) === 1;
      if (!textured) continue;
      const r = cellRect(width, row, col);
      const mid = (r.x0 + r.x1) >> 1;
      fillRect(data, width, { ...r, x1: mid }, Y_DARK);
      fillRect(data, width, { ...r, x0: mid }, Y_BRIGHT);
    }
  }
}

/** Mean absolute deviation of Y inside the cell, a quarter cell in from every side. */
function cellDeviation(data: Uint8Array, width: number, r: CellRect): number {
  const inX = Math.max(1, Math.round((r.x1 - r.x0) / 4));
  const inY = Math.max(1, Math.round((r.y1 - r.y0) / 4));
  const x0 = r.x0 + inX;
  const x1 = r.x1 - inX;
  const y0 = r.y0 + inY;
  const y1 = r.y1 - inY;
  let sum = 0;
  const n = (x1 - x0) * (y1 - y0);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += data[y * width + x]!;
  const mean = sum / n;
  let dev = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) dev += Math.abs(data[y * width + x]! - mean);
  return dev / n;
}

/**
 * Read the stamp of an I420 frame; null when there is none or it cannot be read with certainty.
 * `sendTimeMs` comes back as floor(ms) modulo 2^32: use {@link stampAgeMs} to get the latency.
 */
export function readStamp(data: Uint8Array, width: number, height: number): FrameStamp | null {
  if (!checkGeometry(data, width, height)) return null;
  const dev: number[][] = [];
  for (let row = 0; row < ROWS; row++) {
    const d: number[] = [];
    for (let col = 0; col < COLS; col++) d.push(cellDeviation(data, width, cellRect(width, row, col)));
    dev.push(d);
  }
  const textureMin = Math.min(...dev.map((d) => d[0]!));
  const flatMax = Math.max(...dev.map((d) => d[1]!));
  if (textureMin < MIN_TEXTURE_DEVIATION || textureMin < flatMax * MIN_REFERENCE_RATIO) return null;
  const threshold = (textureMin + flatMax) / 2;
  const ambiguous = (textureMin - flatMax) * AMBIGUOUS_FRACTION;

  const out: number[] = [];
  for (let row = 0; row < ROWS; row++) {
    let word = 0;
    for (let col = REFS_PER_ROW; col < COLS; col++) {
      const v = dev[row]![col]!;
      if (Math.abs(v - threshold) < ambiguous) return null;
      word = ((word << 1) | (v > threshold ? 1 : 0)) >>> 0;
    }
    out.push(word);
  }
  const [frameNumber, time, check] = out as [number, number, number];
  if (checkWord(frameNumber, time) !== check) return null;
  return { frameNumber, sendTimeMs: time };
}

/**
 * Milliseconds from a stamp's send time to `nowMs` (same clock as the sender used), undoing the
 * 32-bit wrap of the stored value. Valid for ages under about 24 days.
 */
export function stampAgeMs(sendTimeMs: number, nowMs: number): number {
  const diff = wrapMs(nowMs) - wrapMs(sendTimeMs);
  const wrapped = diff < 0 ? diff + 2 ** 32 : diff;
  // Sub-millisecond part of now is kept so a 0.4 ms loop does not read as 0.
  return wrapped + (nowMs - Math.floor(nowMs));
}
