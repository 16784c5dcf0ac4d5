// The WebAssembly SIMD kernels of the CPU backend (AssemblyScript, compiled by scripts/build.mjs
// to dist/wasm/kernels.wasm). Every worker instantiates this module on one shared memory; the
// pointers below are byte offsets into it, laid out by the main thread (cpu/wasm-arena.ts).
// Inputs must be followed by 64 bytes of slack: the row kernels read up to one vector past a row.
import { grayRgba as grayRows, invertBytes, setStage } from './rows';
import { OP_BLUR, OP_SHARPEN, OP_SOBEL, SRC_COPY, SRC_DIRECT, SRC_LUMA, run, scratchBytes } from './stream';

/** First byte the module's own static data does not use: the arena starts at or above it. */
export function heapBase(): usize {
  return __heap_base;
}

/** Scratch bytes a blur/sharpen/edges call needs for rows of `rowBytes` bytes and `passes` passes. */
export function streamScratchBytes(rowBytes: usize, passes: usize): usize {
  return scratchBytes(rowBytes, passes);
}

// The filters below write the output rows they claim from the control word at `ctrl` (see
// stream.ts): i64, low half the first unclaimed row, high half one past the last. Two workers
// may share one word, one with fromBottom 0 and one with 1.

/** `passes` blur passes of a plane (pixelBytes 1) or RGBA image (4). */
export function blur(input: usize, output: usize, rowBytes: usize, height: i32, pixelBytes: usize, passes: i32,
  ctrl: usize, fromBottom: i32, scratch: usize): void {
  run(OP_BLUR, SRC_DIRECT, input, output, rowBytes, height, pixelBytes, passes, ctrl, fromBottom != 0, scratch, false);
}

/** `passes` sharpen passes; with keepAlpha (RGBA), the output alpha is the input's. */
export function sharpen(input: usize, output: usize, rowBytes: usize, height: i32, pixelBytes: usize, passes: i32,
  ctrl: usize, fromBottom: i32, scratch: usize, keepAlpha: i32): void {
  run(OP_SHARPEN, SRC_COPY, input, output, rowBytes, height, pixelBytes, passes, ctrl, fromBottom != 0, scratch, keepAlpha != 0);
}

/** Sobel of a plane (rgba 0) or of the luma of an RGBA image (rgba 1: R = G = B = edge, alpha kept). */
export function edges(input: usize, output: usize, width: usize, height: i32, rgba: i32, ctrl: usize, fromBottom: i32,
  scratch: usize): void {
  run(OP_SOBEL, rgba != 0 ? SRC_LUMA : SRC_COPY, input, output, width, height, 1, 1, ctrl, fromBottom != 0, scratch, rgba != 0);
}

/** 255 - v over `n` bytes; keepAlpha (RGBA, whole pixels) leaves every fourth byte as it was. */
export function invert(input: usize, output: usize, n: usize, keepAlpha: i32, scratch: usize): void {
  setStage(scratch);
  invertBytes(input, output, n, keepAlpha != 0);
}

/** RGBA grayscale of `n` bytes (whole pixels). */
export function grayRgba(input: usize, output: usize, n: usize, scratch: usize): void {
  setStage(scratch);
  grayRows(input, output, n);
}

/** Copy `n` bytes. */
export function copy(input: usize, output: usize, n: usize): void {
  memory.copy(output, input, n);
}

/** Set `n` bytes to `value`. */
export function fill(output: usize, value: u8, n: usize): void {
  memory.fill(output, value, n);
}
