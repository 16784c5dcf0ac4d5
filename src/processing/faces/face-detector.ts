/**
 * The face detector one server shares among its sessions: one BlazeFace ONNX session per
 * execution provider, fed a downscaled copy of each frame (model-input.ts), its output decoded and
 * merged across regions (blazeface.ts). Work in flight is bounded: past `maxPending` calls a new
 * one is refused with DetectorBusyError, which the caller treats as "no detection" (fail-closed).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { BLAZEFACE_INPUT, decodeBlazeface, weightedNms, type NormBox } from './blazeface.js';
import { detectionRegions, fillModelInput, type DetectorFrame, type Region } from './model-input.js';
import { OnnxModel, type OnnxProvider } from './onnx-runtime.js';

export type { OnnxProvider } from './onnx-runtime.js';

/** A face in frame pixels, with the model's score (0..1). */
export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

/** What one detection found and what it cost. */
export interface DetectionResult {
  boxes: FaceBox[];
  /** Time inside the model (all regions), ms. */
  inferenceMs: number;
  /** Time from the call to the answer, waiting for a place included, ms. */
  totalMs: number;
  provider: OnnxProvider;
}

/** Tuning of a detector; the server takes these from config.ts. */
export interface FaceDetectorOptions {
  /** Lowest score kept (0..1). */
  minScore: number;
  /** Default pyramid levels past the whole frame (model-input.ts): each finds faces half as small, at more model runs. */
  tiles: number;
  /** Most detections waiting or running at once; more are refused (DetectorBusyError). */
  maxPending: number;
  /** Called after every model run with its duration in seconds (the metrics histogram). */
  onInference?: (provider: OnnxProvider, seconds: number) => void;
}

/** Default tuning: the values config.ts documents as defaults. */
export const DEFAULT_DETECTOR_OPTIONS: FaceDetectorOptions = { minScore: 0.5, tiles: 2, maxPending: 16 };

/** Boxes of different regions that overlap this much are one face (MediaPipe's value). */
const NMS_IOU = 0.3;

/** Too many detections are waiting: the caller must go on without one. */
export class DetectorBusyError extends Error {
  constructor(pending: number) {
    super(`face detector busy: ${pending} detections pending`);
    this.name = 'DetectorBusyError';
  }
}

/** Where the committed model lives, from src/ (tsx) or dist/src/ (built). */
export function defaultModelPath(): string {
  const name = 'models/blazeface/face_detection_front_128x128_barracuda.onnx';
  for (const up of ['../../../', '../../../../']) {
    const p = fileURLToPath(new URL(up + name, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`face model ${name} not found next to the sources`);
}

/** One model on one provider, shared by every session that detects there. */
export class FaceDetector {
  private pending = 0;
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly model: OnnxModel, private readonly opts: FaceDetectorOptions) {}

  /** Load the model on `provider`; throws when that provider cannot run here. */
  static async create(provider: OnnxProvider, opts: Partial<FaceDetectorOptions> = {}, modelPath = defaultModelPath()): Promise<FaceDetector> {
    const model = await OnnxModel.load(modelPath, provider);
    const d = new FaceDetector(model, { ...DEFAULT_DETECTOR_OPTIONS, ...opts });
    // The first run compiles kernels (WebGPU: shaders, hundreds of ms on lavapipe): pay it now.
    await model.run(new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3), [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3]);
    return d;
  }

  /** The execution provider: `cpu` or `webgpu`. */
  get provider(): OnnxProvider {
    return this.model.provider;
  }

  /** Detections waiting or running now. */
  get inFlight(): number {
    return this.pending;
  }

  /**
   * Build the model inputs of a frame now (the caller may reuse the frame's buffer as soon as this
   * returns) and detect on them, with `tiles` pyramid levels past the whole frame. Throws DetectorBusyError past `maxPending`, or the model's error.
   */
  detect(src: DetectorFrame, tiles = this.opts.tiles): Promise<DetectionResult> {
    if (this.closed) return Promise.reject(new Error('face detector is closed'));
    if (this.pending >= this.opts.maxPending) return Promise.reject(new DetectorBusyError(this.pending));
    const t0 = performance.now();
    const width = src.kind === 'rgba' ? src.image.width : src.frame.width;
    const height = src.kind === 'rgba' ? src.image.height : src.frame.height;
    const regions = detectionRegions(width, height, tiles);
    const size = BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3;
    const inputs = regions.map((r) => {
      const buf = new Float32Array(size);
      fillModelInput(src, r, buf);
      return buf;
    });
    this.pending++;
    // One model run at a time per provider: runs from many sessions queue here (bounded by
    // maxPending) rather than oversubscribing the cores or the GPU queue.
    const job = this.running.then(async () => this.runRegions(regions, inputs, width, height));
    this.running = job.catch(() => {});
    return job.then(
      ({ boxes, inferenceMs }) => ({ boxes, inferenceMs, totalMs: performance.now() - t0, provider: this.provider }),
    ).finally(() => {
      this.pending--;
    });
  }

  private async runRegions(regions: Region[], inputs: Float32Array[], width: number, height: number): Promise<{ boxes: FaceBox[]; inferenceMs: number }> {
    const dims = [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3];
    const all: NormBox[] = [];
    let inferenceMs = 0;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i]!;
      const t = performance.now();
      const outputs = await this.model.run(inputs[i]!, dims);
      const ms = performance.now() - t;
      inferenceMs += ms;
      this.opts.onInference?.(this.provider, ms / 1000);
      for (const b of weightedNms(decodeBlazeface(outputs, this.opts.minScore), NMS_IOU)) {
        // Region-normalised -> frame-normalised, so boxes of different regions can be merged.
        all.push({
          x: (r.x + b.x * r.side) / width,
          y: (r.y + b.y * r.side) / height,
          w: (b.w * r.side) / width,
          h: (b.h * r.side) / height,
          score: b.score,
        });
      }
    }
    const merged = regions.length > 1 ? weightedNms(all, NMS_IOU) : all;
    const boxes = merged.map((b) => clipBox({ x: b.x * width, y: b.y * height, w: b.w * width, h: b.h * height, score: b.score }, width, height))
      .filter((b): b is FaceBox => b !== null);
    return { boxes, inferenceMs };
  }

  /** Release the model once the work in flight is done. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.running;
    await this.model.close();
  }
}

/** A box cut to the frame, or null when nothing of it is inside. */
export function clipBox(b: FaceBox, width: number, height: number): FaceBox | null {
  const x0 = Math.max(0, b.x), y0 = Math.max(0, b.y);
  const x1 = Math.min(width, b.x + b.w), y1 = Math.min(height, b.y + b.h);
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, score: b.score };
}
