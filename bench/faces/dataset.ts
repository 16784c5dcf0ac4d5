/**
 * The face evaluation set, built from public images Debian ships in python3-skimage: the 100 face
 * crops of `lfw_subset.npy` (Labeled Faces in the Wild, 25 x 25 grey) and their 100 non-face
 * crops, and the astronaut photo (Eileen Collins, 512 x 512), pasted at several sizes and
 * positions into frames over a face-free background (skimage's `coffee.png`). Every frame comes
 * with the boxes of its faces and of its non-face patches, so recall and false positives can be
 * counted. Deterministic: the same seed gives the same frames.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
// The project's one seeded PRNG (the native engine's impairment and the tests use it too).
import { mulberry32 } from '../../src/media/engines/native/transport/impairment.js';

/** Where python3-skimage keeps its data on Debian. */
export const SKIMAGE_DATA = process.env.RTC_SKIMAGE_DATA ?? '/usr/lib/python3/dist-packages/skimage/data';

/** A box in frame pixels. */
export interface Box { x: number; y: number; w: number; h: number }

/** An RGBA frame with what is in it. */
export interface EvalFrame {
  width: number;
  height: number;
  data: Uint8Array;
  faces: Box[];
  nonFaces: Box[];
  label: string;
}

/** The face region of astronaut.png (her face from hairline to chin), read off the photo by eye. */
export const ASTRONAUT_FACE: Box = { x: 180, y: 75, w: 90, h: 100 };

/** Whether the skimage data is installed (scripts/install-system-deps.sh installs python3-skimage). */
export function datasetAvailable(): boolean {
  return existsSync(path.join(SKIMAGE_DATA, 'lfw_subset.npy')) && existsSync(path.join(SKIMAGE_DATA, 'astronaut.png'));
}

