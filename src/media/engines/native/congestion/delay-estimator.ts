/**
 * A delay-based send bandwidth estimate from transport-cc feedback, after the idea of libwebrtc's
 * GoogCC (trendline filter): packets are grouped in 5 ms send bursts; the growth of one-way delay
 * between groups is smoothed and its trend over the last groups compared with an adaptive
 * threshold. A rising trend (a queue building up) is overuse: the estimate drops to 85 % of the
 * rate the client actually received. Otherwise it grows 8 % a second, never past 1.5x the
 * received rate (the estimate cannot run ahead of what the path has shown it carries).
 *
 * Pure logic with the clock passed in. Send times are the engine's, arrival times the client's.
 */
import type { FeedbackResult } from '../stack-types.js';

interface Sent {
  size: number;
  sendMs: number;
}

interface Group {
  firstSendMs: number;
  lastSendMs: number;
  lastArrivalMs: number;
  bytes: number;
}

export type BandwidthUsage = 'normal' | 'overuse' | 'underuse';

const MAX_SENT = 4096;
const BURST_MS = 5;
const WINDOW = 20;
const SMOOTHING = 0.9;
const TREND_GAIN = 4;
const ACKED_WINDOW_MS = 500;

/** Delay-based estimator for one outgoing stream. */
export class DelayBasedEstimator {
  private readonly sent = new Map<number, Sent>();
  private group: Group | null = null;
  private prevGroup: Group | null = null;
  private accumulated = 0;
  private smoothed = 0;
  private readonly trendPoints: Array<{ x: number; y: number }> = [];
  private firstArrival: number | null = null;
  private threshold = 12.5;
  private lastThresholdUpdate: number | null = null;
  private overuseSince: number | null = null;
  private state: BandwidthUsage = 'normal';
  private readonly acked: Array<{ at: number; bytes: number }> = [];
  private estimate: number;
  private lastUpdate: number | null = null;

  constructor(startKbps: number, private readonly minKbps: number, private readonly maxKbps: number) {
    this.estimate = startKbps;
  }

  /** Current estimate, kbit/s. */
  get estimateKbps(): number {
    return this.estimate;
  }

  /** The detector's last verdict. */
  get usage(): BandwidthUsage {
    return this.state;
  }

  /** Record one sent packet by its transport-wide sequence number (16 bits). */
  onPacketSent(sequenceNumber: number, size: number, sendMs: number): void {
    this.sent.set(sequenceNumber & 0xffff, { size, sendMs });
    if (this.sent.size > MAX_SENT) this.sent.delete(this.sent.keys().next().value!);
  }

  /** Process one feedback message; returns the new estimate in kbit/s. */
  onFeedback(results: readonly FeedbackResult[], nowMs: number): number {
    for (const r of results) {
      const s = this.sent.get(r.sequenceNumber & 0xffff);
      if (!s) continue;
      this.sent.delete(r.sequenceNumber & 0xffff);
      if (!r.received || !Number.isFinite(r.receivedAtMs)) continue;
      this.acked.push({ at: r.receivedAtMs, bytes: s.size });
      this.addToGroup(s, r.receivedAtMs, nowMs);
    }
    const newest = this.acked.length > 0 ? this.acked[this.acked.length - 1]!.at : 0;
    while (this.acked.length > 0 && this.acked[0]!.at < newest - ACKED_WINDOW_MS) this.acked.shift();
    this.updateRate(nowMs);
    return this.estimate;
  }

  /** Rate the client received over the last half second, kbit/s (null: too little data). */
  ackedKbps(): number | null {
    if (this.acked.length < 5) return null;
    const span = this.acked[this.acked.length - 1]!.at - this.acked[0]!.at;
    if (span < 100) return null;
    let bytes = 0;
    for (const a of this.acked) bytes += a.bytes;
    return (bytes * 8) / span;
  }

  private addToGroup(s: Sent, arrivalMs: number, nowMs: number): void {
    const g = this.group;
    if (g && s.sendMs - g.firstSendMs <= BURST_MS) {
      g.lastSendMs = Math.max(g.lastSendMs, s.sendMs);
      g.lastArrivalMs = Math.max(g.lastArrivalMs, arrivalMs);
      g.bytes += s.size;
      return;
    }
    if (g) this.closeGroup(g, nowMs);
    this.group = { firstSendMs: s.sendMs, lastSendMs: s.sendMs, lastArrivalMs: arrivalMs, bytes: s.size };
  }

  private closeGroup(g: Group, nowMs: number): void {
    const prev = this.prevGroup;
    this.prevGroup = g;
    if (!prev) return;
    const sendDelta = g.lastSendMs - prev.lastSendMs;
    const arrivalDelta = g.lastArrivalMs - prev.lastArrivalMs;
    if (sendDelta < 0 || arrivalDelta < -1000 || arrivalDelta > 1000) return; // reordered or a clock jump
    this.accumulated += arrivalDelta - sendDelta;
    this.smoothed = SMOOTHING * this.smoothed + (1 - SMOOTHING) * this.accumulated;
    this.firstArrival ??= g.lastArrivalMs;
    this.trendPoints.push({ x: g.lastArrivalMs - this.firstArrival, y: this.smoothed });
    if (this.trendPoints.length > WINDOW) this.trendPoints.shift();
    if (this.trendPoints.length < WINDOW) return;
    const trend = slope(this.trendPoints) * Math.min(this.trendPoints.length, 60) * TREND_GAIN;
    this.detect(trend, nowMs);
  }

  private detect(trend: number, nowMs: number): void {
    if (trend > this.threshold) {
      this.overuseSince ??= nowMs;
      if (nowMs - this.overuseSince >= 10) this.state = 'overuse';
    } else {
      this.overuseSince = null;
      this.state = trend < -this.threshold ? 'underuse' : 'normal';
    }
    // the threshold follows the trend slowly, faster down than up (libwebrtc's k_u / k_d)
    const dt = Math.min(100, this.lastThresholdUpdate === null ? 0 : nowMs - this.lastThresholdUpdate);
    this.lastThresholdUpdate = nowMs;
    if (Math.abs(trend) < this.threshold + 15) {
      const k = Math.abs(trend) < this.threshold ? 0.039 : 0.0087;
      this.threshold = Math.min(600, Math.max(6, this.threshold + k * (Math.abs(trend) - this.threshold) * dt));
    }
  }

  private updateRate(nowMs: number): void {
    const dt = this.lastUpdate === null ? 0 : Math.min(1000, nowMs - this.lastUpdate);
    this.lastUpdate = nowMs;
    const acked = this.ackedKbps();
    if (this.state === 'overuse') {
      if (acked !== null) this.estimate = Math.min(this.estimate, 0.85 * acked);
    } else if (this.state === 'normal') {
      this.estimate *= Math.pow(1.08, dt / 1000);
      if (acked !== null) this.estimate = Math.min(this.estimate, 1.5 * acked + 10);
    }
    this.estimate = Math.min(this.maxKbps, Math.max(this.minKbps, this.estimate));
  }
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / points.length;
  const my = sy / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) * (p.x - mx);
  }
  return den === 0 ? 0 : num / den;
}
