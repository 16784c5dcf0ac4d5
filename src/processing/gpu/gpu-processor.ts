/**
 * The WebGPU backend (Dawn through the `webgpu` npm package): every filter as a WGSL compute
 * kernel (kernels-wgsl.ts), byte-identical to the reference.
 *
 * Per frame: one writeBuffer upload into a cached slot (slot-pool.ts), one command buffer with one
 * compute pass holding every iteration as a ping-pong dispatch, a copy into the readback buffer,
 * one submit, one mapAsync. Pipelines are built once at start; buffers once per frame size.
 */
import { performance } from 'node:perf_hooks';
import type { KernelFilterSpec, FrameProcessor, I420Frame, ProcessTimings, RgbaImage } from '../types.js';
import { backendLabel, describeAdapter, softwareReason } from './adapter-info.js';
import { BusyTracker } from './busy-tracker.js';
import { createDawn, MapMode, type DawnGpu } from './dawn.js';
import { frameLayout, type LayoutKind } from './frame-layout.js';
import { I420_WORKGROUP, KERNELS_WGSL, Op, RGBA_WORKGROUP, TILE_MAX_ITERATIONS, type OpName } from './kernels-wgsl.js';
import { SlotPool, type FrameSlot } from './slot-pool.js';

export { GpuOutOfMemoryError } from './slot-pool.js';

export interface GpuProcessorOptions {
  /** Accept software adapters (lavapipe, SwiftShader, isFallbackAdapter). */
  allowSoftware: boolean;
  /** Options for webgpu's create(), e.g. ["backend=opengles"]. */
  dawnOptions: string[];
  /**
   * RGBA blur: 'tiled' (default) fuses up to TILE_MAX_ITERATIONS iterations per dispatch in
   * workgroup memory; 'per-iteration' dispatches once per iteration. Same bytes; the bench compares them.
   */
  rgbaBlur?: RgbaBlurKernel;
}

/** The two RGBA blur kernels (see GpuProcessorOptions.rgbaBlur). */
export type RgbaBlurKernel = 'tiled' | 'per-iteration';

/** No usable GPU adapter: the message says why (no adapter, software only, device creation failed). */
export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

/** A frame larger than the device's buffers can hold (a RangeError: the request, not the GPU, is at fault). */
export class GpuFrameTooLargeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'GpuFrameTooLargeError';
  }
}

/**
 * Dawn quantises timestamps (a browser anti-fingerprinting measure) unless told not to; a server
 * wants them exact. Added unless the caller already passes its own disable-dawn-features.
 */
function dawnFlags(options: readonly string[]): string[] {
  const flags = [...options];
  if (!flags.some((f) => f.startsWith('disable-dawn-features='))) flags.push('disable-dawn-features=timestamp_quantization');
  return flags;
}

const OP_NAMES: readonly OpName[] = ['invert', 'grayscale', 'blur', 'sharpen', 'edges'];

interface PipelineSet {
  i420: Record<OpName, GPUComputePipeline>;
  rgba: Record<OpName, GPUComputePipeline>;
  /** rgba_blur_tiled specialised for K = 1..TILE_MAX_ITERATIONS (index K - 1). */
  blurTiled: GPUComputePipeline[];
}

export class GpuProcessor implements FrameProcessor {
  readonly name = 'gpu' as const;
  private readonly busy = new BusyTracker();
  private readonly lostListeners: Array<(reason: string) => void> = [];
  private readonly pool: SlotPool;
  private readonly inFlight = new Set<Promise<unknown>>();
  private lostReason: string | null = null;
  private closing = false;
  /** Rejects (never resolves) when the device is lost: raced against every GPU wait. */
  private readonly lostSignal: Promise<never>;
  private dev: GPUDevice | null;
  /** The first error Dawn reported outside any error scope (a frame after it cannot be trusted). */
  private uncaptured: string | null = null;

