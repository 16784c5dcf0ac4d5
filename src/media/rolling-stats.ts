import { percentileSorted } from '../protocol/index.js';

/**
 * Bounded rolling statistics for a session: event rate over a time window and percentiles of
 * the last N samples. Both keep fixed-size ring buffers, so a long session costs no more memory.
 */

/** Events per second over the last `windowMs`, from a ring of event times. */
export class RateMeter {
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(private readonly windowMs = 2000, capacity = 512) {
    this.times = new Float64Array(capacity);
  }

  /** Record one event at time `now` (ms). */
  mark(now: number): void {
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
  }

  /** Events per second in the window ending at `now`. */
  rate(now: number): number {
    let n = 0;
    let oldest = now;
    for (let i = 0; i < this.count; i++) {
      const t = this.times[i]!;
      if (now - t <= this.windowMs) {
        n++;
        if (t < oldest) oldest = t;
      }
    }
    if (n < 2) return 0;
    // Rate over the span actually covered, so a session younger than the window is not under-reported.
    const span = Math.max(now - oldest, 1);
    return Math.round(((n - 1) * 1000 * 100) / span) / 100;
  }
}

/** Percentiles of the last `capacity` samples. */
export class SampleWindow {
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity = 300) {
    this.values = new Float64Array(capacity);
  }

  /** Add a sample. */
  add(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    if (this.count < this.values.length) this.count++;
  }

  /** Number of samples held. */
  get size(): number {
    return this.count;
  }

  /** The p-th percentile (0..100), the protocol's nearest rank, rounded to `digits` decimals when given; null without samples. */
  percentile(p: number, digits?: number): number | null {
    const v = percentileSorted(this.values.slice(0, this.count).sort(), p);
    if (v === null || digits === undefined) return v;
    const f = 10 ** digits;
    return Math.round(v * f) / f;
  }
}
