/**
 * How much a peer may make us resend (NACK answers), per second, in bytes and in packets: two
 * token buckets that refill with time and hold half a second's worth. Without it, NACKs for many
 * sequence numbers 100 times a second made the server resend its whole send history each time
 * (upload to that client 352 kbit/s -> 103 Mbit/s, server CPU 18 -> 49 %).
 *
 * Pure: the caller passes the time.
 */
import { MEDIA_SETTINGS } from '../../../media-settings.js';

/** Budget settings. */
export interface RetransmitBudgetOptions {
  /** Retransmitted bytes per second (payload and header). */
  bytesPerSecond: number;
  /** Retransmitted packets per second. */
  packetsPerSecond: number;
  /** Bucket depth, in seconds of refill: how large a burst (a lost key frame) may be answered at once. */
  burstSeconds?: number;
}

/** Counters, monotonic. */
export interface RetransmitCounters {
  /** Retransmissions allowed, and their bytes. */
  allowed: number;
  allowedBytes: number;
  /** Requests refused because a bucket was empty. */
  refused: number;
}

/** Packets a peer may have resent per second when the settings do not say (a 720p key frame is ~150). */
export const DEFAULT_RTX_PACKETS_PER_SECOND = 300;

/** The per-peer retransmission budget. */
export class RetransmitBudget {
  private bytes: number;
  private packets: number;
  private last: number | null = null;
  private readonly burst: number;
  readonly counters: RetransmitCounters = { allowed: 0, allowedBytes: 0, refused: 0 };

  constructor(private readonly opts: RetransmitBudgetOptions) {
    if (!(opts.bytesPerSecond > 0 && opts.packetsPerSecond > 0)) throw new RangeError('retransmission budget must be positive');
    this.burst = opts.burstSeconds ?? 0.5;
    this.bytes = opts.bytesPerSecond * this.burst;
    this.packets = opts.packetsPerSecond * this.burst;
  }

  /** Whether one retransmission of `size` bytes may go out now; takes it from the budget if so. */
  allow(size: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (this.packets < 1 || this.bytes < size) {
      this.counters.refused++;
      return false;
    }
    this.packets -= 1;
    this.bytes -= size;
    this.counters.allowed++;
    this.counters.allowedBytes += size;
    return true;
  }

  private refill(nowMs: number): void {
    if (this.last !== null && nowMs > this.last) {
      const s = (nowMs - this.last) / 1000;
      this.bytes = Math.min(this.opts.bytesPerSecond * this.burst, this.bytes + s * this.opts.bytesPerSecond);
      this.packets = Math.min(this.opts.packetsPerSecond * this.burst, this.packets + s * this.opts.packetsPerSecond);
    }
    if (this.last === null || nowMs > this.last) this.last = nowMs;
  }
}

/** RTC_RTX_BUDGET_KBPS's default and 300 packets/s of NACK answers: ~3x the loss a 720p stream at 2.5 Mbit/s shows at 10 %. */
export const DEFAULT_RETRANSMIT_BUDGET: RetransmitBudgetOptions = {
  bytesPerSecond: (MEDIA_SETTINGS.retransmitBudgetKbps.default * 1000) / 8, packetsPerSecond: DEFAULT_RTX_PACKETS_PER_SECOND,
};