  private constructor(
    gpuDevice: GPUDevice,
    private readonly pipelines: PipelineSet,
    layout: GPUBindGroupLayout,
    readonly device: string,
    /** Whether compute times come from GPU timestamp queries (else wall clock). */
    readonly hasTimestamps: boolean,
    /** Which RGBA blur kernel runs. */
    readonly rgbaBlur: RgbaBlurKernel,
  ) {
    this.dev = gpuDevice;
    // An error outside an error scope means some frame's output cannot be trusted: give the GPU
    // up as lost (sessions move to CPU) rather than send wrong pixels.
    gpuDevice.onuncapturederror = (ev) => {
      if (this.uncaptured !== null || this.closing) return;
      this.uncaptured = ev.error.message;
      const reason = `GPU error: ${ev.error.message}`;
      this.handleLost(reason, new GpuUnavailableError(reason));
      // Not from inside Dawn's callback: destroy() there never returns (seen with dawn.node 0.6.2).
      setImmediate(() => gpuDevice.destroy());
    };
    this.pool = new SlotPool(gpuDevice, layout, hasTimestamps);
    this.lostSignal = new Promise<never>((_resolve, reject) => {
      void gpuDevice.lost.then((info) => {
        const reason = `${info.reason}: ${info.message || 'no message'}`;
        const err = new GpuUnavailableError(`GPU device lost (${reason})`);
        reject(err);
        this.handleLost(reason, err);
      });
    });
    this.lostSignal.catch(() => {});
  }

