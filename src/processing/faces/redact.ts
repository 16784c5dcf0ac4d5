/**
 * What the face filters do to pixels, in place, on an I420 frame (the media path) or an RGBA image
 * (/process): blur or pixelate rectangles, blur a whole frame (the fail-closed answer), and draw
 * boxes with their scores. Plain TypeScript: the rectangles are small, and a whole 360p frame
 * costs a few milliseconds.
 */
import type { AnonymizeStyle } from '../../protocol/index.js';
import type { FaceBox } from './face-detector.js';

/** How a face is hidden: the protocol's styles (the filter's `style` parameter). */
export { ANONYMIZE_STYLES, type AnonymizeStyle } from '../../protocol/index.js';

/** An integer rectangle, in pixels of the plane it applies to. */
interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One 8-bit channel of an image: `channels` interleaved bytes a pixel, rows of `width` pixels. */
interface Channel {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
  offset: number;
}

/** The channels of a frame, each with its subsampling factor (I420 chroma: 2). */
export type Planar = { kind: 'rgba' | 'i420'; width: number; height: number; data: Uint8Array };

function channelsOf(f: Planar): Array<{ ch: Channel; sub: number }> {
  if (f.kind === 'rgba') {
    return [0, 1, 2].map((c) => ({ ch: { data: f.data, width: f.width, height: f.height, channels: 4, offset: c }, sub: 1 }));
  }
  const cw = (f.width + 1) >> 1, chh = (f.height + 1) >> 1;
  const y = f.width * f.height;
  return [
    { ch: { data: f.data, width: f.width, height: f.height, channels: 1, offset: 0 }, sub: 1 },
    { ch: { data: f.data, width: cw, height: chh, channels: 1, offset: y }, sub: 2 },
    { ch: { data: f.data, width: cw, height: chh, channels: 1, offset: y + cw * chh }, sub: 2 },
  ];
}

/** A box in frame pixels to a rectangle of a plane subsampled by `sub`, rounded outwards and clipped. */
function rectOf(b: { x: number; y: number; w: number; h: number }, sub: number, ch: Channel): Rect | null {
  const x0 = Math.max(0, Math.floor(b.x / sub)), y0 = Math.max(0, Math.floor(b.y / sub));
  const x1 = Math.min(ch.width, Math.ceil((b.x + b.w) / sub)), y1 = Math.min(ch.height, Math.ceil((b.y + b.h) / sub));
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : null;
}

/** Box blur of `radius` along one axis of a w x h float buffer, edges clamped, into `dst`. */
function boxPass(src: Float32Array, dst: Float32Array, w: number, h: number, radius: number, horizontal: boolean): void {
  const len = horizontal ? w : h, lines = horizontal ? h : w;
  const step = horizontal ? 1 : w, lineStep = horizontal ? w : 1;
  const norm = 1 / (2 * radius + 1);
  const last = len - 1;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    // The window around -1: clamped indices, so the first step below centres it on 0.
    let sum = (radius + 2) * src[base]!;
    for (let i = 1; i < radius; i++) sum += src[base + (i < last ? i : last) * step]!;
    for (let i = 0; i < len; i++) {
      const add = i + radius;
      const sub = i - radius - 1;
      sum += src[base + (add < last ? add : last) * step]! - src[base + (sub > 0 ? sub : 0) * step]!;
      dst[base + i * step] = sum * norm;
    }
  }
}

/** Blur a rectangle of a channel with three box passes each way (close to a Gaussian of sigma ~ radius). */
function blurRect(ch: Channel, r: Rect, radius: number): void {
  const w = r.x1 - r.x0, h = r.y1 - r.y0;
  const a = new Float32Array(w * h), b = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) a[y * w + x] = ch.data[ch.offset + ((r.y0 + y) * ch.width + r.x0 + x) * ch.channels]!;
  }
  const rad = Math.max(1, Math.round(radius));
  for (let pass = 0; pass < 3; pass++) {
    boxPass(a, b, w, h, rad, true);
    boxPass(b, a, w, h, rad, false);
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) ch.data[ch.offset + ((r.y0 + y) * ch.width + r.x0 + x) * ch.channels] = Math.round(a[y * w + x]!);
  }
}

