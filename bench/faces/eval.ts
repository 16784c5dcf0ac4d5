/**
 * `npm run eval:faces`: recall and false positives of the face detector on the evaluation set
 * (dataset.ts), per execution provider, and how far the providers agree. Prints one JSON
 * document on stdout; progress on stderr.
 *
 * A face counts as found when the boxes the anonymize filter would cover (the detections padded
 * by RTC_FACES_PAD, default 0.3) hide at least 90 % of it. A false positive is a detection whose
 * centre lies in no face. Environment: EVAL_FRAMES (frames per case, default 6), EVAL_SEED (the
 * set's seed, default 20; others give held-out sets of the same make), EVAL_PROVIDERS (default
 * cpu,webgpu), RTC_FACES_MIN_SCORE, RTC_FACES_PAD, RTC_FACES_TILES.
 *
 * EVAL_MODE=session measures a session's schedule instead (face-guard.ts): each frame becomes a
 * stream, EVAL_WARMUP (2) detections of the bare background and then EVAL_DETECTIONS (one sweep and 5) detections of
 * the frame with its faces (a face appearing mid-session), through a FaceGuard with
 * RTC_FACES_TILES (default 1), RTC_FACES_SWEEP_TILES (3) and RTC_FACES_RUNS (10). It reports
 * recall at the first detection after the faces appear, after one full sweep and at the end, the
 * share of detections with every face covered, and how many detections the slowest face waited.
 *
 * EVAL_MODE=synthetic runs the same session schedule over the load generator's face-free synthetic
 * video (640x360, stamped, two seeds, one detection every third frame) and reports the boxes a
 * frame: false positives that would cover parts of its picture and its stamps.
 */
import { performance } from 'node:perf_hooks';
import { FaceDetector, type FaceBox, type OnnxProvider } from '../../src/processing/faces/face-detector.js';
import { padBox, FaceGuard, DEFAULT_GUARD_SETTINGS, type Detector, type FaceGuardSettings } from '../../src/processing/faces/face-guard.js';
import { planDetection, type DetectorFrame, type Region } from '../../src/processing/faces/model-input.js';
import { iou } from '../../src/processing/faces/blazeface.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { writeStamp } from '../../src/loadgen/stamp.js';
import { backgroundFrame, buildEvalSet, coveredFraction, datasetAvailable, type EvalFrame } from './dataset.js';

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

/** The median of `v`, to 0.01. */
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 100) / 100;
}

/** Whether every face of `f` is covered by `covers` (boxes already padded), per face. */
function coveredFaces(f: EvalFrame, covers: readonly FaceBox[]): boolean[] {
  return f.faces.map((face) => coveredFraction(face, covers) >= COVER);
}

/** Detections whose centre lies in no face. */
function falsePositives(f: EvalFrame, boxes: readonly FaceBox[]): number {
  return boxes.filter((b) => {
    const cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    return !f.faces.some((g) => cx >= g.x && cx < g.x + g.w && cy >= g.y && cy < g.y + g.h);
  }).length;
}

/**
 * Session mode: every evaluation frame as a stream in which its faces appear after `warmup`
 * detections of the bare background, then stay still for `detections` detections. Every frame is
 * a detection (minIntervalMs 0, the frame waits for it), so the figures count detections: at the
 * default RTC_FACES_DETECT_INTERVAL_MS one is 100 ms of a session.
 */