  /** Open the best adapter and build the pipelines; throws GpuUnavailableError with the reason. */
  static async create(options: GpuProcessorOptions): Promise<GpuProcessor> {
    const flags = dawnFlags(options.dawnOptions);
    let gpu: DawnGpu;
    try {
      gpu = createDawn(flags);
    } catch (err) {
      throw new GpuUnavailableError(`WebGPU (Dawn) could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    const wantsCompat = flags.includes('backend=opengles');
    const optText = ` (Dawn options: ${flags.join(' ')})`;
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel: wantsCompat ? 'compatibility' : 'core' });
      // The OpenGL ES backend only offers compatibility-level adapters.
      if (!adapter && !wantsCompat) adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel: 'compatibility' });
    } catch (err) {
      throw new GpuUnavailableError(`no WebGPU adapter found${optText}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!adapter) throw new GpuUnavailableError(`no WebGPU adapter found${optText}`);

    const info = adapter.info;
    const software = softwareReason(info);
    const label = describeAdapter(info, backendLabel(flags, info), software !== null);
    if (software && !options.allowSoftware) {
      throw new GpuUnavailableError(
        `only a software adapter is available: ${label}; ${software}. Set RTC_GPU_ALLOW_SOFTWARE=1 to use it anyway`);
    }

    const hasTimestamps = adapter.features.has('timestamp-query');
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        label: 'rtc-scale',
        requiredFeatures: hasTimestamps ? ['timestamp-query'] : [],
        // Large frames (up to 8K RGBA) exceed the default 128 MiB binding limit.
        requiredLimits: {
          maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
          // Compatibility-level adapters (OpenGL ES) default to 128 invocations; ask for the kernels' size.
          maxComputeInvocationsPerWorkgroup: Math.min(adapter.limits.maxComputeInvocationsPerWorkgroup, Math.max(I420_WORKGROUP, RGBA_WORKGROUP ** 2)),
          maxComputeWorkgroupSizeX: Math.min(adapter.limits.maxComputeWorkgroupSizeX, Math.max(I420_WORKGROUP, RGBA_WORKGROUP)),
          maxComputeWorkgroupSizeY: Math.min(adapter.limits.maxComputeWorkgroupSizeY, RGBA_WORKGROUP),
        },
      });
    } catch (err) {
      throw new GpuUnavailableError(`GPU device request failed on ${label}: ${err instanceof Error ? err.message : String(err)}`);
    }

    try {
      const { pipelines, layout } = await buildPipelines(device);
      return new GpuProcessor(device, pipelines, layout, label, hasTimestamps, options.rgbaBlur ?? 'tiled');
    } catch (err) {
      device.destroy();
      throw new GpuUnavailableError(`GPU kernels failed to build on ${label}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Register a listener for device loss; called once with the reason. */
  onDeviceLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** Fraction of wall time with GPU work in flight since the previous call. */
  takeBusyRatio(): number {
    return this.busy.take();
  }

  /** Why the device was lost, or null while it works. */
  get lostBecause(): string | null {
    return this.lostReason;
  }

  /** The WebGPU device while it lives (null once lost or closed): for monitoring, and for tests that destroy it as a driver reset would. */
  get gpuDevice(): GPUDevice | null {
    return this.dev;
  }

  async processI420(frame: I420Frame, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    return this.track(this.run('i420', frame.width, frame.height, frame.data, filter, out));
  }

  async processRgba(image: RgbaImage, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    return this.track(this.run('rgba', image.width, image.height, image.data, filter, out));
  }

  /** Wait for in-flight frames, then free the buffers and destroy the device (a live device keeps the process from exiting). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.pool.fail(new GpuUnavailableError('GPU backend closed'));
    await Promise.allSettled([...this.inFlight]);
    this.pool.destroy();
    // A lost device is already gone; destroying it again trips a mutex assertion in Dawn's GL backend.
    if (this.lostReason === null) this.dev?.destroy();
    this.dev = null;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = (): void => {
      this.inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  private unavailable(): GpuUnavailableError | null {
    if (this.lostReason !== null) return new GpuUnavailableError(`GPU device lost (${this.lostReason})`);
    if (this.closing || !this.dev) return new GpuUnavailableError('GPU backend closed');
    return null;
  }

  private async run(kind: LayoutKind, width: number, height: number, data: Uint8Array, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    const refused = this.unavailable();
    if (refused || !this.dev) throw refused ?? new GpuUnavailableError('GPU backend closed');
    // Checked before any GPU call: a zero-sized binding is a validation error that loses the device.
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`frame size must be positive integers, got ${width}x${height}`);
    }
    const layout = frameLayout(kind, width, height);
    const limits = this.dev.limits;
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    if (layout.paddedBytes > limit) {
      throw new GpuFrameTooLargeError(`a ${width}x${height} ${kind} frame (${layout.paddedBytes} bytes) exceeds this GPU's buffer binding limit of ${limit} bytes`);
    }
    if (data.length < layout.bytes) throw new RangeError(`input has ${data.length} bytes, a ${width}x${height} ${kind} frame needs ${layout.bytes}`);
    if (out.length < layout.bytes) throw new RangeError(`output has ${out.length} bytes, a ${width}x${height} ${kind} frame needs ${layout.bytes}`);

    const slot = await Promise.race([this.pool.acquire(layout), this.lostSignal]);
    try {
      return await this.runInSlot(slot, data, filter, out);
    } catch (err) {
      // After a loss every GPU error is the loss; report it as such so callers fall back.
      throw this.unavailable() ?? err;
    } finally {
      this.pool.release(slot);
    }
  }

  private async runInSlot(slot: FrameSlot, data: Uint8Array, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    const dev = this.dev;
    if (!dev) throw new GpuUnavailableError('GPU backend closed');
    const layout = slot.layout;
    const t0 = performance.now();
    upload(dev.queue, slot, data);
    const t1 = performance.now();

    const encoder = dev.createCommandEncoder();
    let result = slot.a;
    const iterated = filter.name === 'blur' || filter.name === 'sharpen';
    const timed = slot.timestamps !== null && filter.name !== 'none';
    if (filter.name !== 'none') {
      const pass = encoder.beginComputePass(timed && slot.timestamps
        ? { timestampWrites: { querySet: slot.timestamps.set, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }
        : {});
      let dispatches = 0;
      // Dispatches in one pass are ordered with full storage visibility, so passes ping-pong a <-> b.
      const dispatch = (pipeline: GPUComputePipeline, groups: readonly [number, number]): void => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, dispatches % 2 === 0 ? slot.aToB : slot.bToA);
        pass.dispatchWorkgroups(groups[0], groups[1]);
        dispatches++;
      };
      if (filter.name === 'blur' && layout.kind === 'rgba' && this.rgbaBlur === 'tiled') {
        for (let left = filter.iterations; left > 0; left -= TILE_MAX_ITERATIONS) {
          dispatch(this.pipelines.blurTiled[Math.min(left, TILE_MAX_ITERATIONS) - 1]!, layout.tileGroups);
        }
      } else {
        const pipeline = this.pipelines[layout.kind][filter.name];
        const passes = iterated ? filter.iterations : 1;
        for (let i = 0; i < passes; i++) dispatch(pipeline, layout.groups);
      }
      pass.end();
      result = dispatches % 2 === 1 ? slot.b : slot.a;
    }
    encoder.copyBufferToBuffer(result, 0, slot.readback, 0, layout.paddedBytes);
    if (timed && slot.timestamps) {
      encoder.resolveQuerySet(slot.timestamps.set, 0, 2, slot.timestamps.resolve, 0);
      encoder.copyBufferToBuffer(slot.timestamps.resolve, 0, slot.readback, slot.timestamps.offset, 16);
    }
    dev.queue.submit([encoder.finish()]);
    this.busy.begin();
    let t2: number;
    try {
      await Promise.race([slot.readback.mapAsync(MapMode.READ, 0, slot.readbackBytes), this.lostSignal]);
      t2 = performance.now();
    } finally {
      this.busy.end();
    }
    let kernelMs = t2 - t1;
    try {
      const mapped = slot.readback.getMappedRange(0, slot.readbackBytes);
      out.set(new Uint8Array(mapped, 0, layout.bytes));
      if (timed && slot.timestamps) {
        const ts = new BigUint64Array(mapped, slot.timestamps.offset, 2);
        const ns = Number(ts[1]! - ts[0]!);
        // A driver that does not implement timestamps writes zeros; keep the wall clock then.
        if (ns > 0) kernelMs = ns / 1e6;
      }
    } finally {
      slot.readback.unmap();
    }
    if (this.uncaptured !== null) throw new GpuUnavailableError(`GPU error: ${this.uncaptured}`);
    const t3 = performance.now();
    const total = t3 - t0;
    const uploadMs = t1 - t0;
    const compute = Math.min(kernelMs, total - uploadMs);
    return { upload: uploadMs, compute, download: Math.max(0, total - uploadMs - compute), total };
  }

  private handleLost(reason: string, err: GpuUnavailableError): void {
    if (this.closing) return; // our own destroy() in close(): not a loss anyone must react to
    if (this.lostReason !== null) return; // already given up (an uncaptured error destroyed the device)
    this.lostReason = reason;
    this.pool.fail(err);
    for (const l of this.lostListeners.splice(0)) {
      try {
        l(reason);
      } catch {
        // A listener's failure must not stop the others from switching to CPU.
      }
    }
  }
}

