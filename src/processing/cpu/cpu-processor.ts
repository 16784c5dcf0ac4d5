/**
 * The CPU backend: WebAssembly SIMD kernels (./assembly, compiled to dist/wasm/kernels.wasm) run
 * by a pool of worker_threads on one shared WebAssembly memory. A call copies its input into a
 * region of that memory, the workers filter row strips (or byte ranges) of it in parallel, and the
 * result is copied out. Output is byte-identical to the TypeScript reference.
 *
 * Back-pressure: at most 2 jobs per worker hold memory and are being worked on; up to `maxQueue`
 * more wait for their turn; beyond that a call fails at once with CpuQueueFullError, so a burst
 * of callers cannot grow memory without bound.
 */
import { performance } from 'node:perf_hooks';
import type { KernelFilterSpec, FrameProcessor, I420Frame, ProcessTimings, RgbaImage } from '../types.js';
import { imageBytes, planJob, regionLayout, type JobShape, type PixelFormat } from './kernel-plan.js';
import { WasmArena } from './wasm-arena.js';
import { compileKernels, createSharedMemory, instantiateKernels, type KernelExports } from './wasm-kernels.js';
import { CpuProcessorClosedError, WorkerPool } from './worker-pool.js';
import type { Worker } from 'node:worker_threads';

export { CpuKernelsUnavailableError } from './wasm-kernels.js';
export { CpuOutOfMemoryError } from './wasm-arena.js';
export { CpuKernelError, CpuProcessorClosedError, CpuWorkerCrashedError } from './worker-pool.js';

export interface CpuProcessorOptions {
  /** Worker threads in the pool (defaults to the core count). */
  workers: number;
  /** Calls that may wait for a free slot before new ones are refused (default 64). */
  maxQueue?: number;
  /**
   * Frame size in bytes from which a call is split across all workers, when no other call is in
   * flight (with others in flight, one worker per call gives more frames per second). Default
   * DEFAULT_SPLIT_MIN_BYTES; 0 splits always.
   */
  splitMinBytes?: number;
  /** Sees each worker thread once it is ready, respawned ones too (monitoring; tests end one to exercise the crash path). */
  onWorkerStarted?: (worker: Worker) => void;
}

/** Too many calls are waiting: the caller should drop the frame or answer 503. */
export class CpuQueueFullError extends Error {
  constructor(limit: number) {
    super(`CPU backend queue is full (${limit} calls waiting)`);
    this.name = 'CpuQueueFullError';
  }
}

/**
 * Default split threshold (bytes of the frame). On the busy shared 2-core dev machine a 320x180
 * I420 frame (86 KB) ran no faster split (blur x1 median 0.06 ms on one worker vs 0.16 ms split in
 * one run; the fixed cost of a second message dominates), while from 640x360 (345 KB) up the
 * split was as fast or faster, and 1080p RGBA blur x10 needs both cores to stay under 25 ms.
 */
export const DEFAULT_SPLIT_MIN_BYTES = 256 * 1024;

