/**
 * FramePipeline with fake frames and processors: latest frame wins, GPU failure falls back to CPU,
 * oversized frames refused, the `none` filter passes the engine's frame on untouched, and a frame
 * kept for later is the pipeline's own copy (the engine reuses its buffer); a face filter's style
 * reaches the stream's guard, and a new style changes the picture without a new guard.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FramePipeline } from '../../../src/media/frame-pipeline.js';
import { DEFAULT_GUARD_SETTINGS, FaceGuard, type FaceGuardSettings } from '../../../src/processing/faces/face-guard.js';
import type { BackendChoice } from '../../../src/protocol/index.js';
import type { FilterSpec, FrameProcessor, I420Frame, ProcessTimings } from '../../../src/processing/types.js';

/** A processor that adds `delta` to every byte, optionally failing, and resolves when told. */
class FakeProcessor implements FrameProcessor {
  readonly device = 'fake';
  calls = 0;
  fail = false;
  private release: Array<() => void> = [];
  constructor(readonly name: 'cpu' | 'gpu', private readonly delta: number, private readonly manual = false) {}
  async processI420(frame: I420Frame, _f: FilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    this.calls++;
    if (this.manual) await new Promise<void>((r) => this.release.push(r));
    if (this.fail) throw new Error(`${this.name} failed`);
    for (let i = 0; i < frame.data.length; i++) out[i] = (frame.data[i]! + this.delta) & 255;
    return { upload: 0, compute: 0, download: 0, total: 0 };
  }
  async processRgba(): Promise<ProcessTimings> { throw new Error('not used'); }
  async close(): Promise<void> {}
  releaseAll(): void { for (const r of this.release.splice(0)) r(); }
}

const noopCounter = { inc: () => {} };
const noopHistogram = { observe: () => {} };
function counting(): { inc: (l?: unknown) => void; byReason: Map<string, number> } {
  const byReason = new Map<string, number>();
  return {
    byReason,
    inc: (l?: unknown) => {
      const reason = typeof l === 'object' && l !== null && 'reason' in l ? String((l as { reason: unknown }).reason) : '';
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    },
  };
}

function pipeline(gpu: FakeProcessor, cpu: FakeProcessor, backend: BackendChoice = 'gpu', filter: FilterSpec = { name: 'invert', iterations: 1 }) {
  const out: number[] = [];
  const outFrames: I420Frame[] = [];
  const oversize: string[] = [];
  const dropped = counting();
  const p = new FramePipeline({
    processors: { getWithFallback: (c) => (c === 'cpu' ? cpu : gpu) },
    metrics: {
      framesReceived: noopCounter, framesSent: noopCounter, framesDropped: dropped, frameQueueWaitSeconds: noopHistogram,
      frameProcessingSeconds: noopHistogram, frameServerLatencySeconds: noopHistogram,
    },
    filter,
    backend,
    maxPixels: 64 * 64,
    output: (f) => {
      out.push(f.data[0]!);
      outFrames.push(f);
    },
    onOversize: (w, h) => oversize.push(`${w}x${h}`),
    log: () => {},
  });
  return { p, out, outFrames, oversize, dropped };
}

