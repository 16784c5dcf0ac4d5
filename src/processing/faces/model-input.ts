/**
 * The detector's downscaled copy of a frame: square regions of an RGBA image or an I420 frame
 * resampled to the model's 128 x 128 RGB input in [-1, 1]. Each output pixel averages a fixed
 * grid of samples, so the cost does not grow with the frame size (1080p costs what 360p costs)
 * and large downscales do not alias the way single nearest samples would.
 */
import type { I420Frame, RgbaImage } from '../types.js';
import { BLAZEFACE_INPUT } from './blazeface.js';

/**
 * A square region of the frame, in frame pixels; it may reach past the frame (letterbox). `fine`
 * marks a region of the pyramid's levels 2 and deeper: its boxes need FINE_SCORE_MARGIN more
 * score (face-detector.ts), because those levels look at many small squares of background.
 */
export interface Region {
  x: number;
  y: number;
  side: number;
  fine?: true;
}

/** The frame a detector reads: RGBA (/process) or I420 (the media path). */
export type DetectorFrame = { kind: 'rgba'; image: RgbaImage } | { kind: 'i420'; frame: I420Frame };

/**
 * The regions of each pyramid level 0..`levels`: level 0 is the whole frame letterboxed to a
 * square; level 1 squares of the frame's short side along its long one (for a frame wider than
 * 5:4; none otherwise); level k squares of 1/2^(k-1) of the short side, overlapping by a quarter.
 * Measured on the evaluation set (bench/faces, docs/measurements/2026-12-06-faces-recall.md): at
 * 16:9, levels 0-1 (4 model runs) find faces from about 0.3 of the frame height, levels 0-2
 * (19 runs) from about 0.15, levels 0-3 (69 runs) from 0.1.
 */
export function pyramidLevels(width: number, height: number, levels: number): Region[][] {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const out: Region[][] = [[{ x: (width - long) / 2, y: (height - long) / 2, side: long }]];
  for (let level = 1; level <= levels; level++) {
    const side = Math.round(short / 2 ** (level - 1));
    if (level === 1 && long <= short * 1.25) {
      out.push([]);
      continue;
    }
    const along = (extent: number): number[] => {
      if (extent <= side) return [0];
      const n = Math.ceil((extent - side) / (side * 0.75)) + 1;
      return Array.from({ length: n }, (_, i) => Math.round((i * (extent - side)) / (n - 1)));
    };
    const regions: Region[] = [];
    for (const y of along(height)) for (const x of along(width)) regions.push(level >= 2 ? { x, y, side, fine: true } : { x, y, side });
    out.push(regions);
  }
  return out;
}

/** Every region of pyramid levels 0..`levels` (pyramidLevels), coarse to fine: one full detection. */
export function detectionRegions(width: number, height: number, levels: number): Region[] {
  return pyramidLevels(width, height, levels).flat();
}

/** A tracked face's region is this many times the face's larger side (the face a third of it, as level 1 sees a face of 0.3). */
export const FACE_REGION_SCALE = 3;

/**
 * The region of interest around a face found before: a square FACE_REGION_SCALE times its larger
 * side, centred on it and moved inside the frame where the frame is large enough, never smaller
 * than half the model input (so a tiny box is not blown up into noise).
 */
export function faceRegion(box: { x: number; y: number; w: number; h: number }, width: number, height: number): Region {
  const side = Math.round(Math.max(BLAZEFACE_INPUT / 2, FACE_REGION_SCALE * Math.max(box.w, box.h)));
  const place = (centre: number, extent: number): number => {
    const start = Math.round(centre - side / 2);
    return side >= extent ? start : Math.max(0, Math.min(extent - side, start));
  };
  return { x: place(box.x + box.w / 2, width), y: place(box.y + box.h / 2, height), side };
}

/** How one stream spreads its detections over the pyramid (face-guard.ts; config.ts RTC_FACES_*). */
export interface DetectionSchedule {
  /** Levels 0..tiles run at every detection (the coarse levels). */
  tiles: number;
  /** Deepest level the stream reaches: levels tiles+1..sweepTiles are swept a few regions a detection. */
  sweepTiles: number;
  /** Most model runs in one detection; the coarse levels always run, even past it. */
  runs: number;
}

/** One detection's regions, and where the sweep goes on next time. */
export interface DetectionPlan {
  regions: Region[];
  /** The sweep's position for the next detection. */
  cursor: number;
  /** Fine regions one full sweep holds (0: no sweep). */
  sweepRegions: number;
  /** Most detections one full sweep takes at this frame size and budget (0: no sweep). */
  sweepDetections: number;
  /** Tracked faces given a region of their own this time. */
  faceRegions: number;
}

