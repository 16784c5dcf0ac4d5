/** Order statistics for the small samples the page collects (runs, latency samples). */

/** The q-quantile (0..1) by linear interpolation between closest ranks; NaN for no data. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Median and 95th percentile of `values`. */
export function summarize(values: readonly number[]): { median: number; p95: number; n: number } {
  return { median: quantile(values, 0.5), p95: quantile(values, 0.95), n: values.length };
}
