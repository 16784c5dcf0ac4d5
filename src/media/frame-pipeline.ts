/**
 * The frame path of one session, engine-free: decoded frames in, the latest one through the
 * processor (GPU failing: CPU), processed frames out. Knows nothing of WebRTC, so it is tested
 * with fake frames and a fake processor.
 */
import { performance } from 'node:perf_hooks';
import type { BackendChoice, BackendName } from '../protocol/index.js';
import { isFaceFilter, isKernelSpec, kernelSpec } from '../processing/filter-spec.js';
import { DEFAULT_GUARD_SETTINGS, FaceGuard, type FaceFilterMode, type FaceGuardSettings } from '../processing/faces/face-guard.js';
import type { FilterSpec, FrameProcessor, I420Frame } from '../processing/types.js';
import { LatestFrameSlot } from './latest-frame-slot.js';
import type { MediaMetrics } from './media-metrics.js';
import { RateMeter, SampleWindow } from './rolling-stats.js';

/** Where processors come from: the registry, or a fake in tests. */
export interface ProcessorSource {
  getWithFallback(choice: BackendChoice): FrameProcessor;
  /** A face filter for one stream (`settings` over the server's); without it (test fakes) face filters cover whole frames. */
  createFaceGuard?(mode: FaceFilterMode, backendOf: () => BackendName, settings?: Partial<FaceGuardSettings>): FaceGuard;
}

export interface FramePipelineOptions {
  processors: ProcessorSource;
  metrics: Pick<MediaMetrics, 'framesReceived' | 'framesSent' | 'framesDropped' | 'frameQueueWaitSeconds' |
    'frameProcessingSeconds' | 'frameServerLatencySeconds'> & Partial<Pick<MediaMetrics, 'facesPerFrame' | 'faceFramesCoveredWhole'>>;
  filter: FilterSpec;
  backend: BackendChoice;
  /** Largest width x height processed; bigger frames are refused and reported through onOversize. */
  maxPixels: number;
  /** A processed frame, ready for the encoder (its buffer is reused for the next frame). */
  output: (frame: I420Frame) => void;
  onOversize: (width: number, height: number) => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** Counters and windows a session reports. */
export interface PipelineStats {
  width: number;
  height: number;
  activeBackend: string;
  framesReceived: number;
  framesSent: number;
  framesDropped: number;
  fpsIn: number;
  fpsOut: number;
  processingMs: { p50: number | null; p95: number | null };
  serverLatencyMs: { p50: number | null; p95: number | null };
  /** Face filters only: faces covered in the last frame, and frames covered whole (fail-closed). */
  faces?: { lastFrame: number; framesCoveredWhole: number; detectionAgeMs: number | null };
}

/** Latest-frame-wins processing loop of one session. */
export class FramePipeline {
  filter: FilterSpec;
  backend: BackendChoice;
  private readonly slot = new LatestFrameSlot<I420Frame>();
  private busy = false;
  private stopped = false;
  private outBuf: Uint8Array = new Uint8Array(0);
  /** An input buffer not in use (the pipeline's copies of the engine's frames circulate between two). */
  private spareInput: Uint8Array | null = null;
  private width = 0;
  private height = 0;
  private activeBackend: string;
  private framesReceived = 0;
  private framesSent = 0;
  private framesFailed = 0;
  private framesOversize = 0;
  private readonly fpsIn = new RateMeter();
  private readonly fpsOut = new RateMeter();
  private readonly processingMs = new SampleWindow();
  private readonly serverLatencyMs = new SampleWindow();
  /** The face filter state while the filter is one (dropped when it changes: a new stream of boxes). */
  private faceGuard: FaceGuard | null = null;
  private faceStats: NonNullable<PipelineStats['faces']> = { lastFrame: 0, framesCoveredWhole: 0, detectionAgeMs: null };

  constructor(private readonly opts: FramePipelineOptions) {
    this.filter = opts.filter;
    this.backend = opts.backend;
    this.activeBackend = opts.processors.getWithFallback(this.backend).name;
  }

  /**
   * A decoded frame arrived. `frame.data` is the engine's and valid during this call only: with the
   * `none` filter and nothing in progress the frame goes straight to the output (no processor, no
   * copy); otherwise the pipeline keeps a copy in one of its two input buffers.
   */
  push(frame: I420Frame): void {
    if (this.stopped) return;
    const now = performance.now();
    this.framesReceived++;
    this.fpsIn.mark(now);
    this.opts.metrics.framesReceived.inc();
    if (frame.width * frame.height > this.opts.maxPixels) {
      this.framesOversize++;
      this.opts.metrics.framesDropped.inc({ reason: 'too-large' });
      this.opts.onOversize(frame.width, frame.height);
      return;
    }
    if (this.filter.name === 'none' && !this.busy && !this.slot.hasFrame) {
      this.width = frame.width;
      this.height = frame.height;
      this.opts.metrics.frameQueueWaitSeconds.observe(0);
      this.opts.output(frame);
      this.sent(performance.now(), now, now, this.activeBackend);
      return;
    }
    let copy = this.spareInput;
    this.spareInput = null;
    if (!copy || copy.byteLength !== frame.data.byteLength) copy = new Uint8Array(frame.data.byteLength);
    copy.set(frame.data);
    const replaced = this.slot.replace({ width: frame.width, height: frame.height, data: copy }, now);
    if (replaced) {
      this.spareInput = replaced.data;
      this.opts.metrics.framesDropped.inc({ reason: 'superseded' });
    }
    if (!this.busy) void this.pump();
  }