async function evaluateSessions(provider: OnnxProvider, frames: EvalFrame[], backgrounds: Map<string, Uint8Array>, minScore: number, schedule: Pick<FaceGuardSettings, 'tiles' | 'sweepTiles' | 'runs' | 'pad'>, warmup: number, detections: number): Promise<Record<string, unknown>> {
  const d = await FaceDetector.create(provider, { minScore });
  const settings: FaceGuardSettings = { ...DEFAULT_GUARD_SETTINGS, ...schedule, minIntervalMs: 0, waitMs: 600_000, maxAgeMs: 600_000 };
  let clock = 0;
  const faces = frames.reduce((n, f) => n + f.faces.length, 0);
  const foundAt = new Array<number>(detections).fill(0);
  const fpAt = new Array<number>(detections).fill(0);
  let allCovered = 0, steps = 0, runs = 0, runsMax = 0, calls = 0, whole = 0;
  const modelMs: number[] = [], detectMs: number[] = [];
  const firstCovered: number[] = [];
  const bySize: Record<string, { faces: number; first: number; afterSweep: number; end: number }> = {};
  let sweepDetections = 0;
  const t0 = performance.now();
  for (const f of frames) {
    const plan = planDetection(f.width, f.height, settings, [], 0);
    sweepDetections = Math.max(sweepDetections, plan.sweepDetections);
    // Count the model runs of each detection the schedule asks for.
    const counting: Detector = {
      detect(src: DetectorFrame, plan?: number | readonly Region[]) {
        const n = typeof plan === 'number' || plan === undefined ? NaN : plan.length;
        runs += n; runsMax = Math.max(runsMax, n); calls++;
        return d.detect(src, plan).then((r) => { modelMs.push(r.inferenceMs); detectMs.push(r.totalMs); return r; });
      },
    };
    const guard = new FaceGuard('anonymize', () => counting, settings, () => clock);
    const bg = backgrounds.get(`${f.width}x${f.height}`)!;
    const first = new Array<number>(f.faces.length).fill(-1);
    const covered: boolean[][] = [];
    for (let i = 0; i < warmup + detections; i++) {
      clock += 100;
      const data = (i < warmup ? bg : f.data).slice();
      const o = await guard.apply({ kind: 'rgba', width: f.width, height: f.height, data });
      if (i < warmup) continue;
      const k = i - warmup;
      if (o.wholeFrame) whole++;
      const c = o.wholeFrame ? f.faces.map(() => true) : coveredFaces(f, guard.lastBoxes);
      covered.push(c);
      c.forEach((ok, j) => { if (ok && first[j] === -1) first[j] = k + 1; });
      foundAt[k]! += c.filter(Boolean).length;
      fpAt[k]! += o.wholeFrame ? 0 : falsePositives(f, guard.lastBoxes);
      steps++;
      if (c.every(Boolean)) allCovered++;
    }
    const size = /face ([\d.]+)/.exec(f.label)![1]!;
    const e = bySize[size] ?? (bySize[size] = { faces: 0, first: 0, afterSweep: 0, end: 0 });
    const s = Math.min(detections, plan.sweepDetections + 1) - 1;
    for (let j = 0; j < f.faces.length; j++) {
      e.faces++;
      if (covered[0]![j]) e.first++;
      if (covered[s]![j]) e.afterSweep++;
      if (covered[detections - 1]![j]) e.end++;
      firstCovered.push(first[j] === -1 ? Infinity : first[j]!);
    }
  }
  await d.close();
  const s = Math.min(detections, sweepDetections + 1) - 1;
  const sorted = [...firstCovered].sort((a, b) => a - b);
  return {
    provider,
    streams: frames.length,
    faces,
    sweepDetections,
    recallFirstDetection: pct(foundAt[0]!, faces),
    recallAfterSweep: { detection: s + 1, recall: pct(foundAt[s]!, faces) },
    recallEnd: pct(foundAt[detections - 1]!, faces),
    recallOverSequence: pct(foundAt.reduce((a, b) => a + b, 0), faces * detections),
    detectionsWithEveryFaceCovered: pct(allCovered, steps),
    coveredWhole: whole,
    // Infinity (never covered) prints as null.
    detectionsUntilCovered: { median: sorted[Math.floor(sorted.length / 2)], p95: sorted[Math.ceil(sorted.length * 0.95) - 1], max: sorted[sorted.length - 1], never: sorted.filter((x) => x === Infinity).length },
    falsePositivesPerFrame: { first: Math.round((100 * fpAt[0]!) / frames.length) / 100, end: Math.round((100 * fpAt[detections - 1]!) / frames.length) / 100 },
    bySize: Object.fromEntries(Object.entries(bySize).map(([k, e]) => [k, { faces: e.faces, first: pct(e.first, e.faces), afterSweep: pct(e.afterSweep, e.faces), end: pct(e.end, e.faces) }])),
    modelRunsPerDetection: { mean: Math.round((10 * runs) / calls) / 10, max: runsMax },
    // Medians: the model runs alone, and the whole detection (copy, downscale, runs, decoding; wall).
    modelMsPerDetection: median(modelMs),
    detectMsPerDetection: median(detectMs),
    wallS: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** Synthetic mode: boxes a frame on the load generator's face-free video through a session's guard. */
async function evaluateSynthetic(provider: OnnxProvider, minScore: number, schedule: Pick<FaceGuardSettings, 'tiles' | 'sweepTiles' | 'runs' | 'pad'>): Promise<Record<string, unknown>> {
  const d = await FaceDetector.create(provider, { minScore });
  const W = 640, H = 360;
  let boxes = 0, frames = 0, withBox = 0;
  for (const seed of [0, 1000]) {
    let clock = 0;
    const guard = new FaceGuard('anonymize', () => d, { ...DEFAULT_GUARD_SETTINGS, ...schedule, minIntervalMs: 0, waitMs: 600_000, maxAgeMs: 600_000 }, () => clock);
    const video = new SyntheticVideo(W, H, seed);
    for (let n = 0; n < 600; n += 3) {
      clock += 100;
      const data = video.render(n);
      writeStamp(data, W, H, { frameNumber: n * 7919, sendTimeMs: 1e6 + n * 33.3 }); // as its test does
      const o = await guard.apply({ kind: 'i420', width: W, height: H, data });
      boxes += o.faces; frames++;
      if (o.faces > 0) withBox++;
    }
  }
  await d.close();
  return { provider, detections: frames, boxesPerFrame: Math.round((1000 * boxes) / frames) / 1000, framesWithABox: pct(withBox, frames) };
}

async function main(): Promise<void> {
  if (!datasetAvailable()) throw new Error('python3-skimage is not installed (scripts/install-system-deps.sh installs it)');
  const perCase = Number(process.env.EVAL_FRAMES ?? 6) || 6;
  const seed = Number(process.env.EVAL_SEED ?? 20);
  const minScore = Number(process.env.RTC_FACES_MIN_SCORE ?? 0.5);
  const pad = Number(process.env.RTC_FACES_PAD ?? 0.3);
  const session = process.env.EVAL_MODE === 'session' || process.env.EVAL_MODE === 'synthetic';
  const tiles = Number(process.env.RTC_FACES_TILES ?? (session ? 1 : 2));
  const providers = (process.env.EVAL_PROVIDERS ?? 'cpu,webgpu').split(',').map((s) => s.trim()).filter((p): p is OnnxProvider => p === 'cpu' || p === 'webgpu');
  if (process.env.EVAL_MODE === 'synthetic') {
    const schedule = { tiles, sweepTiles: Number(process.env.RTC_FACES_SWEEP_TILES ?? 3), runs: Number(process.env.RTC_FACES_RUNS ?? 10), pad };
    const results: Record<string, unknown>[] = [];
    for (const p of providers) results.push(await evaluateSynthetic(p, minScore, schedule));
    process.stdout.write(`${JSON.stringify({ settings: { mode: 'synthetic', minScore, ...schedule }, providers: results }, null, 2)}\n`);
    return;
  }
  const frames = await buildEvalSet({ frameSizes: FRAME_SIZES, faceFractions: FACE_FRACTIONS, framesPerCase: perCase, seed });
  process.stderr.write(`eval: ${frames.length} frames, ${frames.reduce((n, f) => n + f.faces.length, 0)} faces\n`);
  if (session) {
    const schedule = { tiles, sweepTiles: Number(process.env.RTC_FACES_SWEEP_TILES ?? 3), runs: Number(process.env.RTC_FACES_RUNS ?? 10), pad };
    const warmup = Number(process.env.EVAL_WARMUP ?? 2);
    // Long enough for one full sweep at the set's frame sizes (all 16:9) and a few detections more.
    const detections = Number(process.env.EVAL_DETECTIONS ?? planDetection(640, 360, { ...schedule }, [], 0).sweepDetections + 5);
    const backgrounds = new Map<string, Uint8Array>();
    for (const [w, h] of FRAME_SIZES) backgrounds.set(`${w}x${h}`, await backgroundFrame(w, h));
    const results: Record<string, unknown>[] = [];
    for (const p of providers) {
      process.stderr.write(`eval: ${p} (session)\n`);
      results.push(await evaluateSessions(p, frames, backgrounds, minScore, schedule, warmup, detections));
    }
    process.stdout.write(`${JSON.stringify({ settings: { mode: 'session', minScore, seed, ...schedule, warmup, detections, framesPerCase: perCase }, providers: results }, null, 2)}\n`);
    return;
  }
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
    settings: { minScore, pad, tiles, seed, frameSizes: FRAME_SIZES, faceFractions: FACE_FRACTIONS, framesPerCase: perCase, coveredWhen: '>= 90% of the face box hidden' },
    providers: results.map(({ boxes: _boxes, ...rest }) => rest),
    skipped,
  };
  if (results.length === 2) out.agreement = agreement(results[0]!.boxes, results[1]!.boxes);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
