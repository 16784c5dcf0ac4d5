/**
 * One stream's face filter: when to detect, which boxes to cover, and the fail-closed rule.
 *
 * Each frame starts a detection on its downscaled copy unless one is already running (or the
 * stream's budget, `minIntervalMs`, says not yet), then waits at most `waitMs` for it: where the
 * model is cheap (CPU, ~2 ms) every frame is covered by boxes from itself; where it is not
 * (lavapipe WebGPU, ~50 ms) the frame goes on with the boxes of the newest finished detection,
 * carried forward. Boxes are smoothed across detections, padded (more the older they are, for
 * motion) and held `holdDetections` detections after the face is lost. If the newest detection
 * was taken from a frame more than `maxAgeMs` before this one — or none has finished, or the
 * detector failed or is absent — `anonymize` covers the whole frame instead. `faces` (a tuning
 * view) draws the boxes and never covers anything.
 */
import { performance } from 'node:perf_hooks';
import type { DetectionResult, FaceBox } from './face-detector.js';
import type { DetectorFrame } from './model-input.js';
import { drawBoxes, redactBoxes, redactWholeFrame, type AnonymizeStyle, type Planar } from './redact.js';
import { iou } from './blazeface.js';

/** What the guard needs of a detector (the shared FaceDetector, or a slowed one in tests). */
export interface Detector {
  detect(src: DetectorFrame, tiles?: number): Promise<DetectionResult>;
}

/** The face filters. */
export type FaceFilterMode = 'anonymize' | 'faces';

/** Tuning of the guard; the server takes these from config.ts (RTC_FACES_*). */
export interface FaceGuardSettings {
  style: AnonymizeStyle;
  /** Newest detection older than this (frame to frame) -> the whole frame is covered. */
  maxAgeMs: number;
  /** How long a frame waits for the detection started on it. */
  waitMs: number;
  /** Detections a lost face's box is kept for. */
  holdDetections: number;
  /** Padding added to each side of a box, as a fraction of its size. */
  pad: number;
  /** Least time between two detection starts of one stream (0: every frame). */
  minIntervalMs: number;
  /** Detection pyramid levels past the whole frame (model-input.ts). */
  tiles: number;
}

/** Defaults: the values config.ts documents. */
export const DEFAULT_GUARD_SETTINGS: FaceGuardSettings = {
  style: 'blur', maxAgeMs: 250, waitMs: 20, holdDetections: 5, pad: 0.3, minIntervalMs: 100, tiles: 1,
};

/** What happened to one frame. */
export interface FaceFrameOutcome {
  /** Boxes covered or drawn. */
  faces: number;
  /** The whole frame was covered (no fresh detection). */
  wholeFrame: boolean;
  /** Age of the detection used, ms (null: none yet). */
  detectionAgeMs: number | null;
  /** The provider whose detection was used (null: none). */
  provider: string | null;
}

/** A face followed across detections. */
interface Track {
  box: FaceBox;
  missed: number;
}

/** Most faces followed at once: bounds the work of a noisy stream. */
const MAX_TRACKS = 32;
/** Extra padding per second of detection age, as a fraction of the box (a face moving half its width in a second). */
const MOTION_PAD_PER_S = 0.5;

/** The face filter state of one stream (a session, or one /process call). */
export class FaceGuard {
  private tracks: Track[] = [];
  private inFlight: Promise<void> | null = null;
  private lastStart = -Infinity;
  /** Frame time of the newest finished detection. */
  private resultAt: number | null = null;
  private resultProvider: string | null = null;
  /** Detections that failed or were refused (busy), for stats. */
  failures = 0;