/** A PNG from the skimage data as RGBA. */
export async function loadRgba(name: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(path.join(SKIMAGE_DATA, name)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** The 200 crops of lfw_subset.npy (float64 in 0..1, [200, 25, 25]) as 8-bit grey; first 100 faces. */
export function loadLfw(): { side: number; faces: Uint8Array[]; nonFaces: Uint8Array[] } {
  const buf = readFileSync(path.join(SKIMAGE_DATA, 'lfw_subset.npy'));
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error('lfw_subset.npy is not a .npy file');
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const shape = /'shape':\s*\((\d+),\s*(\d+),\s*(\d+)\)/.exec(header);
  if (!header.includes("'<f8'") || !shape) throw new Error(`lfw_subset.npy: unexpected header ${header}`);
  const [n, h, w] = [Number(shape[1]), Number(shape[2]), Number(shape[3])];
  const crops: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Uint8Array(h * w);
    for (let j = 0; j < h * w; j++) c[j] = Math.round(255 * buf.readDoubleLE(10 + headerLen + 8 * (i * h * w + j)));
    crops.push(c);
  }
  return { side: w, faces: crops.slice(0, n / 2), nonFaces: crops.slice(n / 2) };
}

/** Bilinear resize of a grey or RGBA image (channels 1 or 4). */
function resize(src: Uint8Array, sw: number, sh: number, ch: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * ch);
  for (let y = 0; y < dh; y++) {
    const fy = Math.max(0, Math.min(sh - 1, ((y + 0.5) * sh) / dh - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(sh - 1, y0 + 1), ty = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.max(0, Math.min(sw - 1, ((x + 0.5) * sw) / dw - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(sw - 1, x0 + 1), tx = fx - x0;
      for (let c = 0; c < ch; c++) {
        const v = (1 - ty) * ((1 - tx) * src[(y0 * sw + x0) * ch + c]! + tx * src[(y0 * sw + x1) * ch + c]!) +
          ty * ((1 - tx) * src[(y1 * sw + x0) * ch + c]! + tx * src[(y1 * sw + x1) * ch + c]!);
        out[(y * dw + x) * ch + c] = Math.round(v);
      }
    }
  }
  return out;
}

/** Paste a grey crop (or an RGBA one) of side `size` at (x, y). */
function paste(frame: EvalFrame, crop: Uint8Array, cw: number, ch: number, channels: 1 | 4, x: number, y: number, w: number, h: number): void {
  const scaled = resize(crop, cw, ch, channels, w, h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const o = ((y + j) * frame.width + x + i) * 4;
      const s = (j * w + i) * channels;
      frame.data[o] = scaled[s]!;
      frame.data[o + 1] = scaled[channels === 1 ? s : s + 1]!;
      frame.data[o + 2] = scaled[channels === 1 ? s : s + 2]!;
      frame.data[o + 3] = 255;
    }
  }
}

/** Whether two boxes overlap (with a margin). */
function overlaps(a: Box, b: Box, margin: number): boolean {
  return a.x < b.x + b.w + margin && b.x < a.x + a.w + margin && a.y < b.y + b.h + margin && b.y < a.y + a.h + margin;
}

/** The face-free background of every evaluation frame (skimage's coffee.png resized), RGBA. */
export async function backgroundFrame(width: number, height: number): Promise<Uint8Array> {
  const coffee = await loadRgba('coffee.png');
  return resize(coffee.data, coffee.width, coffee.height, 4, width, height);
}

/**
 * The evaluation frames: for each frame size and face size (a fraction of the frame's height), frames holding up to 4 LFW faces and
 * 2 LFW non-face crops at random places (the crops widened by half a face each side with the
 * astronaut photo's context would not be LFW any more, so they go in as they are: tight crops),
 * plus frames with the astronaut photo scaled so her face has that size, at random places.
 */
export async function buildEvalSet(opts: { frameSizes: Array<[number, number]>; faceFractions: number[]; framesPerCase: number; seed?: number }): Promise<EvalFrame[]> {
  const rand = mulberry32(opts.seed ?? 20);
  const lfw = loadLfw();
  const astro = await loadRgba('astronaut.png');
  const coffee = await loadRgba('coffee.png');
  const frames: EvalFrame[] = [];
  let face = 0, nonFace = 0;
  for (const [width, height] of opts.frameSizes) {
    const bg = resize(coffee.data, coffee.width, coffee.height, 4, width, height);
    for (const fraction of opts.faceFractions) {
      const size = Math.round(fraction * height);
      for (let k = 0; k < opts.framesPerCase; k++) {
        const f: EvalFrame = { width, height, data: bg.slice(), faces: [], nonFaces: [], label: `lfw ${width}x${height} face ${fraction}` };
        const placed: Box[] = [];
        const place = (w: number, h: number): Box | null => {
          for (let tries = 0; tries < 50; tries++) {
            const b = { x: Math.floor(rand() * (width - w)), y: Math.floor(rand() * (height - h)), w, h };
            if (!placed.some((p) => overlaps(p, b, size / 2))) { placed.push(b); return b; }
          }
          return null;
        };
        for (let i = 0; i < 4; i++) {
          const b = place(size, size);
          if (!b) break;
          paste(f, lfw.faces[face++ % lfw.faces.length]!, lfw.side, lfw.side, 1, b.x, b.y, b.w, b.h);
          f.faces.push(b);
        }
        for (let i = 0; i < 2; i++) {
          const b = place(size, size);
          if (!b) break;
          paste(f, lfw.nonFaces[nonFace++ % lfw.nonFaces.length]!, lfw.side, lfw.side, 1, b.x, b.y, b.w, b.h);
          f.nonFaces.push(b);
        }
        frames.push(f);
        // The astronaut photo scaled so her face is `size` tall, cropped to the frame.
        const scale = size / ASTRONAUT_FACE.h;
        const aw = Math.round(astro.width * scale), ah = Math.round(astro.height * scale);
        const a: EvalFrame = { width, height, data: bg.slice(), faces: [], nonFaces: [], label: `astronaut ${width}x${height} face ${fraction}` };
        const fx = Math.floor(rand() * (width - size * 1.2)), fy = Math.floor(rand() * (height - size * 1.2));
        const ox = Math.round(fx - ASTRONAUT_FACE.x * scale), oy = Math.round(fy - ASTRONAUT_FACE.y * scale);
        const scaled = resize(astro.data, astro.width, astro.height, 4, aw, ah);
        for (let y = Math.max(0, oy); y < Math.min(height, oy + ah); y++) {
          for (let x = Math.max(0, ox); x < Math.min(width, ox + aw); x++) {
            const s = ((y - oy) * aw + (x - ox)) * 4, o = (y * width + x) * 4;
            a.data[o] = scaled[s]!; a.data[o + 1] = scaled[s + 1]!; a.data[o + 2] = scaled[s + 2]!; a.data[o + 3] = 255;
          }
        }
        a.faces.push({ x: fx, y: fy, w: Math.round(ASTRONAUT_FACE.w * scale), h: Math.round(ASTRONAUT_FACE.h * scale) });
        frames.push(a);
      }
    }
  }
  return frames;
}

/** Fraction of box `b` that the union of `covers` hides (sampled on an 8 x 8 grid). */
export function coveredFraction(b: Box, covers: readonly Box[]): number {
  let hit = 0;
  for (let j = 0; j < 8; j++) {
    for (let i = 0; i < 8; i++) {
      const x = b.x + ((i + 0.5) * b.w) / 8, y = b.y + ((j + 0.5) * b.h) / 8;
      if (covers.some((c) => x >= c.x && x < c.x + c.w && y >= c.y && y < c.y + c.h)) hit++;
    }
  }
  return hit / 64;
}
