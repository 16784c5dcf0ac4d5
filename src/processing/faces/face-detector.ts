/**
 * The face detector one server shares among its sessions: one BlazeFace ONNX session per
 * execution provider, in a worker thread (face-worker.ts), fed a downscaled copy of each frame
 * (model-input.ts), its output decoded and merged across regions (blazeface.ts). Work in flight is bounded: past `maxPending` calls a new
 * one is refused with DetectorBusyError, which the caller treats as "no detection" (fail-closed).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { weightedNms, type NormBox } from './blazeface.js';
import type { FaceWorkerInit, FaceWorkerMessage, FaceWorkerRequest } from './face-worker.js';
import { detectionRegions, type DetectorFrame, type Region } from './model-input.js';

import type { OnnxProvider } from './onnx-runtime.js';

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
  /** Called once when the worker dies (not when the detector is closed): its owner replaces the detector. */
  onBroken?: (provider: OnnxProvider, reason: string) => void;
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

/** Where the worker's compiled module is (next to this file, in dist/ and under tsx alike). */
const WORKER_URL = new URL('./face-worker.js', import.meta.url);

/** A detection waiting for the worker's answer. */
interface Pending {
  resolve(r: { boxes: NormBox[][]; runMs: number[] }): void;
  reject(err: Error): void;
}

/**
 * One model on one provider, shared by every session that detects there. The model runs in a
 * worker thread (face-worker.ts explains why); the frame is copied to it, boxes come back.
 */
export class FaceDetector {
  private pendingCount = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, Pending>();
  private closed = false;
  private brokenWhy: string | null = null;

  private constructor(private readonly worker: Worker, readonly provider: OnnxProvider, private readonly opts: FaceDetectorOptions) {
    worker.on('message', (m: FaceWorkerMessage) => {
      if (m.type !== 'result' && m.type !== 'error') return;
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.type === 'result') p.resolve({ boxes: m.boxes, runMs: m.runMs });
      else p.reject(new Error(`face detector (${provider}): ${m.error}`));
    });
    const fail = (why: string): void => {
      // The first cause only: a worker that throws also exits.
      if (this.brokenWhy !== null) return;
      this.brokenWhy = why;
      for (const p of this.waiting.values()) p.reject(new Error(`face detector (${provider}) ${why}`));
      this.waiting.clear();
      if (!this.closed) opts.onBroken?.(provider, why);
    };
    worker.on('error', (err) => fail(`worker failed: ${err.message}`));
    worker.on('exit', (code) => fail(`worker exited (${code})`));
  }

  /** Load the model on `provider` in a worker; throws when that provider cannot run here. */
  static async create(provider: OnnxProvider, opts: Partial<FaceDetectorOptions> = {}, modelPath = defaultModelPath()): Promise<FaceDetector> {
    const init: FaceWorkerInit = { modelPath, provider };
    // No node flags: a worker inherits the parent's, and some make it refuse to start.
    const worker = new Worker(WORKER_URL, { workerData: init, execArgv: [] });
    const listeners: { message?: (m: FaceWorkerMessage) => void; error?: (e: Error) => void; exit?: (code: number) => void } = {};
    try {
      await new Promise<void>((resolve, reject) => {
        listeners.message = (m) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'failed') reject(new Error(m.error));
        };
        listeners.error = reject;
        listeners.exit = (code) => reject(new Error(`face detector worker exited (${code}) while loading`));
        worker.on('message', listeners.message).on('error', listeners.error).on('exit', listeners.exit);
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      // Only these listeners: Worker keeps internal ones of its own.
      if (listeners.message) worker.off('message', listeners.message);
      if (listeners.error) worker.off('error', listeners.error);
      if (listeners.exit) worker.off('exit', listeners.exit);
    }
    return new FaceDetector(worker, provider, { ...DEFAULT_DETECTOR_OPTIONS, ...opts });
  }

  /**
   * Why the detector cannot work any more (its worker died, or it was closed); null while it
   * works. A broken detector stays broken: the backend registry replaces it.
   */
  get broken(): string | null {
    return this.brokenWhy;
  }

  /** Test hook: end the worker as a crash would (every detection then fails, and `onBroken` is called). */
  async crashWorkerForTest(): Promise<void> {
    await this.worker.terminate();
  }

  /** Detections waiting or running now. */
  get inFlight(): number {
    return this.pendingCount;
  }

  /**
   * Copy the frame now (the caller may reuse its buffer as soon as this returns) and detect on it
   * in the worker, with `tiles` pyramid levels past the whole frame. Throws DetectorBusyError past
   * `maxPending`, or the model's (or the worker's) error.
   */
  detect(src: DetectorFrame, tiles = this.opts.tiles): Promise<DetectionResult> {
    if (this.closed) return Promise.reject(new Error('face detector is closed'));
    if (this.brokenWhy !== null) return Promise.reject(new Error(`face detector (${this.provider}) ${this.brokenWhy}`));
    if (this.pendingCount >= this.opts.maxPending) return Promise.reject(new DetectorBusyError(this.pendingCount));
    const t0 = performance.now();
    const width = src.kind === 'rgba' ? src.image.width : src.frame.width;
    const height = src.kind === 'rgba' ? src.image.height : src.frame.height;
    const data = (src.kind === 'rgba' ? src.image.data : src.frame.data).slice();
    const regions = detectionRegions(width, height, tiles);
    const id = this.nextId++;
    this.pendingCount++;
    const answer = new Promise<{ boxes: NormBox[][]; runMs: number[] }>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    const req: FaceWorkerRequest = { id, kind: src.kind, width, height, data, regions, minScore: this.opts.minScore, nmsIou: NMS_IOU };
    this.worker.postMessage(req, [data.buffer]);
    return answer.then(({ boxes, runMs }) => {
      for (const ms of runMs) this.opts.onInference?.(this.provider, ms / 1000);
      return {
        boxes: mergeRegions(regions, boxes, width, height),
        inferenceMs: runMs.reduce((a, b) => a + b, 0),
        totalMs: performance.now() - t0,
        provider: this.provider,
      };
    }).finally(() => {
      this.pendingCount--;
    });
  }

  /** Stop the worker once the work in flight is done (at most 5 s). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = performance.now() + 5000;
    while (this.pendingCount > 0 && this.brokenWhy === null && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    this.brokenWhy ??= 'closed';
    await this.worker.terminate();
  }
}

/** Region-normalised boxes of every region -> one set of frame boxes in pixels, merged across regions. */
function mergeRegions(regions: readonly Region[], perRegion: readonly NormBox[][], width: number, height: number): FaceBox[] {
  const all: NormBox[] = [];
  perRegion.forEach((boxes, i) => {
    const r = regions[i]!;
    for (const b of boxes) {
      all.push({ x: (r.x + b.x * r.side) / width, y: (r.y + b.y * r.side) / height, w: (b.w * r.side) / width, h: (b.h * r.side) / height, score: b.score });
    }
  });
  const merged = regions.length > 1 ? weightedNms(all, NMS_IOU) : all;
  return merged.map((b) => clipBox({ x: b.x * width, y: b.y * height, w: b.w * width, h: b.h * height, score: b.score }, width, height))
    .filter((b): b is FaceBox => b !== null);
}

/** A box cut to the frame, or null when nothing of it is inside. */
export function clipBox(b: FaceBox, width: number, height: number): FaceBox | null {
  const x0 = Math.max(0, b.x), y0 = Math.max(0, b.y);
  const x1 = Math.min(width, b.x + b.w), y1 = Math.min(height, b.y + b.h);
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, score: b.score };
}
