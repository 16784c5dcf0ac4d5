/**
 * Turns one filter call into kernel calls: which WASM functions each worker part runs, on which
 * byte ranges or rows of the job's region. Pure arithmetic, no memory or threads: the processor
 * allocates the region from `regionLayout`, writes the control words, and hands each part's
 * calls to a worker.
 *
 * Splitting: the pointwise filters split into byte ranges. The 3x3 filters split each plane into
 * segments shared by two parts, one sweeping down and one up, claiming rows from the segment's
 * control word until they meet (see assembly/stream.ts): the split follows how fast each worker
 * actually runs, and a worker the OS does not schedule does not hold the call back.
 */
import { i420Planes, i420Size, type KernelFilterSpec } from '../types.js';
import type { KernelCall } from './wasm-kernels.js';

export type PixelFormat = 'i420' | 'rgba';

/** What one job processes. */
export interface JobShape {
  readonly format: PixelFormat;
  readonly width: number;
  readonly height: number;
  readonly filter: KernelFilterSpec;
}

/** Where a job's buffers are in the shared memory. */
export interface JobLayout {
  /** Control words (i64 each) of the row sweeps. */
  readonly control: number;
  readonly input: number;
  readonly output: number;
  /** One scratch area per part. */
  readonly scratch: readonly number[];
  /** Bytes from the region start to the end of the last scratch area. */
  readonly bytes: number;
}

/** A control word to write before the calls run: rows [top, bottom) still to claim. */
export interface ControlWord {
  readonly ptr: number;
  readonly top: number;
  readonly bottom: number;
}

/** The calls of every part, and the control words they share. */
export interface JobPlan {
  readonly parts: KernelCall[][];
  readonly controls: ControlWord[];
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

/** Segments of a plane for `parts` workers: pairs share one, an odd last part has its own. */
function segmentCount(parts: number): number {
  return Math.ceil(parts / 2);
}

/** Offsets of control words, input, output and per-part scratch in a region that starts at `base`. */
export function regionLayout(shape: JobShape, parts: number, sizer: ScratchSizer, base = 0): JobLayout {
  const size = imageBytes(shape);
  const control = base;
  const input = control + align(3 * segmentCount(parts) * 8);
  const output = input + align(size + INPUT_SLACK);
  const each = align(scratchPerPart(shape, sizer));
  const first = output + align(size + INPUT_SLACK);
  const scratch = Array.from({ length: parts }, (_, i) => first + i * each);
  return { control, input, output, scratch, bytes: first + parts * each - base };
}

/** Rows [top, bottom) of segment `s` of a plane `height` rows tall shared by `parts` workers (2 per segment). */
export function segment(height: number, s: number, parts: number): [number, number] {
  const at = (k: number): number => Math.floor((Math.min(2 * k, parts) * height) / parts);
  return [at(s), at(s + 1)];
}

/** Bytes [start, end) of part `i` of `parts` of `total` bytes, cut at 64-byte boundaries. */
export function byteRange(total: number, i: number, parts: number): [number, number] {
  const chunk = align(Math.ceil(total / parts));
  return [Math.min(total, i * chunk), Math.min(total, (i + 1) * chunk)];
}

/** The kernel calls of every part (some may be empty for tiny images) and their control words. */
export function planJob(shape: JobShape, parts: number, layout: JobLayout): JobPlan {
  const controls: ControlWord[] = [];
  const segments = segmentCount(parts);
  // plane p, segment s: one control word, initialised to the segment's rows
  const sweepPlanes = (heights: number[]): void => {
    heights.forEach((h, p) => {
      for (let s = 0; s < segments; s++) {
        const [top, bottom] = segment(h, s, parts);
        controls.push({ ptr: layout.control + (p * segments + s) * 8, top, bottom });
      }
    });
  };
  const { format, height, filter } = shape;
  if (filter.name === 'blur' && format === 'i420') {
    const pl = i420Planes(shape.width, height);
    sweepPlanes([pl.y.height, pl.u.height, pl.v.height]);
  } else if (filter.name === 'blur' || filter.name === 'sharpen' || filter.name === 'edges') {
    sweepPlanes([height]);
  }
  const partCalls = Array.from({ length: parts }, (_, i) => planPart(shape, i, parts, layout, segments));
  return { parts: partCalls, controls };
}

function planPart(shape: JobShape, i: number, parts: number, layout: JobLayout, segments: number): KernelCall[] {
  const { format, width: w, height: h, filter } = shape;
  const { input: src, output: dst } = layout;
  const scratch = layout.scratch[i]!;
  const total = imageBytes(shape);
  const calls: KernelCall[] = [];
  const range = (from: number, to: number, make: (at: number, len: number) => KernelCall): void => {
    const [a, b] = byteRange(to - from, i, parts);
    if (b > a) calls.push(make(from + a, b - a));
  };
  // this part's control word for plane p, and its direction (odd parts sweep up)
  const ctrl = (p: number): number => layout.control + (p * segments + (i >> 1)) * 8;
  const up = i & 1;
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
        calls.push({ fn: 'blur', args: [src, dst, rowBytes, h, 4, n, ctrl(0), up, scratch] });
        break;
      case 'sharpen':
        calls.push({ fn: 'sharpen', args: [src, dst, rowBytes, h, 4, n, ctrl(0), up, scratch, 1] });
        break;
      case 'edges':
        calls.push({ fn: 'edges', args: [src, dst, w, h, 1, ctrl(0), up, scratch] });
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
      [planes.y, planes.u, planes.v].forEach((pl, p) => {
        calls.push({ fn: 'blur', args: [src + pl.offset, dst + pl.offset, pl.width, pl.height, 1, n, ctrl(p), up, scratch] });
      });
      break;
    case 'sharpen':
      calls.push({ fn: 'sharpen', args: [src, dst, w, h, 1, n, ctrl(0), up, scratch, 0] });
      range(chroma, total, (o, len) => ({ fn: 'copy', args: [src + o, dst + o, len] }));
      break;
    case 'edges':
      calls.push({ fn: 'edges', args: [src, dst, w, h, 0, ctrl(0), up, scratch] });
      range(chroma, total, (o, len) => ({ fn: 'fill', args: [dst + o, 128, len] }));
      break;
  }
  return calls;
}
