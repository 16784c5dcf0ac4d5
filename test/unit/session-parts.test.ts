/**
 * The engine-free parts of a session, on fake clocks, fake frames and fake processors:
 * the watchdog (connect, idle, stall, disconnect, a blocked event loop), the frame pipeline
 * (latest frame wins, GPU failure falls back to CPU, oversized frames refused) and the
 * measured-load capacity estimate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapacityEstimator } from '../../src/media/capacity-estimator.js';
import { ConnectionWatchdog, type WatchdogVerdict } from '../../src/media/connection-watchdog.js';
import { FramePipeline } from '../../src/media/frame-pipeline.js';
import type { BackendChoice } from '../../src/protocol/index.js';
import type { FilterSpec, FrameProcessor, I420Frame, ProcessTimings } from '../../src/processing/types.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

function watchdog(c: ReturnType<typeof clock>): { w: ConnectionWatchdog; verdicts: WatchdogVerdict[]; run: (ms: number) => void } {
  const verdicts: WatchdogVerdict[] = [];
  const w = new ConnectionWatchdog({
    connectTimeoutMs: 3000, idleTimeoutMs: 5000, stallTimeoutMs: 2000, disconnectGraceMs: 1500,
    onVerdict: (v) => verdicts.push(v), now: c.now,
  });
  // Ticks on time, as the interval timer would on a free event loop.
  const run = (ms: number): void => {
    for (let left = ms; left > 0; left -= w.intervalMs) {
      c.advance(Math.min(w.intervalMs, left));
      w.tick();
    }
  };
  return { w, verdicts, run };
}

describe('ConnectionWatchdog', () => {
  it('releases an answered offer that never connects', () => {
    const c = clock();
    const { verdicts, run } = watchdog(c);
    run(2900);
    assert.deepEqual(verdicts, []);
    run(300);
    assert.deepEqual(verdicts, ['connect-timeout']);
  });

  it('closes a connected client that never sends a frame, and one that stops', () => {
    const c = clock();
    const a = watchdog(c);
    a.w.connectionState('connected');
    a.run(4900);
    assert.deepEqual(a.verdicts, []);
    a.run(200);
    assert.deepEqual(a.verdicts, ['idle']);

    const b = watchdog(c);
    b.w.connectionState('connected');
    for (let i = 0; i < 20; i++) { b.w.frame(); b.run(100); }
    assert.deepEqual(b.verdicts, []);
    b.run(2100);
    assert.deepEqual(b.verdicts, ['stalled']);
  });

  it('does not blame the client for a stall of the server\'s own event loop', () => {
    const c = clock();
    const { w, verdicts, run } = watchdog(c);
    w.connectionState('connected');
    w.frame();
    run(500);
    c.advance(9000); // the loop was blocked for 9 s: no tick ran
    w.tick();
    assert.deepEqual(verdicts, [], 'a late tick after a blocked loop closes nothing');
    w.frame(); // the frames queued behind the block arrive
    run(1000);
    assert.deepEqual(verdicts, []);
    run(2100);
    assert.deepEqual(verdicts, ['stalled'], 'a real stall is still caught afterwards');
  });

  it('ends a connection that stays disconnected past the grace, and keeps one that recovers', () => {
    const c = clock();
    const a = watchdog(c);
    a.w.connectionState('connected');
    a.w.connectionState('disconnected');
    for (let i = 0; i < 10; i++) { a.w.frame(); a.run(100); }
    a.w.connectionState('connected');
    for (let i = 0; i < 20; i++) { a.w.frame(); a.run(100); }
    assert.deepEqual(a.verdicts, []);
    a.w.connectionState('disconnected');
    for (let i = 0; i < 20; i++) { a.w.frame(); a.run(100); }
    assert.deepEqual(a.verdicts, ['connection-failed']);
  });

  it('reports failed and closed connections at once, once', () => {
    const c = clock();
    const { w, verdicts } = watchdog(c);
    w.connectionState('failed');
    w.connectionState('closed');
    w.tick();
    assert.deepEqual(verdicts, ['connection-failed']);
  });
});

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

function pipeline(gpu: FakeProcessor, cpu: FakeProcessor, backend: BackendChoice = 'gpu') {
  const out: number[] = [];
  const oversize: string[] = [];
  const dropped = counting();
  const p = new FramePipeline({
    processors: { getWithFallback: (c) => (c === 'cpu' ? cpu : gpu) },
    metrics: {
      framesReceived: noopCounter, framesSent: noopCounter, framesDropped: dropped, frameQueueWaitSeconds: noopHistogram,
      frameProcessingSeconds: noopHistogram, frameServerLatencySeconds: noopHistogram,
    },
    filter: { name: 'none', iterations: 1 },
    backend,
    maxPixels: 64 * 64,
    output: (f) => out.push(f.data[0]!),
    onOversize: (w, h) => oversize.push(`${w}x${h}`),
    log: () => {},
  });
  return { p, out, oversize, dropped };
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

  it('stops: later frames are ignored', async () => {
    const gpu = new FakeProcessor('gpu', 1);
    const { p, out } = pipeline(gpu, new FakeProcessor('cpu', 100));
    p.stop();
    p.push(frame(1));
    await settle();
    assert.deepEqual(out, []);
  });
});

describe('CapacityEstimator', () => {
  function estimator(coresPerSession: number, opts: { cores?: number; host?: () => { busy: number; total: number } } = {}) {
    const c = clock();
    let cpuMs = 0;
    let sessions = 0;
    const e = new CapacityEstimator({
      cores: opts.cores ?? 2, target: 0.8, sessionCoresPrior: 0.25, hostCpu: opts.host !== undefined,
      readProcessCpuMs: () => cpuMs, now: c.now, ...(opts.host ? { readHostBusy: opts.host } : {}),
    });
    const run = (seconds: number, n: number): void => {
      sessions = n;
      for (let i = 0; i < seconds; i++) {
        c.advance(1000);
        cpuMs += 1000 * (0.02 + sessions * coresPerSession);
        e.sample(sessions);
      }
    };
    return { e, run };
  }

  it('admits by the prior before anything is measured', () => {
    const { e } = estimator(0.3);
    // 2 cores x 0.8 = 1.6 cores; 0.25 a session: six fit, the seventh does not.
    assert.equal(e.admits(5), true);
    assert.equal(e.admits(6), false);
  });

  it('learns the per-session cost and refuses the session that would pass the target', () => {
    const { e, run } = estimator(0.45);
    run(20, 3);
    const s = e.snapshot();
    assert.ok(Math.abs(s.processCores - 1.37) < 0.05, `process cores ${s.processCores}`);
    assert.ok(Math.abs(s.sessionCores - 0.457) < 0.02, `per session ${s.sessionCores}`);
    assert.ok(s.utilization > 0.8 && s.utilization < 0.9, `utilisation ${s.utilization}`);
    assert.equal(e.admits(0), false, '3 sessions of 0.45 cores + one more = 1.8 cores > 1.6');
    assert.equal(e.admits(0, 0.15), true, 'a native WHEP viewer weighs 0.15 of a session: 1.37 + 0.07 cores fit');
    assert.equal(e.admits(0, 1), false);
    const cheap = estimator(0.1);
    cheap.run(20, 3);
    assert.equal(cheap.e.admits(0), true);
    assert.ok(cheap.e.utilization() < 0.3);
  });

  it('counts other processes on a shared host when asked to', () => {
    let busy = 0;
    let total = 0;
    const host = (): { busy: number; total: number } => {
      busy += 90; // 90 % of the host busy, whatever this process does
      total += 100;
      return { busy, total };
    };
    const { e, run } = estimator(0.05, { host });
    run(15, 1);
    assert.ok(e.utilization() > 1, `utilisation ${e.utilization()} counts the busy host`);
    assert.equal(e.admits(0), false);
  });
});
