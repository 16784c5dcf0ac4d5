/**
 * Loads the WebAssembly SIMD kernels (dist/wasm/kernels.wasm, compiled from ./assembly by
 * scripts/build.mjs) and instantiates them on a shared memory, in the main thread and in each
 * worker alike. The exports are typed here once; cpu-worker.ts calls them by name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The kernel functions a worker may be asked to call, with their numeric arguments. */
export interface KernelFunctions {
  blur(input: number, output: number, rowBytes: number, height: number, pixelBytes: number, passes: number,
    ctrl: number, fromBottom: number, scratch: number): void;
  sharpen(input: number, output: number, rowBytes: number, height: number, pixelBytes: number, passes: number,
    ctrl: number, fromBottom: number, scratch: number, keepAlpha: number): void;
  edges(input: number, output: number, width: number, height: number, rgba: number, ctrl: number, fromBottom: number,
    scratch: number): void;
  invert(input: number, output: number, n: number, keepAlpha: number, scratch: number): void;
  grayRgba(input: number, output: number, n: number, scratch: number): void;
  copy(input: number, output: number, n: number): void;
  fill(output: number, value: number, n: number): void;
}

export type KernelName = keyof KernelFunctions;

/** One kernel call: the function's name and its arguments (byte offsets and sizes). */
export interface KernelCall {
  fn: KernelName;
  args: number[];
}

/** Everything the module exports. */
export interface KernelExports extends KernelFunctions {
  heapBase(): number;
  streamScratchBytes(rowBytes: number, passes: number): number;
}

/** The kernels file is missing or does not load: the build has not run. */
export class CpuKernelsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpuKernelsUnavailableError';
  }
}

/** 64 KiB pages; wasm32 cannot address more than 65536 of them (4 GiB). */
export const WASM_PAGE = 65536;
export const MAX_PAGES = 65536;

/** Where the compiled kernels live: dist/wasm/ seen from dist/src/processing/cpu/ (or from src/ when run by tsx). */
function kernelsPath(): string {
  const candidates = [new URL('../../../wasm/kernels.wasm', import.meta.url), new URL('../../../dist/wasm/kernels.wasm', import.meta.url)];
  for (const url of candidates) {
    const p = fileURLToPath(url);
    if (existsSync(p)) return p;
  }
  throw new CpuKernelsUnavailableError(`WASM kernels not found at ${fileURLToPath(candidates[0]!)}; run \`npm run build\``);
}

/** Compile the kernels module (synchronously: it is a few KiB). */
export function compileKernels(): WebAssembly.Module {
  const path = kernelsPath();
  try {
    return new WebAssembly.Module(readFileSync(path));
  } catch (err) {
    throw new CpuKernelsUnavailableError(`cannot compile ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A shared memory the kernels can be instantiated on. */
export function createSharedMemory(initialPages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
}

/** Instantiate the kernels on `memory`. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort: () => {
        throw new Error('WASM kernel aborted');
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
