/**
 * A face detector whose worker dies is replaced by the backend registry: its worker is really
 * terminated (the test hook), the stream's frames are covered whole while detection is absent
 * (fail-closed: no frame leaves with the face in the clear), and detections come back on the new
 * detector without the stream doing anything. Restarts are bounded: at most `maxPerMinute` a minute.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendRegistry } from '../../../src/processing/backend-registry.js';
import type { FaceFrameOutcome } from '../../../src/processing/faces/face-guard.js';
import type { RgbaImage } from '../../../src/processing/types.js';
import { astronaut, datasetAvailable, detailI420, shiftedI420 } from '../../support/face-frames.js';

const W = 640, H = 360;

describe('a crashed face detector is restarted', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let photo: RgbaImage;
  before(async () => {
    photo = await astronaut();
  });

  /** A CPU-only registry with a short restart policy, and what it logged and counted. */
  async function registry(restart: { baseDelayMs: number; maxPerMinute?: number }): Promise<{ reg: BackendRegistry; logs: string[]; restarts: string[] }> {
    const logs: string[] = [];
    const restarts: string[] = [];
    const reg = await BackendRegistry.create({
      backend: 'cpu', cpuWorkers: 1, gpuAllowSoftware: false, gpuDawnOptions: [],
      detectorRestart: restart, onDetectorRestart: (p) => restarts.push(p), log: (level, m) => logs.push(`${level} ${m}`),
    });
    return { reg, logs, restarts };
  }

  /** One frame of the photo through `apply`; asserts her face left the guard covered. */
  async function frame(apply: (f: { kind: 'i420'; width: number; height: number; data: Uint8Array }) => Promise<FaceFrameOutcome>, i: number): Promise<FaceFrameOutcome> {
    const { frame: f, face } = shiftedI420(photo, W, H, 20 + (i % 10), -40);
    const out = { kind: 'i420' as const, width: W, height: H, data: f.data.slice() };
    const o = await apply(out);
    const before = detailI420(f, face);
    const after = detailI420(out, face);
    assert.ok(after < 0.35 * before, `frame ${i}: face detail ${after} of ${before} left (${JSON.stringify(o)})`);
    return o;
  }

  it('covers frames whole while the worker is gone, then detects again on the restarted detector', { timeout: 60_000 }, async () => {
    const { reg, logs, restarts } = await registry({ baseDelayMs: 300 });
    try {
      const first = await reg.faceDetectorReady('cpu');
      assert.ok(first, 'the CPU detector loads');
      const guard = reg.createFaceGuard('anonymize', () => 'cpu', { minIntervalMs: 0, waitMs: 1000, maxAgeMs: 250 });
      const apply = guard.apply.bind(guard);
      let i = 0;
      const o0 = await frame(apply, i++);
      assert.equal(o0.wholeFrame, false);
      assert.ok(o0.faces >= 1, 'her face is found before the crash');

      await first.crashWorkerForTest();
      assert.match(first.broken ?? '', /worker exited/);
      assert.equal(reg.faceDetector('cpu'), null, 'no detector until the restart');

      // Frames every 30 ms: covered by the last boxes until they are stale, then whole; never clear.
      const during: FaceFrameOutcome[] = [];
      let back: FaceFrameOutcome | null = null;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const o = await frame(apply, i++);
        if (reg.faceDetector('cpu') !== null && !o.wholeFrame && o.faces >= 1 && during.some((x) => x.wholeFrame)) {
          back = o;
          break;
        }
        during.push(o);
        await sleep(30);
      }
      assert.ok(during.filter((x) => x.wholeFrame).length >= 3, `frames covered whole while down: ${JSON.stringify(during.map((x) => x.wholeFrame))}`);
      assert.ok(back, 'detections came back');
      const second = reg.faceDetector('cpu');
      assert.ok(second && second !== first && second.broken === null, 'a new detector');
      assert.deepEqual(restarts, ['cpu']);
      assert.equal(reg.detectorRestarts.get('cpu'), 1);
      assert.ok(logs.some((l) => /^error face detector on cpu crashed/.test(l)), logs.join('\n'));
      // /process waits for a working detector, never the dead one.
      assert.equal(await reg.faceDetectorReady('cpu'), second);
    } finally {
      await reg.close();
    }
  });

  it(`restarts at most maxPerMinute times in a minute, then waits`, { timeout: 60_000 }, async () => {
    const { reg, logs, restarts } = await registry({ baseDelayMs: 50, maxPerMinute: 2 });
    try {
      for (let n = 0; n < 3; n++) {
        const d = await reg.faceDetectorReady('cpu');
        assert.ok(d, `detector ${n} loaded`);
        await d.crashWorkerForTest();
        // Wait for the restart (backoff 50, 100 ms) and the new load; the third must not come.
        for (const deadline = Date.now() + (n < 2 ? 15_000 : 2_000); Date.now() < deadline;) {
          if (reg.faceDetector('cpu') !== null && reg.faceDetector('cpu') !== d) break;
          await sleep(50);
        }
      }
      assert.equal(restarts.length, 2, JSON.stringify(restarts));
      assert.equal(reg.faceDetector('cpu'), null, 'the third crash waits for the minute to pass');
      assert.ok(logs.some((l) => /2 restarts in the last minute; the next in \d+ s/.test(l)), logs.join('\n'));
    } finally {
      await reg.close();
    }
  });
});
