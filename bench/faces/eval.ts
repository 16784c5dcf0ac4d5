/**
 * `npm run eval:faces`: recall and false positives of the face detector on the evaluation set
 * (dataset.ts), per execution provider, and how far the providers agree. Prints one JSON
 * document on stdout; progress on stderr.
 *
 * A face counts as found when the boxes the anonymize filter would cover (the detections padded
 * by RTC_FACES_PAD, default 0.3) hide at least 90 % of it. A false positive is a detection whose
 * centre lies in no face. Environment: EVAL_FRAMES (frames per case, default 6), EVAL_PROVIDERS
 * (default cpu,webgpu), RTC_FACES_MIN_SCORE, RTC_FACES_PAD, RTC_FACES_TILES.
 */
import { performance } from 'node:perf_hooks';
import { FaceDetector, type FaceBox, type OnnxProvider } from '../../src/processing/faces/face-detector.js';
import { padBox } from '../../src/processing/faces/face-guard.js';
import { iou } from '../../src/processing/faces/blazeface.js';
import { buildEvalSet, coveredFraction, datasetAvailable, type EvalFrame } from './dataset.js';

const FRAME_SIZES: Array<[number, number]> = [[640, 360], [1280, 720], [1920, 1080]];
/** Face heights as fractions of the frame height: 0.1 is 36 px at 360p. */
const FACE_FRACTIONS = [0.1, 0.15, 0.2, 0.3, 0.45, 0.6];
const COVER = Number(process.env.EVAL_COVER ?? 0.9);

/** What one provider found on the set. */
interface ProviderResult {
  provider: OnnxProvider;
  faces: number;
  found: number;
  recall: number;
  falsePositives: number;
  falsePositivesOnNonFaceCrops: number;
  frames: number;
  byFaceSize: Record<string, { faces: number; found: number; recall: number }>;
  bySource: Record<string, { faces: number; found: number; recall: number }>;
  detectMs: { median: number; p95: number };
  boxes: FaceBox[][];
}

function pct(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((1000 * a) / b) / 1000;
}

async function evaluate(provider: OnnxProvider, frames: EvalFrame[], minScore: number, pad: number, tiles: number): Promise<ProviderResult> {
  const d = await FaceDetector.create(provider, { minScore, tiles });
  const r: ProviderResult = {
    provider, faces: 0, found: 0, recall: 0, falsePositives: 0, falsePositivesOnNonFaceCrops: 0, frames: frames.length,
    byFaceSize: {}, bySource: {}, detectMs: { median: 0, p95: 0 }, boxes: [],
  };
  const times: number[] = [];
  for (const f of frames) {
    const t0 = performance.now();
    const { boxes } = await d.detect({ kind: 'rgba', image: f });
    times.push(performance.now() - t0);
    r.boxes.push(boxes);
    const covers = boxes.map((b) => padBox(b, pad));
    const size = /face ([\d.]+)/.exec(f.label)![1]!;
    const source = f.label.split(' ')[0]!;
    for (const face of f.faces) {
      const ok = coveredFraction(face, covers) >= COVER;
      r.faces++; if (ok) r.found++;
      for (const [key, map] of [[size, r.byFaceSize], [source, r.bySource]] as const) {
        const e = map[key] ?? (map[key] = { faces: 0, found: 0, recall: 0 });
        e.faces++; if (ok) e.found++;
      }
    }
    for (const b of boxes) {
      const cx = b.x + b.w / 2, cy = b.y + b.h / 2;
      const inside = (g: { x: number; y: number; w: number; h: number }): boolean => cx >= g.x && cx < g.x + g.w && cy >= g.y && cy < g.y + g.h;
      if (!f.faces.some(inside)) {
        r.falsePositives++;
        if (f.nonFaces.some(inside)) r.falsePositivesOnNonFaceCrops++;
      }
    }
  }
  await d.close();
  r.recall = pct(r.found, r.faces);
  for (const m of [r.byFaceSize, r.bySource]) for (const e of Object.values(m)) e.recall = pct(e.found, e.faces);
  const s = [...times].sort((a, b) => a - b);
  r.detectMs = { median: Math.round(s[Math.floor(s.length / 2)]! * 100) / 100, p95: Math.round(s[Math.ceil(s.length * 0.95) - 1]! * 100) / 100 };
  return r;
}

/** Smallest IoU between matched boxes of two providers, and boxes one has that the other lacks. */
function agreement(a: FaceBox[][], b: FaceBox[][]): { minIou: number; unmatched: number; pairs: number } {
  let minIou = 1, unmatched = 0, pairs = 0;
  for (let i = 0; i < a.length; i++) {
    const bb = b[i]!;
    for (const x of a[i]!) {
      const best = Math.max(0, ...bb.map((y) => iou(x, y)));
      if (best < 0.5) { unmatched++; continue; }
      pairs++;
      minIou = Math.min(minIou, best);
    }
    unmatched += Math.max(0, bb.length - a[i]!.length);
  }
  return { minIou: Math.round(minIou * 10000) / 10000, unmatched, pairs };
}

async function main(): Promise<void> {
  if (!datasetAvailable()) throw new Error('python3-skimage is not installed (scripts/install-system-deps.sh installs it)');
  const perCase = Number(process.env.EVAL_FRAMES ?? 6) || 6;
  const minScore = Number(process.env.RTC_FACES_MIN_SCORE ?? 0.5);
  const pad = Number(process.env.RTC_FACES_PAD ?? 0.3);
  const tiles = Number(process.env.RTC_FACES_TILES ?? 2);
  const providers = (process.env.EVAL_PROVIDERS ?? 'cpu,webgpu').split(',').map((s) => s.trim()).filter((p): p is OnnxProvider => p === 'cpu' || p === 'webgpu');
  const frames = await buildEvalSet({ frameSizes: FRAME_SIZES, faceFractions: FACE_FRACTIONS, framesPerCase: perCase });
  process.stderr.write(`eval: ${frames.length} frames, ${frames.reduce((n, f) => n + f.faces.length, 0)} faces\n`);
  const results: ProviderResult[] = [];
  const skipped: Record<string, string> = {};
  for (const p of providers) {
    try {
      process.stderr.write(`eval: ${p}\n`);
      results.push(await evaluate(p, frames, minScore, pad, tiles));
    } catch (err) {
      skipped[p] = err instanceof Error ? err.message : String(err);
    }
  }
  const out: Record<string, unknown> = {
    settings: { minScore, pad, tiles, frameSizes: FRAME_SIZES, faceFractions: FACE_FRACTIONS, framesPerCase: perCase, coveredWhen: '>= 90% of the face box hidden' },
    providers: results.map(({ boxes: _boxes, ...rest }) => rest),
    skipped,
  };
  if (results.length === 2) out.agreement = agreement(results[0]!.boxes, results[1]!.boxes);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
