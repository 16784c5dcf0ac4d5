/**
 * Media packets the native engine dropped before any library parsed them, and requests it refused,
 * by reason, for the whole process (the checks in werift-fixes.ts are process-wide too). The
 * server exports them as `rtc_media_packets_dropped_total{reason}`.
 */
import type { FramingError } from './rtp-framing.js';

/** Every reason a packet is dropped or a peer's request refused by the transport's own stages. */
export type DropReason =
  | FramingError
  | 'srtp-auth'
  | 'ssrc-unknown'
  | 'ssrc-switch-rate'
  | 'rtx-budget'
  | 'rtx-unknown-seq'
  | 'frame-oversize';

const counts = new Map<DropReason, number>();

/** Count one dropped packet (or refused request). */
export function countDrop(reason: DropReason, n = 1): void {
  counts.set(reason, (counts.get(reason) ?? 0) + n);
}

/** Counts so far, by reason (a copy). */
export function dropCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}
