/**
 * BackendRegistry with the GPU backend: a lost device moves work (and face detection) to CPU and
 * /backends reports the GPU unavailable with the reason; software adapters are used only when allowed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendRegistry, BackendUnavailableError } from '../../../src/processing/backend-registry.js';
import { GpuProcessor } from '../../../src/processing/gpu/gpu-processor.js';
import { probeGpuAdapter, skipWithoutGpu, testDawnOptions } from '../../support/processors.js';

const base = { cpuWorkers: 1, gpuDawnOptions: testDawnOptions() };

test('after the GPU device is lost, sessions get the CPU processor and /backends says why', async (t) => {
  const found = await probeGpuAdapter();
  if (!found.ok) return skipWithoutGpu(t, `no WebGPU adapter: ${found.reason}`);
  const reg = await BackendRegistry.create({ ...base, backend: 'gpu', gpuAllowSoftware: true });
  try {
    assert.equal(reg.defaultBackend, 'gpu');
    assert.equal(reg.getWithFallback('gpu').name, 'gpu');
    const gpu = reg.get('gpu');
    assert.ok(gpu instanceof GpuProcessor);
    const lostReason = new Promise<string>((resolve) => reg.onGpuLost(resolve));
    gpu.gpuDevice?.destroy(); // as a driver reset would
    assert.match(await lostReason, /destroyed/);

    assert.equal(reg.getWithFallback('gpu').name, 'cpu');
    assert.equal(reg.getWithFallback('auto').name, 'cpu');
    assert.equal(reg.defaultBackend, 'cpu');
    assert.throws(() => reg.get('gpu'), BackendUnavailableError);
    const status = reg.list().find((b) => b.name === 'gpu');
    assert.deepEqual({ available: status?.available, isDefault: status?.isDefault }, { available: false, isDefault: false });
    assert.match(status?.reason ?? '', /device lost: destroyed/);

    // The CPU processor really works for the session that fell back.
    const data = new Uint8Array(6).fill(10);
    const out = new Uint8Array(6);
    await reg.getWithFallback('gpu').processI420({ width: 2, height: 2, data }, { name: 'invert', iterations: 1 }, out);
    assert.deepEqual([...out], [245, 245, 245, 245, 245, 245]);
  } finally {
    await reg.close();
  }
});

test('face detection follows the backend: WebGPU while the GPU runs, CPU once it is lost', async (t) => {
  const found = await probeGpuAdapter();
  if (!found.ok) return skipWithoutGpu(t, `no WebGPU adapter: ${found.reason}`);
  const reg = await BackendRegistry.create({ ...base, backend: 'gpu', gpuAllowSoftware: true });
  try {
    // Not loaded before first use; then the gpu backend's detector is the WebGPU provider's.
    assert.equal(reg.faceDetector('cpu'), null);
    assert.equal((await reg.faceDetectorReady('gpu'))?.provider, 'webgpu');
    assert.equal(reg.faceDetector('gpu')?.provider, 'webgpu');
    assert.equal((await reg.faceDetectorReady('cpu'))?.provider, 'cpu');
    const gpu = reg.get('gpu');
    assert.ok(gpu instanceof GpuProcessor);
    const lost = new Promise<string>((resolve) => reg.onGpuLost(resolve));
    gpu.gpuDevice?.destroy();
    await lost;
    assert.equal(reg.faceDetector('gpu')?.provider, 'cpu');
    assert.match(reg.faceDetectorStatus().find((s) => s.provider === 'webgpu')?.reason ?? '', /device lost/);
  } finally {
    await reg.close();
  }
});

test('a software adapter is not picked by auto, and backend=gpu refuses it, unless allowed', async (t) => {
  const found = await probeGpuAdapter();
  if (!found.ok) return skipWithoutGpu(t, `no WebGPU adapter: ${found.reason}`);
  if (!found.software) return t.skip('the adapter here is hardware');
  const auto = await BackendRegistry.create({ ...base, backend: 'auto', gpuAllowSoftware: false });
  try {
    assert.equal(auto.defaultBackend, 'cpu');
    const gpu = auto.list().find((b) => b.name === 'gpu');
    assert.equal(gpu?.available, false);
    assert.match(gpu?.reason ?? '', /software adapter/);
  } finally {
    await auto.close();
  }
  await assert.rejects(BackendRegistry.create({ ...base, backend: 'gpu', gpuAllowSoftware: false }), (err: unknown) => {
    assert.ok(err instanceof BackendUnavailableError);
    assert.match(err.message, /software adapter/);
    return true;
  });
  const allowed = await BackendRegistry.create({ ...base, backend: 'auto', gpuAllowSoftware: true });
  try {
    assert.equal(allowed.defaultBackend, 'gpu');
    assert.match(allowed.get('gpu').device, /software/);
  } finally {
    await allowed.close();
  }
});
