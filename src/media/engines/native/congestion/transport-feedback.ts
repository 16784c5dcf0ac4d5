/**
 * Transport-wide congestion control feedback for the client's packets
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01): the receiver records when each transport
 * sequence number arrived and reports them every few tens of ms, and the client's send-side
 * estimator (GoogCC in libwebrtc) turns the arrival times into its bitrate and pacing.
 *
 * The engine builds these itself because werift's (0.25) misreport: its first delta is taken
 * from the previous packet while its reference time is that packet's time rounded down to 64 ms
 * (each message shifted by 0-64 ms), every delta is rounded down on its own (the error adds up
 * within a message), missing packets are folded into their neighbours' runs, and a message whose
 * length is not a multiple of 4 bytes goes out with a truncated length. Measured: a libwebrtc
 * client paused its video for about 150 ms right after its first frames with werift's feedback,
 * and not without transport-cc.
 *
 * Here: arrival times in 250 µs ticks taken from one running clock (a delta is the difference of
 * two rounded times, so errors do not add up), the first delta counted from the reference time,
 * every sequence number in the range reported (received or not), 16-bit wrap handled, and
 * messages bounded in size.
 */

/** Packet status symbols of the feedback format. */
export const STATUS_NOT_RECEIVED = 0;
export const STATUS_SMALL_DELTA = 1;
export const STATUS_LARGE_DELTA = 2;
export type PacketStatusSymbol = typeof STATUS_NOT_RECEIVED | typeof STATUS_SMALL_DELTA | typeof STATUS_LARGE_DELTA;

/** One feedback message, ready to serialize. */
export interface FeedbackMessage {
  baseSequenceNumber: number;
  packetStatusCount: number;
  /** In 64 ms units, 24 bits (wraps). */
  referenceTime: number;
  /** 8 bits (wraps). */
  fbPktCount: number;
  /** Run-length chunks: `length` packets (at most 8191) of one status. */
  runs: Array<{ status: PacketStatusSymbol; length: number }>;
  /** One per received packet, in order: 250 µs ticks since the previous received packet (the first: since the reference time). */
  deltas: Array<{ ticks: number; large: boolean }>;
}

/** Statuses per message at most: keeps a message well under the MTU (a delta is 1-2 bytes). */
const MAX_STATUSES_PER_MESSAGE = 400;
/** A run-length chunk holds 13 bits of length. */
const MAX_RUN = 8191;
/** Arrivals kept waiting for a report at most (a stalled loop cannot grow the map without bound). */
const MAX_PENDING = 4096;
const TICK_US = 250;
/** 64 ms in ticks. */
const TICKS_PER_REFERENCE = 256;

/** Records transport sequence numbers as they arrive and turns them into feedback messages. */
export class TransportFeedbackRecorder {
  /** Arrival tick (µs / 250, rounded) by unwrapped sequence number. */
  private readonly arrivals = new Map<number, number>();
  private highest: number | null = null;
  /** The lowest unwrapped sequence number not reported yet. */
  private begin: number | null = null;
  private fbPktCount = 0;
  private lastReference = 0;

  /** Packets recorded since the start (for tests and logs). */
  packets = 0;

  /** A packet with transport sequence number `sequenceNumber` (16 bits) arrived at `arrivalUs`. */
  onPacket(sequenceNumber: number, arrivalUs: number): void {
    if (!Number.isInteger(sequenceNumber) || sequenceNumber < 0 || sequenceNumber > 0xffff || !Number.isFinite(arrivalUs)) return;
    const seq = this.unwrap(sequenceNumber);
    if (this.begin !== null && seq < this.begin) return; // reported already (as lost): too late
    if (this.arrivals.has(seq)) return; // a duplicate keeps its first arrival
    this.packets++;
    this.arrivals.set(seq, Math.round(arrivalUs / TICK_US));
    if (this.begin === null || seq < this.begin) this.begin = seq;
    if (this.highest === null || seq > this.highest) this.highest = seq;
    if (this.arrivals.size > MAX_PENDING || this.highest - this.begin > MAX_PENDING) this.dropOldest();
  }

  /** The messages reporting everything recorded since the last call (none when nothing arrived). */
  take(): FeedbackMessage[] {
    const out: FeedbackMessage[] = [];
    if (this.begin === null || this.highest === null) return out;
    while (this.begin <= this.highest) {
      const m = this.message(this.begin, Math.min(this.highest, this.begin + MAX_STATUSES_PER_MESSAGE - 1));
      out.push(m.message);
      for (let s = this.begin; s < m.next; s++) this.arrivals.delete(s);
      this.begin = m.next;
    }
    return out;
  }

  /** One message from `from` up to `to` (unwrapped), cut earlier where a delta would not fit 16 bits. */
  private message(from: number, to: number): { message: FeedbackMessage; next: number } {
    let firstTick: number | null = null;
    for (let s = from; s <= to && firstTick === null; s++) firstTick = this.arrivals.get(s) ?? null;
    // A range of losses only keeps the last reference time: the client adds up reference times
    // between messages, so a made-up one would shift every arrival after it.
    const reference = firstTick === null ? this.lastReference : Math.floor(firstTick / TICKS_PER_REFERENCE);
    this.lastReference = reference;
    let prev = reference * TICKS_PER_REFERENCE;
    const statuses: PacketStatusSymbol[] = [];
    const deltas: FeedbackMessage['deltas'] = [];
    let s = from;
    for (; s <= to; s++) {
      const tick = this.arrivals.get(s);
      if (tick === undefined) {
        statuses.push(STATUS_NOT_RECEIVED);
        continue;
      }
      const d = tick - prev;
      // over 8 s from the previous one: the next message starts here, with its own reference
      // (the first packet of a message is within 64 ms of its reference, so statuses is not empty)
      if (d < -32768 || d > 32767) break;
      const large = d < 0 || d > 255;
      statuses.push(large ? STATUS_LARGE_DELTA : STATUS_SMALL_DELTA);
      deltas.push({ ticks: d, large });
      prev = tick;
    }
    const message: FeedbackMessage = {
      baseSequenceNumber: from & 0xffff,
      packetStatusCount: statuses.length,
      referenceTime: reference & 0xffffff,
      fbPktCount: this.fbPktCount,
      runs: runsOf(statuses),
      deltas,
    };
    this.fbPktCount = (this.fbPktCount + 1) & 0xff;
    return { message, next: s };
  }

  private unwrap(seq16: number): number {
    if (this.highest === null) return seq16 + 0x10000; // room below for reordering before the first
    const base = this.highest & ~0xffff;
    let candidate = base + seq16;
    const diff = candidate - this.highest;
    if (diff > 0x8000) candidate -= 0x10000;
    else if (diff < -0x8000) candidate += 0x10000;
    return candidate;
  }

  private dropOldest(): void {
    if (this.begin === null || this.highest === null) return;
    const keepFrom = this.highest - MAX_PENDING / 2;
    for (const s of this.arrivals.keys()) if (s < keepFrom) this.arrivals.delete(s);
    this.begin = Math.max(this.begin, keepFrom);
  }
}

function runsOf(statuses: readonly PacketStatusSymbol[]): FeedbackMessage['runs'] {
  const runs: FeedbackMessage['runs'] = [];
  for (const st of statuses) {
    const last = runs[runs.length - 1];
    if (last && last.status === st && last.length < MAX_RUN) last.length++;
    else runs.push({ status: st, length: 1 });
  }
  return runs;
}
