/** The comparison's result in words: "GPU is 12.3x faster than CPU at 1080p blur x10". */
import type { BackendInfo, BackendName, FilterName } from '../protocol/index.js';

export interface BackendSummary {
  name: BackendName;
  medianMs: number;
}

/** Upper-case display name of a backend. */
export function backendLabel(name: string): string {
  return name.toUpperCase();
}

/** "blur x10" for iterated filters, the bare name for the others. */
export function workloadLabel(filter: FilterName, iterations: number): string {
  return filter === 'blur' || filter === 'sharpen' ? `${filter} x${iterations}` : filter;
}

function ratioText(a: BackendSummary, b: BackendSummary, where: string): string {
  if (!(a.medianMs > 0) || !(b.medianMs > 0)) return `${backendLabel(a.name)} and ${backendLabel(b.name)} took no measurable time at ${where}`;
  const r = b.medianMs / a.medianMs;
  if (r >= 1) return `${backendLabel(a.name)} is ${r.toFixed(1)}x faster than ${backendLabel(b.name)} at ${where}`;
  return `${backendLabel(a.name)} is ${(1 / r).toFixed(1)}x slower than ${backendLabel(b.name)} at ${where}`;
}

/**
 * Sentences comparing GPU with CPU by median total
 * time; when the GPU is missing, says so with the server's reason.
 */
export function speedupSentences(
  backends: readonly BackendInfo[],
  results: readonly BackendSummary[],
  where: string,
): string[] {
  const got = (n: BackendName) => results.find((r) => r.name === n);
  const gpu = got('gpu');
  const cpu = got('cpu');
  const out: string[] = [];
  const gpuInfo = backends.find((b) => b.name === 'gpu');
  if (gpu && cpu) out.push(ratioText(gpu, cpu, where));
  else if (!gpuInfo || !gpuInfo.available) out.push(`GPU not available here: ${gpuInfo?.reason ?? 'the server reports no GPU backend'}`);
  const only = results.length === 1 ? results[0] : undefined;
  if (out.length === 0 && only) {
    out.push(`${backendLabel(only.name)} took ${only.medianMs.toFixed(1)} ms (median) at ${where}`);
  }
  return out;
}
