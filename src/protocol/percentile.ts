/**
 * The one percentile definition of the project: nearest rank. The p-th percentile of n values is
 * the smallest value with at least p % of the values at or below it, that is the value of rank
 * ceil(p / 100 · n) (at least 1) in ascending order. It is always one of the measured values, and
 * it is what an HdrHistogram reports (to its bucket precision), so figures from the server's
 * rolling windows, the web page and the load generator's histograms mean the same thing.
 */

/** Index (0-based) of the nearest-rank p-th percentile among `n` sorted values (n > 0). */
export function nearestRankIndex(n: number, p: number): number {
  const q = Math.min(100, Math.max(0, p));
  // The tolerance keeps float error from pushing an exact rank up (99.9 % of 1000 is rank 999, not 1000).
  return Math.min(n - 1, Math.max(0, Math.ceil((q * n) / 100 - 1e-9) - 1));
}

/** The p-th percentile (0..100) of values already sorted ascending; null when there are none. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[nearestRankIndex(sorted.length, p)] ?? null;
}

/** The p-th percentile (0..100) of `values` in any order (NaN values are ignored); null when there are none. */
export function percentile(values: Iterable<number>, p: number): number | null {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  return percentileSorted(sorted, p);
}

/** Median, 95th percentile and count of `values`, nearest rank. */
export function summarize(values: Iterable<number>): { p50: number | null; p95: number | null; count: number } {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  return { p50: percentileSorted(sorted, 50), p95: percentileSorted(sorted, 95), count: sorted.length };
}