/** Replace a rectangle of a channel by the means of `block` x `block` cells. */
function pixelateRect(ch: Channel, r: Rect, block: number): void {
  const bs = Math.max(2, Math.round(block));
  for (let by = r.y0; by < r.y1; by += bs) {
    for (let bx = r.x0; bx < r.x1; bx += bs) {
      const ex = Math.min(r.x1, bx + bs), ey = Math.min(r.y1, by + bs);
      let sum = 0;
      for (let y = by; y < ey; y++) for (let x = bx; x < ex; x++) sum += ch.data[ch.offset + (y * ch.width + x) * ch.channels]!;
      const v = Math.round(sum / ((ex - bx) * (ey - by)));
      for (let y = by; y < ey; y++) for (let x = bx; x < ex; x++) ch.data[ch.offset + (y * ch.width + x) * ch.channels] = v;
    }
  }
}

/** Hide one box with the strength a face of `size` pixels needs. */
function redactBox(frame: Planar, b: { x: number; y: number; w: number; h: number }, size: number, style: AnonymizeStyle): void {
  for (const { ch, sub } of channelsOf(frame)) {
    const r = rectOf(b, sub, ch);
    if (!r) continue;
    if (style === 'pixelate') pixelateRect(ch, r, Math.max(4, size / 6) / sub);
    else blurRect(ch, r, Math.max(3, size / 5) / sub);
  }
}

/**
 * Hide each box: blur with a radius of a fifth of the box's larger side (three passes: eyes,
 * nose and mouth merge into one patch), or pixelate into about 6 blocks across it.
 */
export function redactBoxes(frame: Planar, boxes: readonly { x: number; y: number; w: number; h: number }[], style: AnonymizeStyle): void {
  for (const b of boxes) redactBox(frame, b, Math.max(b.w, b.h), style);
}

/**
 * The fail-closed answer: hide the whole frame as strongly as a face as tall as the frame's
 * shorter side would be hidden, so no face in it, of any size, stays recognisable.
 */
export function redactWholeFrame(frame: Planar, style: AnonymizeStyle): void {
  redactBox(frame, { x: 0, y: 0, w: frame.width, h: frame.height }, Math.min(frame.width, frame.height), style);
}

/** 3 x 5 glyphs of the digits and '.', a row per 3 bits (for the scores `faces` draws). */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7], '.': [0, 0, 0, 0, 2],
};

/** Green in each colour space the frames use. */
const MARK = { rgba: [0, 255, 0], i420: [145, 54, 34] } as const;

/** Draw each box's outline (2 px) and its score above it, in green. */
export function drawBoxes(frame: Planar, boxes: readonly FaceBox[]): void {
  const chans = channelsOf(frame);
  const colour = MARK[frame.kind];
  const fill = (x0: number, y0: number, x1: number, y1: number): void => {
    chans.forEach(({ ch, sub }, i) => {
      const r = rectOf({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, sub, ch);
      if (!r) return;
      for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) ch.data[ch.offset + (y * ch.width + x) * ch.channels] = colour[i]!;
    });
  };
  for (const b of boxes) {
    const x0 = Math.round(b.x), y0 = Math.round(b.y), x1 = Math.round(b.x + b.w), y1 = Math.round(b.y + b.h);
    fill(x0, y0, x1, y0 + 2); fill(x0, y1 - 2, x1, y1); fill(x0, y0, x0 + 2, y1); fill(x1 - 2, y0, x1, y1);
    const text = b.score.toFixed(2);
    const scale = 2, ty = Math.max(0, y0 - 6 * scale - 2);
    for (let c = 0; c < text.length; c++) {
      const g = GLYPHS[text[c]!] ?? [];
      for (let row = 0; row < 5; row++) {
        for (let col = 0; col < 3; col++) {
          if ((g[row]! >> (2 - col)) & 1) {
            const px = x0 + (c * 4 + col) * scale, py = ty + row * scale;
            fill(px, py, px + scale, py + scale);
          }
        }
      }
    }
  }
}
