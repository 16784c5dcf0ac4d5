/**
 * Synthetic moving video in I420: a diagonal luma gradient with fine texture that scrolls, a
 * chroma gradient that drifts, and a textured box that bounces around. Motion and texture make
 * the VP8 encoder do real work (motion search, residuals), as a camera would, while each frame
 * costs only row copies to produce. The top band is left for the frame stamp (see stamp.ts).
 *
 * The picture is also face-free for the face detector (BlazeFace, the `anonymize` filter), so a
 * load test of that filter measures the filter and not covered stamps: the box's texture is
 * per-pixel noise (a checkerboard of 8 px squares read as eyes), the luma ramp stays out of the
 * dark (dark blobs on a bright ground are what the model looks for), and the chroma keeps to blue
 * and cyan hues (U >= 128, V <= 128), away from skin tones. test/unit/loadgen/synthetic-video.test.ts
 * runs the real detector on it.
 */
import { stampBandHeight } from './stamp.js';

/** Thrown for a frame size the generator cannot produce. */
export class VideoSizeError extends Error {
  override readonly name = 'VideoSizeError';
}

/** Generates the frames of one synthetic video stream. */
export class SyntheticVideo {
  readonly width: number;
  readonly height: number;
  /** The current frame: Y, U, V planes back to back. Rewritten by every call to {@link render}. */
  readonly data: Uint8Array;
  private readonly lumaPattern: Uint8Array;
  /** U and V patterns: U on the blue side of grey, V on the green side, never the reds of skin. */
  private readonly uPattern: Uint8Array;
  private readonly vPattern: Uint8Array;
  private readonly boxTexture: Uint8Array;
  private readonly boxSize: number;
  private readonly seed: number;

  /** `seed` varies the phase so concurrent sessions do not send identical pictures. */
  constructor(width: number, height: number, seed = 0) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width % 2 || height % 2) {
      throw new VideoSizeError(`video size must be even integers >= 16, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.seed = seed >>> 0;
    const cw = width / 2;
    const ch = height / 2;
    this.data = new Uint8Array(width * height + 2 * cw * ch);
    // Patterns twice as long as a row (plus the height, for the diagonal), so any row is a slice.
    const span = 2 * width + height;
    this.lumaPattern = new Uint8Array(span);
    for (let i = 0; i < span; i++) {
      // Slow ramp plus a fine ripple: gradients alone encode to almost nothing. A short, faint
      // ripple (7 px, ±3): one of 23 px and ±11 read as faces to the finest detection level.
      const ramp = 90 + ((i * 110) / width) % 110;
      const ripple = ((i * 37) % 7) - 3;
      this.lumaPattern[i] = Math.max(16, Math.min(235, Math.round(ramp + ripple)));
    }
    const cspan = 2 * cw + ch;
    this.uPattern = new Uint8Array(cspan);
    this.vPattern = new Uint8Array(cspan);
    for (let i = 0; i < cspan; i++) {
      const wave = Math.sin((2 * Math.PI * i) / cw);
      this.uPattern[i] = 158 + Math.round(30 * wave);
      this.vPattern[i] = 108 - Math.round(20 * wave);
    }
    this.boxSize = Math.max(8, Math.floor(Math.min(width, height) / 5));
    this.boxTexture = new Uint8Array(this.boxSize * this.boxSize);
    for (let y = 0; y < this.boxSize; y++) {
      for (let x = 0; x < this.boxSize; x++) {
        this.boxTexture[y * this.boxSize + x] = 60 + (pixelHash(x, y) % 161);
      }
    }
  }

  /** Draw frame number `n` into {@link data} and return it. The stamp band at the top is left grey. */
  render(n: number): Uint8Array {
    const { width: w, height: h, data } = this;
    const t = n + this.seed;
    const top = Math.min(h, stampBandHeight(w) + 2);
    data.fill(128, 0, top * w);
    const scroll = (t * 3) % w;
    for (let y = top; y < h; y++) {
      const start = scroll + (y % w);
      data.set(this.lumaPattern.subarray(start, start + w), y * w);
    }
    this.drawBox(t, top);
    const cw = w / 2;
    const ch = h / 2;
    const cscroll = (2 * t) % cw;
    for (let plane = 0; plane < 2; plane++) {
      const base = w * h + plane * cw * ch;
      for (let y = 0; y < ch; y++) {
        const start = (plane ? cw - cscroll : cscroll) + y;
        data.set((plane ? this.vPattern : this.uPattern).subarray(start, start + cw), base + y * cw);
      }
    }
    return data;
  }

  private drawBox(t: number, top: number): void {
    const { width: w, height: h, boxSize: s } = this;
    const rangeX = w - s;
    const rangeY = h - top - s;
    if (rangeX <= 0 || rangeY <= 0) return;
    // Bounce: a triangle wave over twice the range.
    const bounce = (v: number, range: number): number => {
      const p = v % (2 * range);
      return p < range ? p : 2 * range - p;
    };
    const bx = bounce(t * 5, rangeX);
    const by = top + bounce(t * 3, rangeY);
    for (let y = 0; y < s; y++) this.data.set(this.boxTexture.subarray(y * s, (y + 1) * s), (by + y) * w + bx);
  }
}

/** A well-mixed 32-bit hash of a pixel position: texture without structure at any scale. */
function pixelHash(x: number, y: number): number {
  let h = Math.imul(x * 374761393 + y * 668265263, 1274126177) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}
