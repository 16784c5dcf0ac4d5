/**
 * The server on the GPU backend (software Vulkan in CI, RTC_GPU_ALLOW_SOFTWARE=1): /backends and
 * /healthz name the GPU, GET /process on gpu gives the checksum of the CPU backend and of the
 * reference, and a WebRTC session on gpu returns processed frames.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stampBandHeight } from '../../src/loadgen/stamp.js';
import { referenceRgba } from '../../src/processing/reference/reference-processor.js';
import { sha256Hex, syntheticRgba } from '../../src/processing/synthetic.js';
import { KERNEL_FILTER_NAMES } from '../../src/processing/types.js';
import { probeGpuAdapter, type GpuProbe } from '../support/processors.js';
import { RtcClient, meanLuma } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const W = 320;
const H = 240;

/** True when the adapter here is a software one (the case the last suite is about). */
function isSoftware(p: GpuProbe): boolean {
  return p.ok && p.software;
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: HTTP ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

describe('server on the gpu backend', () => {
  let srv: TestServer | null = null;
  let skip: string | null = null;

  before(async () => {
    const probe = await probeGpuAdapter();
    skip = probe.ok ? null : probe.reason;
    if (skip) {
      console.log(`# gpu session tests skipped: ${skip}`);
      return;
    }
    const env: Record<string, string> = { RTC_BACKEND: 'gpu', RTC_GPU_ALLOW_SOFTWARE: '1', RTC_MAX_SESSIONS: '2' };
    if (process.env.RTC_GPU_DAWN_OPTIONS) env.RTC_GPU_DAWN_OPTIONS = process.env.RTC_GPU_DAWN_OPTIONS;
    // Every pipeline is compiled at start; on software Vulkan on a busy machine that takes a while.
    srv = await startTestServer({ env, startTimeoutMs: 120_000 });
  });

  after(async () => {
    await srv?.stop();
  });

  it('reports the GPU as the default backend with its device', async (t) => {
    if (!srv) return t.skip(skip ?? 'no server');
    const backends = await getJson(`${srv.url}/backends`);
    assert.equal(backends.default, 'gpu');
    const list = backends.backends as Array<{ name: string; available: boolean; device: string | null; isDefault: boolean }>;
    const gpu = list.find((b) => b.name === 'gpu');
    assert.equal(gpu?.available, true);
    assert.equal(gpu?.isDefault, true);
    assert.match(gpu?.device ?? '', /\((Vulkan|OpenGL ES)/);
    const health = await getJson(`${srv.url}/healthz`);
    assert.equal(health.backend, 'gpu');
    assert.equal(health.device, gpu?.device);
  });

  it('GET /process on gpu gives the checksum of cpu and of the reference, for every filter', async (t) => {
    if (!srv) return t.skip(skip ?? 'no server');
    const [w, h, iterations] = [67, 41, 10];
    const input = syntheticRgba(w, h);
    for (const filter of KERNEL_FILTER_NAMES) {
      const q = `width=${w}&height=${h}&iterations=${iterations}&filter=${filter}`;
      const gpu = await getJson(`${srv.url}/process?${q}&backend=gpu`);
      const cpu = await getJson(`${srv.url}/process?${q}&backend=cpu`);
      const want = new Uint8Array(input.length);
      referenceRgba({ width: w, height: h, data: input }, { name: filter, iterations }, want);
      assert.equal(gpu.backend, 'gpu');
      assert.equal(cpu.backend, 'cpu');
      assert.equal(gpu.checksum, cpu.checksum, `${filter}: gpu and cpu checksums differ`);
      assert.equal(gpu.checksum, sha256Hex(want), `${filter}: gpu checksum is not the reference's`);
      const timings = gpu.timings as Record<string, number>;
      for (const k of ['upload', 'compute', 'download', 'total']) assert.ok(timings[k]! >= 0, `timings.${k}`);
    }
  });

  it('a WebRTC session on backend gpu returns inverted frames and runs on gpu', async (t) => {
    if (!srv) return t.skip(skip ?? 'no server');
    const c = await RtcClient.connect(srv.url, { width: W, height: H, offer: { filter: 'invert', backend: 'gpu' } });
    try {
      await c.waitFor(() => c.received.filter((f) => f.frameNumber !== null).length >= 5, 30000, 'stamped frames');
      const from = stampBandHeight(W) + 4;
      let sum = 0;
      let matched = 0;
      for (const f of c.received) {
        const sent = f.frameNumber === null || f.width !== W ? undefined : c.sentFrame(f.frameNumber);
        if (!sent) continue;
        sum += meanLuma(f.data, W, H, from) + meanLuma(sent, W, H, from);
        matched++;
      }
      assert.ok(matched >= 3, `matched ${matched} frames`);
      // invert: received = 255 - sent, so the mean of their sum is about 255 (codec noise aside).
      assert.ok(Math.abs(sum / matched - 255) < 12, `sent + received luma ${(sum / matched).toFixed(1)} should be about 255`);
      const session = await getJson(`${srv.url}/sessions/${c.sessionId}`);
      assert.equal(session.backend, 'gpu');
      assert.equal(session.activeBackend, 'gpu');
      assert.ok((session.framesSent as number) > 0);
    } finally {
      c.close();
    }
  });

  it('exports the GPU busy ratio', async (t) => {
    if (!srv) return t.skip(skip ?? 'no server');
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const m = /^rtc_gpu_busy_ratio(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(text);
    assert.ok(m, 'rtc_gpu_busy_ratio is exported');
    const v = Number(m[1]);
    assert.ok(v >= 0 && v <= 1, `busy ratio ${v}`);
  });
});

describe('server where only a software adapter exists and it is not allowed', () => {
  it('auto falls back to cpu, and backend=gpu requests get 503 BACKEND_UNAVAILABLE with the reason', async (t) => {
    if (!isSoftware(await probeGpuAdapter())) return t.skip('no software-only adapter here');
    const env: Record<string, string> = { RTC_BACKEND: 'auto', RTC_GPU_ALLOW_SOFTWARE: '0' };
    if (process.env.RTC_GPU_DAWN_OPTIONS) env.RTC_GPU_DAWN_OPTIONS = process.env.RTC_GPU_DAWN_OPTIONS;
    const srv = await startTestServer({ env });
    try {
      const backends = await getJson(`${srv.url}/backends`);
      assert.equal(backends.default, 'cpu');
      const gpu = (backends.backends as Array<{ name: string; available: boolean; reason: string | null }>).find((b) => b.name === 'gpu');
      assert.equal(gpu?.available, false);
      assert.match(gpu?.reason ?? '', /software adapter/);
      const res = await fetch(`${srv.url}/process?backend=gpu&width=8&height=8&iterations=1`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'BACKEND_UNAVAILABLE');
      assert.match(body.error.message, /software adapter/);
    } finally {
      await srv.stop();
    }
  });

  it('RTC_BACKEND=gpu refuses to start with a clear message instead of crashing', async (t) => {
    if (!isSoftware(await probeGpuAdapter())) return t.skip('no software-only adapter here');
    const env: Record<string, string> = { RTC_BACKEND: 'gpu', RTC_GPU_ALLOW_SOFTWARE: '0' };
    if (process.env.RTC_GPU_DAWN_OPTIONS) env.RTC_GPU_DAWN_OPTIONS = process.env.RTC_GPU_DAWN_OPTIONS;
    await assert.rejects(startTestServer({ env }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /exited with 1 before listening/);
      assert.match(err.message, /software adapter/);
      return true;
    });
  });
});
