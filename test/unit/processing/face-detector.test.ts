/**
 * The face detector: BlazeFace anchors and decoding, weighted NMS, the detector on a real photo
 * (RGBA and I420 agree), drawing and covering, and the CPU and WebGPU providers agreeing (IoU >=
 * 0.9). The WebGPU provider runs on lavapipe in CI: a skip there fails under RTC_TEST_REQUIRE_GPU=1.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { BLAZEFACE_GRIDS, blazefaceAnchors, decodeBlazeface, iou, weightedNms } from '../../../src/processing/faces/blazeface.js';
import { FaceDetector, DetectorBusyError } from '../../../src/processing/faces/face-detector.js';
import { detectionRegions, faceRegion, planDetection, pyramidLevels, type DetectionSchedule, type Region } from '../../../src/processing/faces/model-input.js';
import { drawBoxes, redactBoxes } from '../../../src/processing/faces/redact.js';
import type { RgbaImage } from '../../../src/processing/types.js';
import { buildEvalSet } from '../../../bench/faces/dataset.js';
import { ASTRONAUT_FACE, astronaut, datasetAvailable, detailRgba, rgbaToI420 } from '../../support/face-frames.js';
import { skipWithoutGpu } from '../../support/processors.js';

describe('BlazeFace decoding', () => {
  test('896 anchors: a 16x16 grid with 2 a cell, an 8x8 grid with 6, centred in their cells', () => {
    const [a, b] = blazefaceAnchors();
    assert.equal(a!.length / 2 + b!.length / 2, 896);
    assert.deepEqual(BLAZEFACE_GRIDS.map((g) => g.cells * g.cells * g.perCell), [512, 384]);
    assert.deepEqual([a![0], a![1], a![2], a![3]], [0.5 / 16, 0.5 / 16, 0.5 / 16, 0.5 / 16]);
    // The last anchor of the 8x8 grid sits in its bottom-right cell.
    assert.deepEqual([b![b!.length - 2], b![b!.length - 1]], [7.5 / 8, 7.5 / 8]);
  });

  test('a confident anchor decodes to its box, offsets in input pixels; weak ones are dropped', () => {
    const scores = [new Float32Array(512).fill(-10), new Float32Array(384).fill(-10)];
    const boxes = [new Float32Array(512 * 16), new Float32Array(384 * 16)];
    const i = (3 * 8 + 5) * 6 + 2; // 8x8 grid, cell (x 5, y 3), its third anchor
    scores[1]![i] = 4;
    boxes[1]!.set([12.8, -6.4, 32, 64], i * 16);
    const found = decodeBlazeface([scores[0]!, scores[1]!, boxes[0]!, boxes[1]!], 0.5);
    assert.equal(found.length, 1);
    const f = found[0]!;
    assert.ok(Math.abs(f.x + f.w / 2 - (5.5 / 8 + 0.1)) < 1e-6);
    assert.ok(Math.abs(f.y + f.h / 2 - (3.5 / 8 - 0.05)) < 1e-6);
    assert.ok(Math.abs(f.w - 0.25) < 1e-6 && Math.abs(f.h - 0.5) < 1e-6);
    assert.ok(Math.abs(f.score - 1 / (1 + Math.exp(-4))) < 1e-6);
    assert.throws(() => decodeBlazeface([scores[0]!, scores[1]!, boxes[0]!], 0.5), /4 outputs/);
  });

  test('weighted NMS merges overlapping boxes by score and keeps separate ones', () => {
    const out = weightedNms([
      { x: 0, y: 0, w: 1, h: 1, score: 0.9 },
      { x: 0.1, y: 0, w: 1, h: 1, score: 0.3 },
      { x: 5, y: 5, w: 1, h: 1, score: 0.6 },
    ], 0.3);
    assert.equal(out.length, 2);
    assert.ok(Math.abs(out[0]!.x - 0.025) < 1e-9);
    assert.equal(out[0]!.score, 0.9);
    assert.equal(out[1]!.x, 5);
  });

  test('the region pyramid: the whole frame, squares of the short side, then overlapping halves', () => {
    assert.equal(detectionRegions(640, 360, 0).length, 1);
    assert.deepEqual(detectionRegions(640, 360, 1).slice(1), [{ x: 0, y: 0, side: 360 }, { x: 140, y: 0, side: 360 }, { x: 280, y: 0, side: 360 }]);
    const l2 = detectionRegions(640, 360, 2).slice(4);
    assert.equal(l2.length, 15);
    assert.ok(l2.every((r) => r.side === 180));
    assert.equal(Math.max(...l2.map((r) => r.x + r.side)), 640);
    assert.equal(detectionRegions(512, 512, 1).length, 1); // square: no level-1 tiles
    // Level 3 (faces of 0.1 of the height): 50 squares of a quarter of the short side; levels 2+ are fine.
    const levels = pyramidLevels(640, 360, 3);
    assert.deepEqual(levels.map((l) => l.length), [1, 3, 15, 50]);
    assert.ok(levels[3]!.every((r) => r.side === 90 && r.fine === true));
    assert.ok([...levels[0]!, ...levels[1]!].every((r) => r.fine === undefined));
  });
});

describe('detection schedule (planDetection)', () => {
  const schedule: DetectionSchedule = { tiles: 1, sweepTiles: 3, runs: 10 };
  const key = (r: Region): string => `${r.x},${r.y},${r.side}`;
  const fine = pyramidLevels(640, 360, 3).slice(2).flat().map(key);
  /** Small faces spread over the frame (each wants a region of its own). */
  const faces = (n: number): Array<{ x: number; y: number; w: number; h: number }> =>
    Array.from({ length: n }, (_, i) => ({ x: 20 + (i % 8) * 75, y: 20 + Math.floor(i / 8) * 80, w: 36, h: 36 }));

  test('a face region is three times the face, centred, moved inside the frame, never under 64 px', () => {
    assert.deepEqual(faceRegion({ x: 300, y: 150, w: 40, h: 50 }, 640, 360), { x: 245, y: 100, side: 150 });
    assert.deepEqual(faceRegion({ x: 0, y: 340, w: 36, h: 20 }, 640, 360), { x: 0, y: 252, side: 108 });
    assert.equal(faceRegion({ x: 100, y: 100, w: 5, h: 5 }, 640, 360).side, 64);
  });

  test('every detection runs the coarse levels and stays within the run budget', () => {
    for (const n of [0, 1, 5, 32]) {
      const p = planDetection(640, 360, schedule, faces(n), 0);
      assert.deepEqual(p.regions.slice(0, 4), detectionRegions(640, 360, 1));
      assert.equal(p.regions.length, 10, `${n} faces`);
      assert.equal(p.faceRegions, Math.min(n, 3)); // at most half of the 6 runs left
    }
    // A budget under the coarse levels: they run anyway, nothing else.
    assert.equal(planDetection(640, 360, { ...schedule, runs: 2 }, faces(3), 0).regions.length, 4);
  });

  test('the sweep covers every fine region within sweepDetections detections, whatever the faces', () => {
    for (const n of [0, 2, 32]) {
      let cursor = 0, faceCursor = 0;
      const seen = new Set<string>();
      const first = planDetection(640, 360, schedule, faces(n), 0);
      assert.equal(first.sweepRegions, 65);
      assert.equal(first.sweepDetections, Math.ceil(65 / 3));
      for (let i = 0; i < first.sweepDetections; i++) {
        const p = planDetection(640, 360, schedule, faces(n), cursor, faceCursor);
        for (const r of p.regions.slice(4 + p.faceRegions)) seen.add(key(r));
        cursor = p.cursor;
        faceCursor += p.faceRegions;
      }
      assert.deepEqual([...seen].sort(), [...fine].sort(), `${n} faces`);
    }
  });

  test('face regions rotate when not all fit; large faces (found by the coarse levels) get none', () => {
    const many = faces(7);
    const got = new Set<string>();
    let faceCursor = 0;
    for (let i = 0; i < 3; i++) {
      const p = planDetection(640, 360, schedule, many, 0, faceCursor);
      for (const r of p.regions.slice(4, 4 + p.faceRegions)) got.add(key(r));
      faceCursor += p.faceRegions;
    }
    assert.equal(got.size, 7);
    const big = planDetection(640, 360, schedule, [{ x: 200, y: 50, w: 150, h: 150 }], 0);
    assert.equal(big.faceRegions, 0);
  });

  test('no sweep when the sweep depth is within the coarse levels: one full detection (POST /process)', () => {
    const p = planDetection(640, 360, { tiles: 3, sweepTiles: 3, runs: 10 }, [], 0);
    assert.deepEqual(p.regions, detectionRegions(640, 360, 3));
    assert.equal(p.sweepDetections, 0);
  });
});