/** Copy the frame into slot.a: whole words straight from `data`, the ragged tail through a padded scratch word. */
function upload(queue: GPUQueue, slot: FrameSlot, data: Uint8Array): void {
  const bytes = slot.layout.bytes;
  const whole = bytes & ~3;
  if (whole > 0) queue.writeBuffer(slot.a, 0, data, 0, whole);
  if (whole < bytes) {
    slot.tail.fill(0);
    slot.tail.set(data.subarray(whole, bytes));
    queue.writeBuffer(slot.a, whole, slot.tail, 0, 4);
  }
}

/** Compile the kernels once: one pipeline per (layout, filter), all sharing one bind group layout. */
async function buildPipelines(device: GPUDevice): Promise<{ pipelines: PipelineSet; layout: GPUBindGroupLayout }> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'rtc-scale kernels', code: KERNELS_WGSL });
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform' } },
      { binding: 1, visibility: 4, buffer: { type: 'read-only-storage' } },
      { binding: 2, visibility: 4, buffer: { type: 'storage' } },
    ],
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const build = (entryPoint: string, label: string, constants: Record<string, number>): Promise<GPUComputePipeline> =>
    device.createComputePipelineAsync({ label, layout: pipelineLayout, compute: { module, entryPoint, constants } });
  const forKind = async (kind: LayoutKind): Promise<Record<OpName, GPUComputePipeline>> => {
    const built = await Promise.all(OP_NAMES.map((op) => build(kind, `${kind} ${op}`, { OP: Op[op] })));
    return Object.fromEntries(OP_NAMES.map((op, i) => [op, built[i]!])) as Record<OpName, GPUComputePipeline>;
  };
  const [i420, rgba, blurTiled] = await Promise.all([
    forKind('i420'),
    forKind('rgba'),
    Promise.all(Array.from({ length: TILE_MAX_ITERATIONS }, (_, i) => build('rgba_blur_tiled', `rgba blur tiled K=${i + 1}`, { K: i + 1 }))),
  ]);
  const error = await device.popErrorScope();
  if (error) throw new Error(error.message);
  return { pipelines: { i420, rgba, blurTiled }, layout };
}
