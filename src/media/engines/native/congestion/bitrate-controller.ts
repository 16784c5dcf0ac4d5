/**
 * The outgoing video bitrate: starts at a configured value and takes the lowest of three
 * estimates, clamped to the configured bounds: the loss the client reports in its receiver
 * reports (libwebrtc's loss-based rule: +8 % per report under 2 % loss, cut by half the loss
 * ratio above 10 %), the delay-based estimate from transport-cc feedback (delay-estimator.ts),
 * and the client's REMB when it sends one. It decides when a change is large and settled enough to apply, because
 * libvpx in FFmpeg cannot change its bitrate without reopening the encoder (libx264 can).
 */
import { MEDIA_SETTINGS } from '../../../media-settings.js';

export interface BitrateBounds {
  minKbps: number;
  maxKbps: number;
  startKbps: number;
}

/** Default bounds (media-settings.ts): 800 kbit/s is ample for 360p30 VP8 (libwebrtc sends ~0.5-1 Mbit/s there); 2 Mbit/s for 720p. */
export const DEFAULT_BITRATE: BitrateBounds = {
  minKbps: MEDIA_SETTINGS.videoBitrateMinKbps.default, maxKbps: MEDIA_SETTINGS.videoBitrateMaxKbps.default, startKbps: MEDIA_SETTINGS.videoBitrateStartKbps.default,
};

/** Check bounds; throws RangeError when min <= start <= max does not hold. */
export function validateBitrate(b: BitrateBounds): BitrateBounds {
  if (!(b.minKbps > 0 && b.minKbps <= b.startKbps && b.startKbps <= b.maxKbps)) {
    throw new RangeError('bitrate bounds must satisfy 0 < minKbps <= startKbps <= maxKbps');
  }
  return b;
}

/** Tracks the target and the value the encoder runs at. */
export class BitrateController {
  private estimateKbps: number;
  private rembKbps: number | null = null;
  private delayKbps: number | null = null;
  private feedback = false;
  private applied: number;
  private lastApplyMs = 0;
  private pendingSince: number | null = null;

  constructor(private readonly bounds: BitrateBounds, private readonly cheapChange: boolean) {
    validateBitrate(bounds);
    this.applied = bounds.startKbps;
    this.estimateKbps = bounds.startKbps;
  }

  /** The bitrate the encoder runs at, kbit/s. */
  get currentKbps(): number {
    return this.applied;
  }

  /** The bitrate the feedback asks for (kbit/s), clamped to the bounds; null before any feedback. */
  get targetKbps(): number | null {
    if (!this.feedback) return null;
    return this.clamp(Math.min(this.estimateKbps, this.rembKbps ?? Infinity, this.delayKbps ?? Infinity));
  }

  /** The client's REMB, bit/s. */
  onRemb(bitsPerSecond: number): void {
    if (!(Number.isFinite(bitsPerSecond) && bitsPerSecond > 0)) return;
    this.rembKbps = bitsPerSecond / 1000;
    this.feedback = true;
  }

  /** The delay-based estimate from transport-cc feedback (delay-estimator.ts), kbit/s. */
  onDelayEstimate(kbps: number): void {
    if (!(Number.isFinite(kbps) && kbps > 0)) return;
    this.delayKbps = kbps;
    this.feedback = true;
  }

  /** A receiver report's fraction lost (0..1) on our stream. */
  onReceiverReport(fractionLost: number): void {
    if (!(fractionLost >= 0 && fractionLost <= 1)) return;
    if (fractionLost > 0.1) this.estimateKbps *= 1 - 0.5 * fractionLost;
    else if (fractionLost < 0.02) this.estimateKbps *= 1.08;
    this.estimateKbps = this.clamp(this.estimateKbps);
    this.feedback = true;
  }

  /**
   * The bitrate to switch the encoder to now, or null to keep it. A live-reconfigurable encoder
   * follows changes over 10 %; one that must reopen (key frame) waits for a change of 1.5x held
   * for a second, at most every 5 s, and drops at once below 0.5x.
   */
  decide(now: number): number | null {
    const target = this.targetKbps;
    if (target === null) return null;
    const ratio = target / this.applied;
    if (this.cheapChange) {
      if (Math.abs(ratio - 1) < 0.1 || now - this.lastApplyMs < 250) return null;
      return this.apply(target, now);
    }
    if (ratio < 0.5 && now - this.lastApplyMs >= 1000) return this.apply(target, now);
    if (ratio < 1.5 && ratio > 1 / 1.5) {
      this.pendingSince = null;
      return null;
    }
    this.pendingSince ??= now;
    if (now - this.pendingSince < 1000 || now - this.lastApplyMs < 5000) return null;
    return this.apply(target, now);
  }

  private apply(kbps: number, now: number): number {
    this.applied = Math.round(kbps);
    this.lastApplyMs = now;
    this.pendingSince = null;
    return this.applied;
  }

  private clamp(kbps: number): number {
    return Math.min(this.bounds.maxKbps, Math.max(this.bounds.minKbps, kbps));
  }
}