describe('FaceDetector', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let photo: RgbaImage;
  before(async () => { photo = await astronaut(); });

  test('finds the astronaut\'s face, from RGBA and from I420 alike, on the CPU provider', async () => {
    const d = await FaceDetector.create('cpu');
    try {
      const rgba = await d.detect({ kind: 'rgba', image: photo });
      assert.equal(rgba.boxes.length, 1, JSON.stringify(rgba.boxes));
      assert.ok(iou(rgba.boxes[0]!, ASTRONAUT_FACE) > 0.5, JSON.stringify(rgba.boxes[0]));
      assert.equal(rgba.provider, 'cpu');
      const yuv = await d.detect({ kind: 'i420', frame: rgbaToI420(photo) });
      assert.equal(yuv.boxes.length, 1);
      assert.ok(iou(yuv.boxes[0]!, rgba.boxes[0]!) >= 0.9);
      // A blank frame has no face.
      const blank = await d.detect({ kind: 'rgba', image: { width: 320, height: 180, data: new Uint8Array(320 * 180 * 4).fill(90) } });
      assert.equal(blank.boxes.length, 0);
    } finally {
      await d.close();
    }
  });

  test('small faces: the third pyramid level finds faces of 0.1 of the frame height; given regions are what it reads', async () => {
    const d = await FaceDetector.create('cpu');
    try {
      const [lfw, astro] = await buildEvalSet({ frameSizes: [[640, 360]], faceFractions: [0.1], framesPerCase: 1 });
      for (const f of [lfw!, astro!]) {
        const found = (await d.detect({ kind: 'rgba', image: f }, 3)).boxes;
        for (const face of f.faces) assert.ok(found.some((b) => iou(b, face) > 0.3), `${f.label}: ${JSON.stringify(face)} in ${JSON.stringify(found)}`);
      }
      // Only the region given is read: a square around her face finds it, one beside it nothing.
      const face = astro!.faces[0]!;
      const around = faceRegion(face, 640, 360);
      assert.equal((await d.detect({ kind: 'rgba', image: astro! }, [around])).boxes.filter((b) => iou(b, face) > 0.3).length, 1);
      const beside = { x: around.x + around.side < 540 ? around.x + around.side : around.x - around.side, y: around.y, side: around.side };
      assert.equal((await d.detect({ kind: 'rgba', image: astro! }, [beside])).boxes.filter((b) => iou(b, face) > 0).length, 0);
      await assert.rejects(d.detect({ kind: 'rgba', image: astro! }, []), RangeError);
      await assert.rejects(d.detect({ kind: 'rgba', image: astro! }, Array.from({ length: 513 }, () => around)), RangeError);
    } finally {
      await d.close();
    }
  });

  test('bounded: detections past maxPending are refused, not queued', async () => {
    const d = await FaceDetector.create('cpu', { maxPending: 2 });
    try {
      const src = { kind: 'rgba' as const, image: photo };
      const runs = [d.detect(src), d.detect(src), d.detect(src)];
      const settled = await Promise.allSettled(runs);
      assert.equal(settled.filter((s) => s.status === 'fulfilled').length, 2);
      const refused = settled.find((s) => s.status === 'rejected');
      assert.ok(refused && refused.status === 'rejected' && refused.reason instanceof DetectorBusyError);
    } finally {
      await d.close();
    }
  });

  test('covering blurs inside the box and leaves every pixel outside it alone; drawing marks the box', () => {
    const img = { ...photo, data: photo.data.slice() };
    redactBoxes({ kind: 'rgba', ...img }, [ASTRONAUT_FACE], 'blur');
    assert.ok(detailRgba(img, ASTRONAUT_FACE) < 0.3 * detailRgba(photo, ASTRONAUT_FACE));
    const inside = (x: number, y: number): boolean => x >= 180 && x < 270 && y >= 75 && y < 175;
    for (let y = 0; y < 512; y += 3) {
      for (let x = 0; x < 512; x += 3) {
        if (inside(x, y)) continue;
        const p = (y * 512 + x) * 4;
        assert.equal(img.data[p], photo.data[p]);
      }
    }
    const pix = { ...photo, data: photo.data.slice() };
    redactBoxes({ kind: 'rgba', ...pix }, [ASTRONAUT_FACE], 'pixelate');
    assert.ok(detailRgba(pix, ASTRONAUT_FACE) < 0.5 * detailRgba(photo, ASTRONAUT_FACE));
    const drawn = { ...photo, data: photo.data.slice() };
    drawBoxes({ kind: 'rgba', ...drawn }, [{ ...ASTRONAUT_FACE, score: 0.93 }]);
    const p = (75 * 512 + 200) * 4;
    assert.deepEqual([...drawn.data.subarray(p, p + 3)], [0, 255, 0]);
  });

  test('the WebGPU and CPU providers agree: every box matched with IoU >= 0.9', async (t) => {
    let gpu: FaceDetector;
    try {
      gpu = await FaceDetector.create('webgpu');
    } catch (err) {
      skipWithoutGpu(t, `onnxruntime webgpu provider: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const cpu = await FaceDetector.create('cpu');
    try {
      const frames = [photo, ...(await buildEvalSet({ frameSizes: [[640, 360]], faceFractions: [0.3, 0.6], framesPerCase: 2 }))];
      let pairs = 0;
      for (const f of frames) {
        const a = await cpu.detect({ kind: 'rgba', image: f });
        const b = await gpu.detect({ kind: 'rgba', image: f });
        assert.equal(b.provider, 'webgpu');
        assert.equal(a.boxes.length, b.boxes.length, `${a.boxes.length} vs ${b.boxes.length} boxes`);
        for (const x of a.boxes) {
          const best = Math.max(...b.boxes.map((y) => iou(x, y)));
          assert.ok(best >= 0.9, `IoU ${best}`);
          pairs++;
        }
      }
      assert.ok(pairs >= 3, `only ${pairs} boxes compared`);
    } finally {
      await Promise.all([cpu.close(), gpu.close()]);
    }
  });
});
