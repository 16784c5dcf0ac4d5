/**
 * What the tests know of this machine's GPU: the Dawn options to create it with, whether an
 * adapter exists, and whether a missing one is a failure (RTC_TEST_REQUIRE_GPU=1, set in CI where
 * lavapipe is installed) rather than a skip.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { GpuProcessor } from '../../src/processing/gpu/gpu-processor.js';

/** True under RTC_TEST_REQUIRE_GPU=1: GPU tests must run, a skip is a failure. */
export function gpuRequired(): boolean {
  return process.env.RTC_TEST_REQUIRE_GPU === '1';
}

/** A GPU test without an adapter: skipped with `reason`, or failed under RTC_TEST_REQUIRE_GPU=1. */
export function skipWithoutGpu(t: TestContext, reason: string): void {
  if (gpuRequired()) assert.fail(`RTC_TEST_REQUIRE_GPU=1 but no WebGPU adapter: ${reason}`);
  t.skip(reason);
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