  constructor(
    readonly mode: FaceFilterMode,
    private readonly detector: () => Detector | null,
    private settingsNow: FaceGuardSettings,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** The guard's tuning now. */
  get settings(): FaceGuardSettings {
    return this.settingsNow;
  }

  /** Hide faces with `style` from the next frame on (a session's `style` parameter); the tracks are kept. */
  setStyle(style: AnonymizeStyle): void {
    this.settingsNow = { ...this.settingsNow, style };
  }

  /**
   * Filter `frame` in place: it holds the frame's pixels (the output buffer), which are read for
   * detection before anything is drawn on them.
   */
  async apply(frame: Planar): Promise<FaceFrameOutcome> {
    const frameAt = this.clock();
    if (this.inFlight === null && frameAt - this.lastStart >= this.settings.minIntervalMs) this.start(frame, frameAt);
    if (this.inFlight !== null && this.settings.waitMs > 0) await waitAtMost(this.inFlight, this.settings.waitMs);
    const age = this.resultAt === null ? null : frameAt - this.resultAt;
    const outcome = { detectionAgeMs: age === null ? null : Math.round(age), provider: this.resultProvider };
    if (this.mode === 'faces') {
      const boxes = this.tracks.map((t) => t.box);
      drawBoxes(frame, boxes);
      return { faces: boxes.length, wholeFrame: false, ...outcome };
    }
    if (age === null || age > this.settings.maxAgeMs) {
      redactWholeFrame(frame, this.settings.style);
      return { faces: 0, wholeFrame: true, ...outcome };
    }
    const boxes = this.tracks.map((t) => padBox(t.box, this.settings.pad + MOTION_PAD_PER_S * Math.max(0, age) / 1000));
    redactBoxes(frame, boxes, this.settings.style);
    return { faces: boxes.length, wholeFrame: false, ...outcome };
  }

  private start(frame: Planar, frameAt: number): void {
    const d = this.detector();
    this.lastStart = frameAt;
    if (d === null) {
      this.failures++;
      return;
    }
    const src: DetectorFrame = frame.kind === 'rgba'
      ? { kind: 'rgba', image: { width: frame.width, height: frame.height, data: frame.data } }
      : { kind: 'i420', frame: { width: frame.width, height: frame.height, data: frame.data } };
    let p: Promise<DetectionResult>;
    try {
      p = d.detect(src, this.settings.tiles);
    } catch {
      this.failures++;
      return;
    }
    this.inFlight = p.then(
      (r) => {
        this.update(r.boxes);
        // Monotonic: a detection's frame time only moves forward (starts are serialised).
        this.resultAt = frameAt;
        this.resultProvider = r.provider;
      },
      () => {
        this.failures++;
      },
    ).finally(() => {
      this.inFlight = null;
    });
  }

  /** Match new boxes to tracks: smoothed where matched, held where lost, new tracks for the rest. */
  private update(found: readonly FaceBox[]): void {
    const used = new Set<number>();
    const next: Track[] = [];
    for (const t of this.tracks) {
      let best = -1, bestIou = 0.1;
      found.forEach((b, i) => {
        const v = iou(t.box, b);
        if (!used.has(i) && v > bestIou) { best = i; bestIou = v; }
      });
      if (best >= 0) {
        used.add(best);
        next.push({ box: smooth(t.box, found[best]!), missed: 0 });
      } else if (t.missed < this.settings.holdDetections) {
        next.push({ box: t.box, missed: t.missed + 1 });
      }
    }
    found.forEach((b, i) => {
      if (!used.has(i)) next.push({ box: b, missed: 0 });
    });
    this.tracks = next.sort((a, b) => a.missed - b.missed || b.box.score - a.box.score).slice(0, MAX_TRACKS);
  }
}

/**
 * The box covered for a face seen again: the union of the new box and the average of old and new,
 * so smoothing steadies the patch but never leaves part of the new box out.
 */
function smooth(old: FaceBox, now: FaceBox): FaceBox {
  const ax = (old.x + now.x) / 2, ay = (old.y + now.y) / 2, aw = (old.w + now.w) / 2, ah = (old.h + now.h) / 2;
  const x0 = Math.min(ax, now.x), y0 = Math.min(ay, now.y);
  const x1 = Math.max(ax + aw, now.x + now.w), y1 = Math.max(ay + ah, now.y + now.h);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, score: now.score };
}

/** A box grown by `pad` of its size on every side. */
export function padBox(b: FaceBox, pad: number): FaceBox {
  const dx = b.w * pad, dy = b.h * pad;
  return { x: b.x - dx, y: b.y - dy, w: b.w + 2 * dx, h: b.h + 2 * dy, score: b.score };
}

/** Resolve when `p` settles or after `ms`, whichever is first; never rejects. */
function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => { timer = setTimeout(r, ms); })]).finally(() => clearTimeout(timer));
}
