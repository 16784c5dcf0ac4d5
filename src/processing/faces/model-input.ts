/**
 * The detector's downscaled copy of a frame: square regions of an RGBA image or an I420 frame
 * resampled to the model's 128 x 128 RGB input in [-1, 1]. Each output pixel averages a fixed
 * grid of samples, so the cost does not grow with the frame size (1080p costs what 360p costs)
 * and large downscales do not alias the way single nearest samples would.
 */
import type { I420Frame, RgbaImage } from '../types.js';
import { BLAZEFACE_INPUT } from './blazeface.js';

/** A square region of the frame, in frame pixels; it may reach past the frame (letterbox). */
export interface Region {
  x: number;
  y: number;
  side: number;
}

/** The frame a detector reads: RGBA (/process) or I420 (the media path). */
export type DetectorFrame = { kind: 'rgba'; image: RgbaImage } | { kind: 'i420'; frame: I420Frame };

/**
 * The regions one detection looks at, a pyramid of `levels` levels past the first: level 0 is the
 * whole frame letterboxed to a square; level 1 squares of the frame's short side along its long
 * one (for a frame wider than 5:4); level k squares of 1/2^(k-1) of the short side, overlapping
 * by a quarter. Measured on the evaluation set (bench/faces): at 16:9, levels 0-1 (4 model runs)
 * find faces from about 0.3 of the frame height, levels 0-2 (19 runs) from about 0.15.
 */
export function detectionRegions(width: number, height: number, levels: number): Region[] {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const regions: Region[] = [{ x: (width - long) / 2, y: (height - long) / 2, side: long }];
  for (let level = 1; level <= levels; level++) {
    const side = Math.round(short / 2 ** (level - 1));
    if (level === 1 && long <= short * 1.25) continue;
    const along = (extent: number): number[] => {
      if (extent <= side) return [0];
      const n = Math.ceil((extent - side) / (side * 0.75)) + 1;
      return Array.from({ length: n }, (_, i) => Math.round((i * (extent - side)) / (n - 1)));
    };
    for (const y of along(height)) for (const x of along(width)) regions.push({ x, y, side });
  }
  return regions;
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
