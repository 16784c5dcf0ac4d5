/**
 * BlazeFace (MediaPipe's short-range "front" face detector, 128 x 128 input) output decoding:
 * the SSD anchor grid, box decoding and weighted non-maximum suppression. Pure functions, so the
 * CPU and GPU providers' raw outputs go through exactly the same arithmetic.
 *
 * The model (see models/blazeface/) maps an NHWC [1,128,128,3] RGB image in [-1, 1] to, per
 * anchor, one score logit and 16 box numbers (centre x, centre y, width, height, then six
 * key points), all in input pixels relative to the anchor centre. Its 896 anchors come from
 * MediaPipe's SSD anchor options for this model: four layers with strides 8, 16, 16, 16, one
 * aspect ratio plus one interpolated scale per layer, fixed anchor size; layers of equal stride
 * share a grid, so a 16 x 16 grid with 2 anchors a cell (512) and an 8 x 8 grid with 6 (384).
 * The model's four outputs are the scores and boxes of those two grids.
 */

/** The model's input side, in pixels. */
export const BLAZEFACE_INPUT = 128;

/** A detection in normalised coordinates of the model input (0..1), top-left origin. */
export interface NormBox {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

/** The two anchor grids of the front model: cells a side and anchors a cell. */
export const BLAZEFACE_GRIDS: ReadonlyArray<{ cells: number; perCell: number }> = [
  { cells: 16, perCell: 2 },
  { cells: 8, perCell: 6 },
];

/** Anchor centres (x, y pairs, normalised), grid by grid, row-major, anchors of a cell adjacent. */
export function blazefaceAnchors(): Float32Array[] {
  return BLAZEFACE_GRIDS.map(({ cells, perCell }) => {
    const a = new Float32Array(cells * cells * perCell * 2);
    let i = 0;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) {
          a[i++] = (x + 0.5) / cells;
          a[i++] = (y + 0.5) / cells;
        }
      }
    }
    return a;
  });
}

const ANCHORS = blazefaceAnchors();
/** Numbers per anchor in a box output. */
const BOX_STRIDE = 16;

/** Logistic function with MediaPipe's clipping of the logit to ±100. */
function sigmoid(logit: number): number {
  const v = logit < -100 ? -100 : logit > 100 ? 100 : logit;
  return 1 / (1 + Math.exp(-v));
}

/**
 * Decode the model outputs (in its output order: scores 16x16, scores 8x8, boxes 16x16, boxes 8x8)
 * into boxes scoring at least `minScore`, before suppression. Throws on outputs of a wrong size.
 */
export function decodeBlazeface(outputs: readonly Float32Array[], minScore: number): NormBox[] {
  if (outputs.length !== 4) throw new Error(`BlazeFace has 4 outputs, got ${outputs.length}`);
  const found: NormBox[] = [];
  for (let g = 0; g < BLAZEFACE_GRIDS.length; g++) {
    const scores = outputs[g]!;
    const boxes = outputs[g + 2]!;
    const anchors = ANCHORS[g]!;
    const n = anchors.length / 2;
    if (scores.length !== n || boxes.length !== n * BOX_STRIDE) {
      throw new Error(`BlazeFace output sizes ${scores.length}/${boxes.length}, expected ${n}/${n * BOX_STRIDE}`);
    }
    for (let i = 0; i < n; i++) {
      const score = sigmoid(scores[i]!);
      if (score < minScore) continue;
      const b = i * BOX_STRIDE;
      const cx = anchors[2 * i]! + boxes[b]! / BLAZEFACE_INPUT;
      const cy = anchors[2 * i + 1]! + boxes[b + 1]! / BLAZEFACE_INPUT;
      const w = boxes[b + 2]! / BLAZEFACE_INPUT;
      const h = boxes[b + 3]! / BLAZEFACE_INPUT;
      if (!(w > 0 && h > 0 && Number.isFinite(cx) && Number.isFinite(cy))) continue;
      found.push({ x: cx - w / 2, y: cy - h / 2, w, h, score });
    }
  }
  return found;
}

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Weighted non-maximum suppression (MediaPipe's "WEIGHTED" algorithm): boxes overlapping the best
 * remaining one by more than `threshold` IoU are merged into it, averaged by score; the merged
 * box keeps the best score. At most `maxOut` boxes come out (bounded work on a noisy frame).
 */
export function weightedNms(boxes: readonly NormBox[], threshold: number, maxOut = 64): NormBox[] {
  const rest = [...boxes].sort((a, b) => b.score - a.score);
  const out: NormBox[] = [];
  while (rest.length > 0 && out.length < maxOut) {
    const best = rest[0]!;
    let sx = 0, sy = 0, sw = 0, sh = 0, total = 0;
    const keep: NormBox[] = [];
    for (const b of rest) {
      if (iou(best, b) > threshold) {
        sx += b.x * b.score; sy += b.y * b.score; sw += b.w * b.score; sh += b.h * b.score; total += b.score;
      } else {
        keep.push(b);
      }
    }
    out.push({ x: sx / total, y: sy / total, w: sw / total, h: sh / total, score: best.score });
    rest.length = 0;
    rest.push(...keep);
  }
  return out;
}