/** The WASM SIMD worker-pool backend. */
export class CpuProcessor implements FrameProcessor {
  readonly name = 'cpu' as const;
  readonly device: string;
  private readonly maxActive: number;
  private readonly maxQueue: number;
  private readonly splitMinBytes: number;
  private active = 0;
  private readonly waiting: Array<{ go(): void; fail(err: Error): void }> = [];
  private closed = false;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly arena: WasmArena,
    private readonly kernels: KernelExports,
    options: CpuProcessorOptions,
  ) {
    const n = pool.size;
    this.device = `WebAssembly SIMD, ${n} worker${n === 1 ? '' : 's'}`;
    this.maxActive = 2 * n;
    this.maxQueue = options.maxQueue ?? 64;
    this.splitMinBytes = options.splitMinBytes ?? DEFAULT_SPLIT_MIN_BYTES;
  }

  /** Compile the kernels and start the worker pool. */
  static async create(options: CpuProcessorOptions): Promise<CpuProcessor> {
    const workers = Math.max(1, Math.floor(options.workers));
    const module = compileKernels();
    const memory = createSharedMemory(256);
    const kernels = instantiateKernels(module, memory);
    const arena = new WasmArena(memory, kernels.heapBase());
    const pool = await WorkerPool.start(workers, { module, memory }, options.onWorkerStarted);
    return new CpuProcessor(pool, arena, kernels, options);
  }

  /** Process an I420 frame into `out`. */
  processI420(frame: I420Frame, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    return this.process('i420', frame, filter, out);
  }

  /** Process an RGBA image into `out`. */
  processRgba(image: RgbaImage, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    return this.process('rgba', image, filter, out);
  }

  /** Terminate the workers; calls in flight or waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new CpuProcessorClosedError();
    for (const w of this.waiting.splice(0)) w.fail(err);
    await this.pool.close();
  }

  private async process(format: PixelFormat, img: RgbaImage | I420Frame, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    const t0 = performance.now();
    if (this.closed) throw new CpuProcessorClosedError();
    const shape: JobShape = { format, width: img.width, height: img.height, filter };
    checkShape(shape, img.data, out);
    const size = imageBytes(shape);

    // pure copies: cheaper on this thread than the copy into the shared memory would be
    if (filter.name === 'none' || (filter.name === 'grayscale' && format === 'i420')) {
      if (filter.name === 'none') {
        out.set(img.data.subarray(0, size));
      } else {
        const ySize = img.width * img.height;
        out.set(img.data.subarray(0, ySize));
        out.fill(128, ySize, size);
      }
      const ms = performance.now() - t0;
      return { upload: 0, compute: ms, download: 0, total: ms };
    }

    await this.admit();
    let region: { ptr: number; size: number } | null = null;
    try {
      // split for latency when this call has the pool to itself; otherwise calls run side by side
      const alone = this.active === 1 && this.waiting.length === 0;
      const parts = alone && size >= this.splitMinBytes ? this.pool.size : 1;
      const sizer = (rowBytes: number, n: number): number => this.kernels.streamScratchBytes(rowBytes, n);
      region = this.arena.alloc(regionLayout(shape, parts, sizer).bytes);
      const layout = regionLayout(shape, parts, sizer, region.ptr);

      const tUp = performance.now();
      this.arena.view(layout.input, size).set(img.data.subarray(0, size));
      const tCompute = performance.now();
      const plan = planJob(shape, parts, layout);
      for (const c of plan.controls) this.arena.writeWordPair(c.ptr, c.top, c.bottom);
      const results = await Promise.allSettled(plan.parts.filter((calls) => calls.length > 0).map((calls) => this.pool.run(calls)));
      // every part has settled, so no worker still writes into the region
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const tDown = performance.now();
      out.set(this.arena.view(layout.output, size));
      const tEnd = performance.now();
      return { upload: tCompute - tUp, compute: tDown - tCompute, download: tEnd - tDown, total: tEnd - t0 };
    } finally {
      if (region) this.arena.free(region);
      this.release();
    }
  }

  /** Wait for one of the job slots (bounded by maxActive, then by maxQueue waiting). */
  private admit(): Promise<void> {
    if (this.active < this.maxActive) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new CpuQueueFullError(this.maxQueue));
    return new Promise<void>((go, fail) => this.waiting.push({ go, fail }));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.go(); // the slot passes straight to the next job
    else this.active--;
  }
}

function checkShape(shape: JobShape, data: Uint8Array, out: Uint8Array): void {
  const { width, height } = shape;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  const size = imageBytes(shape);
  if (data.length < size) throw new RangeError(`input has ${data.length} bytes, a ${width}x${height} ${shape.format} image needs ${size}`);
  if (out.length < size) throw new RangeError(`output has ${out.length} bytes, a ${width}x${height} ${shape.format} image needs ${size}`);
}
