/**
 * A GPU device lost in the middle of a WebRTC session: the session goes on, on CPU, with the
 * same filter, and the server reports the GPU gone. The server runs in this process so the test
 * can destroy its device (on whatever adapter exists here: lavapipe in CI).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { GpuProcessor } from '../../src/processing/gpu/gpu-processor.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { probeGpuAdapter, testDawnOptions } from '../support/processors.js';
import { RtcClient } from '../support/rtc-client.js';

describe('GPU device lost during a session', () => {
  it('continues the session on CPU', async (t) => {
    const probe = await probeGpuAdapter();
    if (!probe.ok) return t.skip(`no WebGPU adapter at all: ${probe.reason}`);
    const config = loadConfig({
      PORT: '0', RTC_BACKEND: 'gpu', RTC_GPU_ALLOW_SOFTWARE: '1', RTC_CPU_WORKERS: '1', RTC_LOG_LEVEL: 'silent',
      RTC_GPU_DAWN_OPTIONS: testDawnOptions().join(','),
    });
    const server = await startServer(config, pino({ level: 'silent' }));
    const url = `http://127.0.0.1:${server.port}`;
    const c = await RtcClient.connect(url, { width: 160, height: 120, fps: 10, offer: { filter: 'invert', backend: 'gpu' } });
    try {
      await c.waitForFrames(3, 60000);
      const before = (await (await fetch(`${url}/sessions/${c.sessionId}`)).json()) as Record<string, unknown>;
      assert.equal(before.activeBackend, 'gpu');

      const gpu = server.ctx.registry.get('gpu');
      assert.ok(gpu instanceof GpuProcessor, 'the server runs a GPU backend');
      gpu.gpuDevice?.destroy(); // as a driver reset would

      // Frames keep coming back, now processed on CPU, still inverted.
      await c.waitFor(() => !server.ctx.registry.has('gpu'), 20000, 'the registry to drop the GPU');
      const sentBefore = c.framesReceived;
      await c.waitFor(() => c.framesReceived >= sentBefore + 5, 30000, 'frames after the loss');
      const after = (await (await fetch(`${url}/sessions/${c.sessionId}`)).json()) as Record<string, unknown>;
      assert.equal(after.state, 'live');
      assert.equal(after.filter, 'invert');
      assert.equal(after.backend, 'gpu', 'the request is remembered');
      assert.equal(after.activeBackend, 'cpu', 'but the work runs on CPU');

      const backends = (await (await fetch(`${url}/backends`)).json()) as { default: string; backends: Array<{ name: string; available: boolean; reason: string | null }> };
      const g = backends.backends.find((b) => b.name === 'gpu');
      assert.equal(g?.available, false);
      assert.match(g?.reason ?? '', /lost/);
      assert.equal(backends.default, 'cpu');
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /rtc_gpu_fallback 1/);
      assert.match(metrics, /rtc_backend_info\{backend="cpu"/);
    } finally {
      c.close();
      await server.shutdown({ drain: false });
    }
  });
});
