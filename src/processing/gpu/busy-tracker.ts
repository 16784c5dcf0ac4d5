/**
 * Measures the fraction of wall time during which at least one GPU submission is in flight
 * (submitted and not yet read back): the GPU busy ratio exported as rtc_gpu_busy_ratio.
 */
import { performance } from 'node:perf_hooks';

/** Counts overlapping in-flight intervals and accumulates the time any is open. */
export class BusyTracker {
  private inFlight = 0;
  private openedAt = 0;
  private busyMs = 0;
  private windowStart: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.windowStart = now();
  }

  /** A submission went to the GPU. */
  begin(): void {
    if (this.inFlight++ === 0) this.openedAt = this.now();
  }

  /** A submission finished (or failed). */
  end(): void {
    if (this.inFlight === 0) return;
    if (--this.inFlight === 0) this.busyMs += this.now() - this.openedAt;
  }

  /** Busy fraction (0..1) since the previous call, then start a new window. */
  take(): number {
    const t = this.now();
    let busy = this.busyMs;
    if (this.inFlight > 0) {
      busy += t - this.openedAt;
      this.openedAt = t;
    }
    const wall = t - this.windowStart;
    this.windowStart = t;
    this.busyMs = 0;
    if (wall <= 0) return 0;
    return Math.min(1, Math.max(0, busy / wall));
  }
}
