/**
 * The backends a test suite runs against: every backend that can be created on this machine.
 * The GPU backend is created on whatever adapter exists, software ones included (lavapipe in CI);
 * when none at all can be created, the reason is returned so the suite can print it and skip.
 */
import os from 'node:os';
import { CpuProcessor } from '../../src/processing/cpu/cpu-processor.js';
import { GpuProcessor } from '../../src/processing/gpu/gpu-processor.js';
import type { FrameProcessor } from '../../src/processing/types.js';

export interface TestBackends {
  processors: FrameProcessor[];
  /** Backends that could not be created, with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  close(): Promise<void>;
}

/** Dawn options for tests: RTC_GPU_DAWN_OPTIONS, comma separated (e.g. backend=opengles). */
export function testDawnOptions(): string[] {
  return (process.env.RTC_GPU_DAWN_OPTIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** What WebGPU adapter this machine has for tests: none (and why), or one, software or not. */
export type GpuProbe = { ok: false; reason: string } | { ok: true; software: boolean };

/** Create a GPU processor on any adapter (software included) and close it again, to see what exists. */
export async function probeGpuAdapter(): Promise<GpuProbe> {
  try {
    const p = await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() });
    const software = p.device.includes('software');
    await p.close();
    return { ok: true, software };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Create the cpu and gpu backends (gpu on any adapter, software included). */
export async function createTestBackends(): Promise<TestBackends> {
  const processors: FrameProcessor[] = [];
  const skipped: TestBackends['skipped'] = [];
  processors.push(await CpuProcessor.create({ workers: Math.max(1, Math.min(2, os.availableParallelism())) }));
  try {
    processors.push(await GpuProcessor.create({ allowSoftware: true, dawnOptions: testDawnOptions() }));
  } catch (err) {
    skipped.push({ name: 'gpu', reason: err instanceof Error ? err.message : String(err) });
  }
  return {
    processors,
    skipped,
    close: async () => {
      await Promise.allSettled(processors.map((p) => p.close()));
    },
  };
}
