/**
 * Per-second frame counters: each session fills one, the worker sums its sessions' and sends
 * the sum to the coordinator, which adds it to the phase it falls in. A module of its own so the
 * coordinator can use it without loading libwebrtc.
 */

/** Counters since the last drain, for the per-second timeline. */
export interface FrameCounters {
  latencies: number[];
  received: number;
  decoded: number;
  undecoded: number;
  lost: number;
  freezes: number;
  sent: number;
}

/** A fresh, empty counter set. */
export function emptyCounters(): FrameCounters {
  return { latencies: [], received: 0, decoded: 0, undecoded: 0, lost: 0, freezes: 0, sent: 0 };
}

/** Add the counts of `from` (not its latencies: callers keep those in a list or a histogram). */
export function addCounts(into: Omit<FrameCounters, 'latencies'>, from: FrameCounters): void {
  into.received += from.received;
  into.decoded += from.decoded;
  into.undecoded += from.undecoded;
  into.lost += from.lost;
  into.freezes += from.freezes;
  into.sent += from.sent;
}