const frame = (v: number, w = 4, h = 4): I420Frame => ({ width: w, height: h, data: new Uint8Array((w * h * 3) / 2).fill(v) });
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FramePipeline', () => {
  it('processes the newest frame and drops the ones superseded while busy', async () => {
    const gpu = new FakeProcessor('gpu', 1, true);
    const { p, out, dropped } = pipeline(gpu, new FakeProcessor('cpu', 100));
    p.push(frame(10));
    for (let v = 20; v <= 50; v += 10) p.push(frame(v)); // arrive while frame 10 is on the GPU
    gpu.releaseAll();
    await settle();
    gpu.releaseAll();
    await settle();
    assert.deepEqual(out, [11, 51], 'the first frame, then only the newest');
    assert.equal(dropped.byReason.get('superseded'), 3);
    const s = p.stats();
    assert.equal(s.framesReceived, 5);
    assert.equal(s.framesSent, 2);
    assert.equal(s.framesDropped, 3);
    assert.equal(s.activeBackend, 'gpu');
  });

  it('retries a frame on CPU when the GPU fails, and reports the backend that ran', async () => {
    const gpu = new FakeProcessor('gpu', 1);
    gpu.fail = true;
    const { p, out } = pipeline(gpu, new FakeProcessor('cpu', 100));
    p.push(frame(10));
    await settle();
    assert.deepEqual(out, [110]);
    assert.equal(p.stats().activeBackend, 'cpu');
  });

  it('refuses frames over the pixel limit without processing them', async () => {
    const gpu = new FakeProcessor('gpu', 1);
    const { p, out, oversize, dropped } = pipeline(gpu, new FakeProcessor('cpu', 100));
    p.push(frame(10, 128, 64));
    await settle();
    assert.deepEqual(out, []);
    assert.deepEqual(oversize, ['128x64']);
    assert.equal(gpu.calls, 0);
    assert.equal(dropped.byReason.get('too-large'), 1);
  });

  it('passes a frame through with the none filter: no processor, the same buffer, at once', () => {
    const gpu = new FakeProcessor('gpu', 1);
    const cpu = new FakeProcessor('cpu', 100);
    const { p, outFrames } = pipeline(gpu, cpu, 'gpu', { name: 'none', iterations: 1 });
    const f = frame(10);
    p.push(f);
    assert.equal(outFrames.length, 1, 'output within push');
    assert.equal(outFrames[0]!.data, f.data, 'no copy');
    assert.equal(gpu.calls + cpu.calls, 0);
    assert.equal(p.stats().framesSent, 1);
  });

  it('keeps its own copy of a frame it cannot process at once: the engine may overwrite its buffer after push', async () => {
    const gpu = new FakeProcessor('gpu', 1, true);
    const { p, out } = pipeline(gpu, new FakeProcessor('cpu', 100));
    const reused = frame(10);
    p.push(reused);
    reused.data.fill(20); // the engine decodes its next frame into the same buffer
    p.push(reused);
    reused.data.fill(99); // and the next: while the pipeline is still busy with the first
    gpu.releaseAll();
    await settle();
    gpu.releaseAll();
    await settle();
    assert.deepEqual(out, [11, 21], 'each frame as it was when pushed');
  });

  it('stops: later frames are ignored', async () => {
    const gpu = new FakeProcessor('gpu', 1);
    const { p, out } = pipeline(gpu, new FakeProcessor('cpu', 100));
    p.stop();
    p.push(frame(1));
    await settle();
    assert.deepEqual(out, []);
  });

  it('a face filter with no detector covers every frame whole, never in the clear, and counts it', async () => {
    const gpu = new FakeProcessor('gpu', 1);
    const cpu = new FakeProcessor('cpu', 2);
    const frames: Uint8Array[] = [];
    let whole = 0;
    const p = new FramePipeline({
      processors: { getWithFallback: (c) => (c === 'cpu' ? cpu : gpu) }, // no createFaceGuard: no detector
      metrics: {
        framesReceived: noopCounter, framesSent: noopCounter, framesDropped: noopCounter, frameQueueWaitSeconds: noopHistogram,
        frameProcessingSeconds: noopHistogram, frameServerLatencySeconds: noopHistogram, facesPerFrame: noopHistogram,
        faceFramesCoveredWhole: { inc: () => { whole++; } },
      },
      filter: { name: 'anonymize', iterations: 1 },
      backend: 'cpu',
      maxPixels: 64 * 64,
      output: (f) => frames.push(f.data.slice()),
      onOversize: () => {},
      log: () => {},
    });
    // A checkerboard: any blur of it changes most bytes of the luma plane.
    const input = new Uint8Array(32 * 32 * 1.5).fill(128);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) input[y * 32 + x] = (x + y) % 2 ? 230 : 20;
    p.push({ width: 32, height: 32, data: input });
    for (let i = 0; i < 20 && frames.length === 0; i++) await settle();
    assert.equal(frames.length, 1);
    let same = 0;
    for (let i = 0; i < 32 * 32; i++) if (frames[0]![i] === input[i]) same++;
    assert.ok(same < 32 * 32 * 0.1, `${same} luma bytes unchanged`);
    assert.equal(whole, 1);
    assert.equal(p.stats().faces?.framesCoveredWhole, 1);
    assert.equal(gpu.calls + cpu.calls, 0);
  });

  it("hands the filter's style to the stream's face guard, and a new style changes the covering without a new guard", async () => {
    const cpu = new FakeProcessor('cpu', 2);
    const frames: Uint8Array[] = [];
    const created: Array<Partial<FaceGuardSettings> | undefined> = [];
    const p = new FramePipeline({
      processors: {
        getWithFallback: () => cpu,
        // No detector: every frame is covered whole, in the guard's style.
        createFaceGuard: (mode, _backendOf, settings) => {
          created.push(settings);
          return new FaceGuard(mode, () => null, { ...DEFAULT_GUARD_SETTINGS, ...settings });
        },
      },
      metrics: {
        framesReceived: noopCounter, framesSent: noopCounter, framesDropped: noopCounter, frameQueueWaitSeconds: noopHistogram,
        frameProcessingSeconds: noopHistogram, frameServerLatencySeconds: noopHistogram,
      },
      filter: { name: 'anonymize', iterations: 1, style: 'pixelate' },
      backend: 'cpu',
      maxPixels: 64 * 64,
      output: (f) => frames.push(f.data.slice()),
      onOversize: () => {},
      log: () => {},
    });
    // A ramp across: a blur keeps it a ramp, pixelation turns it into steps.
    const input = new Uint8Array(48 * 48 * 1.5).fill(128);
    for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) input[y * 48 + x] = 20 + x * 4;
    const equalNeighbours = (f: Uint8Array): number => {
      let n = 0;
      for (let y = 8; y < 40; y++) for (let x = 8; x < 39; x++) if (f[y * 48 + x] === f[y * 48 + x + 1]) n++;
      return n / (32 * 31);
    };
    const next = async (): Promise<Uint8Array> => {
      const before = frames.length;
      p.push({ width: 48, height: 48, data: input });
      for (let i = 0; i < 20 && frames.length === before; i++) await settle();
      assert.equal(frames.length, before + 1);
      return frames[before]!;
    };
    const pixelated = await next();
    assert.deepEqual(created, [{ style: 'pixelate' }]);
    assert.ok(equalNeighbours(pixelated) > 0.6, `pixelate: ${equalNeighbours(pixelated)} of neighbours equal`);
    p.filter = { name: 'anonymize', iterations: 1, style: 'blur' };
    const blurred = await next();
    assert.equal(created.length, 1, 'the same guard (its boxes and freshness kept)');
    assert.ok(equalNeighbours(blurred) < 0.3, `blur: ${equalNeighbours(blurred)} of neighbours equal`);
  });
});