/**
 * The regions of one detection of a stream: the coarse levels (every time), a region around each
 * tracked face small enough to need one (its region smaller than the frame's short side; at most
 * half of the runs left, the first in `tracks` order when there are more), and the next fine
 * regions of the sweep in the remaining runs. At least half of the runs past the coarse levels go
 * to the sweep, so every fine region is looked at within `sweepDetections` detections whatever the
 * number of faces. `tracks` are the stream's face boxes in frame pixels, in priority order
 * (face-guard.ts: the longest missed first); `faceCursor` starts that order further on (a rotation).
 */
export function planDetection(
  width: number, height: number, schedule: DetectionSchedule,
  tracks: ReadonlyArray<{ x: number; y: number; w: number; h: number }>, cursor: number, faceCursor = 0,
): DetectionPlan {
  const levels = pyramidLevels(width, height, Math.max(schedule.tiles, schedule.sweepTiles));
  const coarse = levels.slice(0, schedule.tiles + 1).flat();
  const fine = levels.slice(schedule.tiles + 1).flat();
  const extra = Math.max(0, schedule.runs - coarse.length);
  const short = Math.min(width, height);
  const wanted = tracks.map((t) => faceRegion(t, width, height)).filter((r) => r.side < short);
  const faceShare = fine.length > 0 ? Math.floor(extra / 2) : extra;
  const faceCount = Math.min(wanted.length, faceShare);
  const sweepCount = Math.min(fine.length, extra - faceCount);
  const regions = [...coarse];
  for (let i = 0; i < faceCount; i++) regions.push(wanted[(faceCursor + i) % wanted.length]!);
  const start = fine.length > 0 ? ((cursor % fine.length) + fine.length) % fine.length : 0;
  for (let i = 0; i < sweepCount; i++) regions.push(fine[(start + i) % fine.length]!);
  const leastSweep = Math.min(fine.length, extra - Math.min(faceShare, extra));
  return {
    regions,
    cursor: fine.length > 0 ? (start + sweepCount) % fine.length : 0,
    sweepRegions: fine.length,
    sweepDetections: fine.length > 0 && leastSweep > 0 ? Math.ceil(fine.length / leastSweep) : 0,
    faceRegions: faceCount,
  };
}

/** Samples a side per output pixel: 2 x 2 once the region is downscaled (a fixed cost per region). */
function samplesFor(side: number): number {
  return Math.max(1, Math.min(2, Math.ceil(side / BLAZEFACE_INPUT)));
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * Write `region` of the frame into `out` (NHWC, 128 x 128 x 3, float32 in [-1, 1]) at `offset`.
 * Pixels outside the frame are black (-1), as in MediaPipe's letterbox.
 */
export function fillModelInput(src: DetectorFrame, region: Region, out: Float32Array, offset = 0): void {
  const n = BLAZEFACE_INPUT;
  const s = samplesFor(region.side);
  const step = region.side / n;
  const width = src.kind === 'rgba' ? src.image.width : src.frame.width;
  const height = src.kind === 'rgba' ? src.image.height : src.frame.height;
  const rgba = src.kind === 'rgba' ? src.image.data : null;
  const yuv = src.kind === 'i420' ? src.frame.data : null;
  const cw = (width + 1) >> 1;
  const uOff = width * height;
  const vOff = uOff + cw * ((height + 1) >> 1);
  const inv = 1 / (s * s);
  let o = offset;
  for (let oy = 0; oy < n; oy++) {
    for (let ox = 0; ox < n; ox++) {
      let r = 0, g = 0, b = 0;
      for (let sy = 0; sy < s; sy++) {
        const fy = Math.floor(region.y + (oy + (sy + 0.5) / s) * step);
        for (let sx = 0; sx < s; sx++) {
          const fx = Math.floor(region.x + (ox + (sx + 0.5) / s) * step);
          if (fx < 0 || fy < 0 || fx >= width || fy >= height) continue; // black
          if (rgba) {
            const p = (fy * width + fx) * 4;
            r += rgba[p]!; g += rgba[p + 1]!; b += rgba[p + 2]!;
          } else {
            // BT.601 limited range, what browsers' and libvpx's I420 carries.
            const c = (fy >> 1) * cw + (fx >> 1);
            const yv = 1.164 * (yuv![fy * width + fx]! - 16);
            const u = yuv![uOff + c]! - 128;
            const v = yuv![vOff + c]! - 128;
            r += clamp255(yv + 1.596 * v);
            g += clamp255(yv - 0.392 * u - 0.813 * v);
            b += clamp255(yv + 2.017 * u);
          }
        }
      }
      out[o++] = (r * inv) / 127.5 - 1;
      out[o++] = (g * inv) / 127.5 - 1;
      out[o++] = (b * inv) / 127.5 - 1;
    }
  }
}