  /** Count a frame handed to the output. */
  private sent(done: number, started: number, arrivedAt: number, backend: string): void {
    const m = this.opts.metrics;
    this.framesSent++;
    this.fpsOut.mark(done);
    this.processingMs.add(done - started);
    this.serverLatencyMs.add(done - arrivedAt);
    m.frameProcessingSeconds.observe({ backend, filter: this.filter.name }, (done - started) / 1000);
    m.frameServerLatencySeconds.observe({ backend }, (done - arrivedAt) / 1000);
    m.framesSent.inc({ backend });
  }

  /** Stop processing and release buffers. */
  stop(): void {
    this.stopped = true;
    this.slot.clear();
    this.outBuf = new Uint8Array(0);
    this.spareInput = null;
  }

  /** Counters and percentiles at `now`. */
  stats(now = performance.now()): PipelineStats {
    const r = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
    return {
      width: this.width,
      height: this.height,
      activeBackend: this.activeBackend,
      framesReceived: this.framesReceived,
      framesSent: this.framesSent,
      framesDropped: this.slot.dropped + this.framesFailed + this.framesOversize,
      fpsIn: this.fpsIn.rate(now),
      fpsOut: this.fpsOut.rate(now),
      processingMs: { p50: r(this.processingMs.percentile(50)), p95: r(this.processingMs.percentile(95)) },
      serverLatencyMs: { p50: r(this.serverLatencyMs.percentile(50)), p95: r(this.serverLatencyMs.percentile(95)) },
      ...(isKernelSpec(this.filter) ? {} : { faces: { ...this.faceStats } }),
    };
  }

  /** Process waiting frames one at a time until the slot is empty. */
  private async pump(): Promise<void> {
    this.busy = true;
    try {
      for (let p = this.slot.take(); p !== null && !this.stopped; p = this.slot.take()) {
        const { frame, arrivedAt } = p;
        const started = performance.now();
        const m = this.opts.metrics;
        m.frameQueueWaitSeconds.observe((started - arrivedAt) / 1000);
        if (this.outBuf.length !== frame.data.length) this.outBuf = new Uint8Array(frame.data.length);
        this.width = frame.width;
        this.height = frame.height;
        const processor = await this.processWithFallback(frame);
        // the input copy is free again: the next frame kept is copied into it
        this.spareInput = frame.data;
        if (processor === null || this.stopped) continue;
        this.opts.output({ width: frame.width, height: frame.height, data: this.outBuf });
        this.sent(performance.now(), started, arrivedAt, processor.name);
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * A face filter: the frame copied to the output and covered there by the stream's guard (which
   * reads the frame before covering it). Returns the processor whose backend detected.
   */
  private async processFaces(frame: I420Frame, mode: FaceFilterMode): Promise<FrameProcessor> {
    const processor = this.opts.processors.getWithFallback(this.backend);
    const style = this.filter.style;
    if (this.faceGuard === null || this.faceGuard.mode !== mode) {
      const backendOf = (): BackendName => this.opts.processors.getWithFallback(this.backend).name === 'gpu' ? 'gpu' : 'cpu';
      const own = style ? { style } : {};
      this.faceGuard = this.opts.processors.createFaceGuard?.(mode, backendOf, own) ?? new FaceGuard(mode, () => null, { ...DEFAULT_GUARD_SETTINGS, ...own });
    } else if (style && this.faceGuard.settings.style !== style) {
      // A new style only changes how boxes are hidden: the boxes and the freshness are kept.
      this.faceGuard.setStyle(style);
    }
    this.outBuf.set(frame.data);
    const outcome = await this.faceGuard.apply({ kind: 'i420', width: frame.width, height: frame.height, data: this.outBuf });
    this.activeBackend = processor.name;
    this.opts.metrics.facesPerFrame?.observe({ filter: mode }, outcome.faces);
    if (outcome.wholeFrame) {
      this.faceStats.framesCoveredWhole++;
      this.opts.metrics.faceFramesCoveredWhole?.inc();
    }
    this.faceStats.lastFrame = outcome.faces;
    this.faceStats.detectionAgeMs = outcome.detectionAgeMs;
    return processor;
  }

  /** Process one frame; on a failing GPU retry once on CPU. Returns the processor used, or null. */
  private async processWithFallback(frame: I420Frame): Promise<FrameProcessor | null> {
    const filter = this.filter;
    if (isFaceFilter(filter.name)) {
      try {
        return await this.processFaces(frame, filter.name);
      } catch (err) {
        // Never send a frame the face filter did not finish: drop it.
        this.opts.log('warn', 'face filter failed', { err: String(err) });
        this.framesFailed++;
        this.opts.metrics.framesDropped.inc({ reason: 'error' });
        return null;
      }
    }
    this.faceGuard = null;
    const kernel = kernelSpec(filter);
    const first = this.opts.processors.getWithFallback(this.backend);
    const tryOn = async (p: FrameProcessor): Promise<boolean> => {
      try {
        await p.processI420(frame, kernel, this.outBuf);
        this.activeBackend = p.name;
        return true;
      } catch (err) {
        this.opts.log('warn', `frame processing failed on ${p.name}`, { err: String(err) });
        return false;
      }
    };
    if (await tryOn(first)) return first;
    if (first.name !== 'cpu') {
      const cpu = this.opts.processors.getWithFallback('cpu');
      if (await tryOn(cpu)) return cpu;
    }
    this.framesFailed++;
    this.opts.metrics.framesDropped.inc({ reason: 'error' });
    return null;
  }
}
