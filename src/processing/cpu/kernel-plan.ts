/**
 * Turns one filter call into kernel calls: which WASM functions each worker part runs, on which
 * byte ranges or row strips of the job's region. Pure arithmetic, no memory or threads: the
 * processor allocates the region from `regionLayout` and hands each part's calls to a worker.
 *
 * Splitting: the 3x3 filters split into row strips (each strip re-reads `iterations` halo rows,
 * so strips never wait for each other); the pointwise filters split into byte ranges.
 */
import { i420Planes, i420Size, type FilterSpec } from '../types.js';
import type { KernelCall } from './wasm-kernels.js';

export type PixelFormat = 'i420' | 'rgba';

/** What one job processes. */
export interface JobShape {
  readonly format: PixelFormat;
  readonly width: number;
  readonly height: number;
  readonly filter: FilterSpec;
}

/** Where a job's buffers are in the shared memory. */
export interface JobLayout {
  readonly input: number;
  readonly output: number;
  /** One scratch area per part. */
  readonly scratch: readonly number[];
  /** Bytes from the region start to the end of the last scratch area. */
  readonly bytes: number;
}

/** The scratch size function exported by the kernels module. */
export type ScratchSizer = (rowBytes: number, passes: number) => number;

/** Bytes the kernels may read past the input (one vector past a row, four for RGBA luma). */
export const INPUT_SLACK = 64;
const ALIGN = 64;
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Bytes of the image or frame. */
export function imageBytes(shape: Pick<JobShape, 'format' | 'width' | 'height'>): number {
  return shape.format === 'rgba' ? shape.width * shape.height * 4 : i420Size(shape.width, shape.height);
}

function scratchPerPart(shape: JobShape, sizer: ScratchSizer): number {
  const { format, width, filter } = shape;
  switch (filter.name) {
    case 'blur':
    case 'sharpen':
      return sizer(format === 'rgba' ? width * 4 : width, filter.iterations);
    case 'edges':
      return sizer(width, 1);
    default:
      return 64;
  }
}

/** Offsets of input, output and per-part scratch inside a region that starts at `base`. */
export function regionLayout(shape: JobShape, parts: number, sizer: ScratchSizer, base = 0): JobLayout {
  const size = imageBytes(shape);
  const input = base;
  const output = input + align(size + INPUT_SLACK);
  const each = align(scratchPerPart(shape, sizer));
  const first = output + align(size + INPUT_SLACK);
  const scratch = Array.from({ length: parts }, (_, i) => first + i * each);
  return { input, output, scratch, bytes: first + parts * each - base };
}

/** Rows [y0, y1) of part `i` of `parts` of a plane `height` rows tall. */
export function strip(height: number, i: number, parts: number): [number, number] {
  return [Math.floor((i * height) / parts), Math.floor(((i + 1) * height) / parts)];
}

/** Bytes [start, end) of part `i` of `parts` of `total` bytes, cut at 64-byte boundaries. */
export function byteRange(total: number, i: number, parts: number): [number, number] {
  const chunk = align(Math.ceil(total / parts));
  return [Math.min(total, i * chunk), Math.min(total, (i + 1) * chunk)];
}

/** The kernel calls of every part (some may be empty for tiny images). */
export function planJob(shape: JobShape, parts: number, layout: JobLayout): KernelCall[][] {
  return Array.from({ length: parts }, (_, i) => planPart(shape, i, parts, layout));
}

function planPart(shape: JobShape, i: number, parts: number, layout: JobLayout): KernelCall[] {
  const { format, width: w, height: h, filter } = shape;
  const { input: src, output: dst } = layout;
  const scratch = layout.scratch[i]!;
  const total = imageBytes(shape);
  const calls: KernelCall[] = [];
  const range = (from: number, to: number, make: (a: number, b: number) => KernelCall): void => {
    const [a, b] = byteRange(to - from, i, parts);
    if (b > a) calls.push(make(from + a, b - a));
  };
  const rows = (height: number, make: (y0: number, y1: number) => KernelCall): void => {
    const [y0, y1] = strip(height, i, parts);
    if (y1 > y0) calls.push(make(y0, y1));
  };
  const n = filter.iterations;

  if (format === 'rgba') {
    const rowBytes = w * 4;
    switch (filter.name) {
      case 'none':
        range(0, total, (o, len) => ({ fn: 'copy', args: [src + o, dst + o, len] }));
        break;
      case 'invert':
        range(0, total, (o, len) => ({ fn: 'invert', args: [src + o, dst + o, len, 1, scratch] }));
        break;
      case 'grayscale':
        range(0, total, (o, len) => ({ fn: 'grayRgba', args: [src + o, dst + o, len, scratch] }));
        break;
      case 'blur':
        rows(h, (y0, y1) => ({ fn: 'blur', args: [src, dst, rowBytes, h, 4, n, y0, y1, scratch] }));
        break;
      case 'sharpen':
        rows(h, (y0, y1) => ({ fn: 'sharpen', args: [src, dst, rowBytes, h, 4, n, y0, y1, scratch, 1] }));
        break;
      case 'edges':
        rows(h, (y0, y1) => ({ fn: 'edges', args: [src, dst, w, h, 1, y0, y1, scratch] }));
        break;
    }
    return calls;
  }

  const planes = i420Planes(w, h);
  const chroma = planes.u.offset;
  switch (filter.name) {
    case 'none':
      range(0, total, (o, len) => ({ fn: 'copy', args: [src + o, dst + o, len] }));
      break;
    case 'invert':
      range(0, total, (o, len) => ({ fn: 'invert', args: [src + o, dst + o, len, 0, scratch] }));
      break;
    case 'grayscale':
      range(0, chroma, (o, len) => ({ fn: 'copy', args: [src + o, dst + o, len] }));
      range(chroma, total, (o, len) => ({ fn: 'fill', args: [dst + o, 128, len] }));
      break;
    case 'blur':
      for (const p of [planes.y, planes.u, planes.v]) {
        rows(p.height, (y0, y1) => ({ fn: 'blur', args: [src + p.offset, dst + p.offset, p.width, p.height, 1, n, y0, y1, scratch] }));
      }
      break;
    case 'sharpen':
      rows(h, (y0, y1) => ({ fn: 'sharpen', args: [src, dst, w, h, 1, n, y0, y1, scratch, 0] }));
      range(chroma, total, (o, len) => ({ fn: 'copy', args: [src + o, dst + o, len] }));
      break;
    case 'edges':
      rows(h, (y0, y1) => ({ fn: 'edges', args: [src, dst, w, h, 0, y0, y1, scratch] }));
      range(chroma, total, (o, len) => ({ fn: 'fill', args: [dst + o, 128, len] }));
      break;
  }
  return calls;
}
