/**
 * The processing contract shared by every backend (reference, cpu, gpu).
 *
 * Frames travel as I420 (the layout libwebrtc hands out): a Y plane of width x height bytes,
 * then U and V planes of chromaWidth x chromaHeight bytes each, where
 * chromaWidth = ceil(width / 2) and chromaHeight = ceil(height / 2). No padding between rows.
 *
 * The /process workload runs on RGBA8 images (4 bytes a pixel, row-major, no padding).
 */

import type { AnonymizeStyle, FilterName, KernelFilterName } from '../protocol/index.js';

/** Every filter name, and the kernels every backend implements bit-exact: the protocol's names. */
export { FILTER_NAMES, KERNEL_FILTER_NAMES, FACE_FILTER_NAMES, isFaceFilter, type FilterName, type KernelFilterName, type FaceFilterName } from '../protocol/index.js';

/** A filter and its parameters. `iterations` repeats the convolution filters (blur, sharpen); the others run once. */
export interface FilterSpec {
  readonly name: FilterName;
  readonly iterations: number;
  /** How `anonymize` hides faces; absent: the server's default (RTC_FACES_STYLE). Other filters ignore it. */
  readonly style?: AnonymizeStyle;
}

/** A filter a FrameProcessor runs: one of the image kernels (face filters run in faces/). */
export interface KernelFilterSpec extends FilterSpec {
  readonly name: KernelFilterName;
}

/** Backends a client may ask for; `auto` resolves to gpu when a hardware adapter exists, else cpu. */
export const BACKEND_NAMES = ['reference', 'cpu', 'gpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = BackendName | 'auto';

/** An I420 frame: Y, U, V planes back to back in `data`. */
export interface I420Frame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** An RGBA8 image. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Where the time of one call went, in milliseconds. `compute` excludes upload and download. */
export interface ProcessTimings {
  upload: number;
  compute: number;
  download: number;
  total: number;
}

/**
 * One processing backend. Implementations may be asynchronous (a worker pool, a GPU queue) and
 * must accept concurrent calls; each call writes only into its own `out` buffer.
 */
export interface FrameProcessor {
  /** Which backend this is. */
  readonly name: BackendName;
  /** Human-readable device: "WebAssembly SIMD, 2 workers", "NVIDIA H100 (Vulkan)", ... */
  readonly device: string;
  /** Process an I420 frame into `out` (same size as `frame.data`). */
  processI420(frame: I420Frame, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings>;
  /** Process an RGBA image into `out` (same size as `image.data`). */
  processRgba(image: RgbaImage, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings>;
  /** Release workers, buffers, devices. The processor is unusable afterwards. */
  close(): Promise<void>;
}

/** Size in bytes of an I420 frame. */
export function i420Size(width: number, height: number): number {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  return width * height + 2 * cw * ch;
}

/** Byte offsets and sizes of the three planes of an I420 frame. */
export function i420Planes(width: number, height: number): {
  y: { offset: number; width: number; height: number };
  u: { offset: number; width: number; height: number };
  v: { offset: number; width: number; height: number };
} {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const ySize = width * height;
  return {
    y: { offset: 0, width, height },
    u: { offset: ySize, width: cw, height: ch },
    v: { offset: ySize + cw * ch, width: cw, height: ch },
  };
}
