/**
 * Latency histograms of the load generator: HdrHistogram (hdr-histogram-js), the field's standard
 * for latency, so per-second, per-phase and per-session figures merged from several worker
 * processes keep 3 significant digits in fixed memory without storing every sample. The one
 * file that touches hdr-histogram-js.
 *
 * Values are recorded in microseconds. Percentiles follow the project's one definition
 * (nearest rank, src/protocol/percentile.ts) and are reported as the upper edge of their bucket,
 * capped at the exact maximum: never understated, within 0.1 %.
 */
import * as hdr from 'hdr-histogram-js';
import { nearestRankIndex } from '../protocol/index.js';

/** Summary of a set of latencies, in milliseconds (null fields when there were none). */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

const US_PER_MS = 1000;
/** Initial range; the histogram grows past it by itself (a stalled run may see minutes). */
const HIGHEST_INITIAL_US = 60 * 1_000_000;

/** Histogram of millisecond values. */
export class LatencyHistogram {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_INITIAL_US, numberOfSignificantValueDigits: 3, autoResize: true,
  });
  // Kept exactly, beside the histogram: the mean and maximum need no bucketing.
  private sum = 0;
  private maxValue = 0;

  /** Add one value (negative and non-finite values are ignored). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.h.recordValue(Math.round(ms * US_PER_MS));
    this.sum += ms;
    if (ms > this.maxValue) this.maxValue = ms;
  }

  /** Add every value of an array. */
  recordAll(values: readonly number[]): void {
    for (const v of values) this.record(v);
  }

  /** Fold another histogram into this one. */
  merge(other: LatencyHistogram): void {
    if (other.count === 0) return;
    this.h.add(other.h);
    this.sum += other.sum;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** The value at quantile q (0..1), nearest rank; the exact maximum for q = 1; null when empty. */
  quantile(q: number): number | null {
    const n = this.count;
    if (n === 0) return null;
    if (q >= 1) return this.maxValue;
    // hdr-histogram-js ranks by round(p·n); asking for exactly rank/n makes it return the
    // nearest-rank value of the protocol's definition.
    const rank = nearestRankIndex(n, q * 100) + 1;
    const us = this.h.getValueAtPercentile((100 * rank) / n);
    return Math.min(us / US_PER_MS, this.maxValue);
  }

  /** count, mean, p50, p95, p99, max. */
  summary(): LatencySummary {
    const n = this.count;
    if (n === 0) return { count: 0, mean: null, p50: null, p95: null, p99: null, max: null };
    return { count: n, mean: this.sum / n, p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99), max: this.maxValue };
  }
}
