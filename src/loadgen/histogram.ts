/**
 * A latency histogram with 1 % relative precision and fixed memory, so that a long run with many
 * sessions can keep per-phase and per-session percentiles without storing every sample.
 * Buckets are logarithmic above 1 ms (factor 1.01) and 0.01 ms wide below it.
 */

const LINEAR_LIMIT_MS = 1;
const LINEAR_STEP_MS = 0.01;
const LINEAR_BUCKETS = Math.round(LINEAR_LIMIT_MS / LINEAR_STEP_MS);
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);

function bucketOf(ms: number): number {
  if (ms < LINEAR_LIMIT_MS) return Math.max(0, Math.floor(ms / LINEAR_STEP_MS));
  return LINEAR_BUCKETS + Math.floor(Math.log(ms / LINEAR_LIMIT_MS) / LOG_GROWTH);
}

/** Upper edge of a bucket: a percentile is reported as the bucket's upper edge, never understated. */
function upperEdge(bucket: number): number {
  if (bucket < LINEAR_BUCKETS) return (bucket + 1) * LINEAR_STEP_MS;
  return LINEAR_LIMIT_MS * GROWTH ** (bucket - LINEAR_BUCKETS + 1);
}

/** Summary of a set of latencies, in milliseconds (null fields when there were none). */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Histogram of millisecond values. */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private sum = 0;
  private maxValue = 0;

  /** Add one value (negative and non-finite values are ignored). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const b = bucketOf(ms);
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.total++;
    this.sum += ms;
    if (ms > this.maxValue) this.maxValue = ms;
  }

  /** Add every value of an array. */
  recordAll(values: readonly number[]): void {
    for (const v of values) this.record(v);
  }

  /** Fold another histogram into this one. */
  merge(other: LatencyHistogram): void {
    for (const [b, c] of other.counts) this.counts.set(b, (this.counts.get(b) ?? 0) + c);
    this.total += other.total;
    this.sum += other.sum;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  get count(): number {
    return this.total;
  }

  /** The value at quantile q (0..1), within 1 %; the exact maximum for q = 1; null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    if (q >= 1) return this.maxValue;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const b of [...this.counts.keys()].sort((a, c) => a - c)) {
      seen += this.counts.get(b)!;
      if (seen >= rank) return Math.min(upperEdge(b), this.maxValue);
    }
    return this.maxValue;
  }

  /** count, mean, p50, p95, p99, max. */
  summary(): LatencySummary {
    if (this.total === 0) return { count: 0, mean: null, p50: null, p95: null, p99: null, max: null };
    return {
      count: this.total,
      mean: this.sum / this.total,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: this.maxValue,
    };
  }
}
