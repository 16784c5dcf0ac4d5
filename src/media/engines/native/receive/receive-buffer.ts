/**
 * The receive side's only buffer: a small reorder window that hands out each frame the moment it
 * is complete (all sequence numbers from the frame's first packet to its marker packet present),
 * asks for lost packets (NACK, bounded list and retries), and gives up on a frame it cannot
 * complete within a bound: it then skips to the next key frame and asks for one (PLI).
 *
 * There is no smoothing (jitter) buffer: nothing waits for a render time. Frames leave in order,
 * because a VP8/H264 delta frame needs the one before it; after a gap that cannot be filled the
 * buffer waits for a key frame rather than feed the decoder a broken reference chain.
 *
 * Pure logic, clock passed in, so the tests drive it packet by packet.
 */
import { MEDIA_SETTINGS } from '../../../media-settings.js';
import type { AssembledFrame, PayloadInfo, RtpDepacketizer } from '../payload/codec-payload.js';
import type { IncomingRtp } from '../stack-types.js';

/** A frame ready for the decoder. */
export interface CompleteFrame extends AssembledFrame {
  rtpTimestamp: number;
  /** Packets the frame was made of. */
  packets: number;
}

export interface ReceiveBufferOptions {
  /** Most packets held (a 720p key frame is ~150 packets). */
  maxPackets?: number;
  /** Give up on a missing packet this long after it was found missing. */
  frameTimeoutMs?: number;
  /** NACKs sent per missing packet. */
  maxNackRetries?: number;
  /** Most sequence numbers tracked as missing; a larger gap is given up at once. */
  maxMissing?: number;
  /** Wait this long between NACKs of one packet (the caller passes ~1.5 RTT, floored). */
  nackRetryMs?: () => number;
}

/** Counters, monotonic over the buffer's life. */
export interface ReceiveCounters {
  packets: number;
  duplicates: number;
  late: number;
  malformed: number;
  /** Sequence numbers found missing (each counted once). */
  gaps: number;
  recovered: number;
  nacksSent: number;
  framesComplete: number;
  /** Frames given up (timeout, too large a gap, bad payloads). */
  framesLost: number;
  /** Complete delta frames thrown away while waiting for a key frame. */
  framesSkipped: number;
  resyncs: number;
}

interface Held {
  ts: number;
  marker: boolean;
  payload: Buffer;
  info: PayloadInfo;
}

interface Missing {
  since: number;
  lastNack: number;
  tries: number;
}

/** Result of pushing a packet or polling the clock. */
export interface BufferOutput {
  frames: CompleteFrame[];
  /** Sequence numbers (16-bit) to NACK now. */
  nack: number[];
}

const SEQ_MOD = 0x10000;

/** Reorder window, NACK generator and frame assembler for one incoming video stream. */
export class ReceiveBuffer {
  readonly counters: ReceiveCounters = {
    packets: 0, duplicates: 0, late: 0, malformed: 0, gaps: 0, recovered: 0, nacksSent: 0,
    framesComplete: 0, framesLost: 0, framesSkipped: 0, resyncs: 0,
  };
  private readonly held = new Map<number, Held>();
  private readonly missing = new Map<number, Missing>();
  /** Highest extended sequence number seen; -1 before the first packet. */
  private highest = -1;
  private first = -1;
  /** Extended sequence number the next frame starts at; null: not synced (waiting for a key frame start). */
  private nextSeq: number | null = null;
  private needKeyframe = true;
  private needKeyframeSince = 0;
  private readonly maxPackets: number;
  private readonly frameTimeoutMs: number;
  private readonly maxNackRetries: number;
  private readonly maxMissing: number;
  private readonly nackRetryMs: () => number;

  constructor(private readonly depacketizer: RtpDepacketizer, options: ReceiveBufferOptions = {}) {
    this.maxPackets = options.maxPackets ?? 1024;
    this.frameTimeoutMs = options.frameTimeoutMs ?? MEDIA_SETTINGS.frameTimeoutMs.default;
    this.maxNackRetries = options.maxNackRetries ?? 8;
    this.maxMissing = options.maxMissing ?? 256;
    this.nackRetryMs = options.nackRetryMs ?? (() => 20);
  }

  /** True while the buffer waits for a key frame (at start and after a frame was given up). */
  get waitingForKeyframe(): boolean {
    return this.needKeyframe;
  }

  /** Since when (clock ms) the buffer has waited for a key frame. */
  get waitingSince(): number {
    return this.needKeyframeSince;
  }

  /** Fraction of the stream's packets that were missing when first expected (before NACK recovery). */
  get lossRatio(): number | null {
    if (this.highest < 0) return null;
    const expected = this.highest - this.first + 1;
    return expected > 0 ? Math.min(1, this.counters.gaps / expected) : 0;
  }

  /** Number of sequence numbers currently tracked as missing. */
  get missingCount(): number {
    return this.missing.size;
  }

  /** Number of packets currently held. */
  get heldCount(): number {
    return this.held.size;
  }

  /** The sender restarted its stream (a new SSRC): forget the old sequence space and wait for a key frame. */
  restart(now: number): void {
    this.resync(now);
  }

  /** Drop delta frames until the next key frame (the decoder failed on one). */
  requestKeyframe(now: number): void {
    this.markNeedKeyframe(now);
  }

  /** Take one packet; returns the frames it completed and the sequence numbers to NACK at once. */
  push(packet: IncomingRtp, now: number): BufferOutput {
    const out: BufferOutput = { frames: [], nack: [] };
    const info = this.depacketizer.inspect(packet.payload);
    if (!info) {
      this.counters.malformed++;
      return out;
    }
    this.counters.packets++;
    let ext = this.extend(packet.sequenceNumber);
    if (this.highest >= 0 && Math.abs(ext - this.highest) > this.maxPackets) {
      // a jump further than the window either way: the sender restarted, or a stray packet
      // moved `highest`; start over from this packet rather than drop the stream as late
      this.resync(now);
      ext = this.extend(packet.sequenceNumber);
    }
    if (this.highest < 0) {
      this.highest = ext;
      this.first = ext;
      if (this.needKeyframe) this.needKeyframeSince = now;
    }
    if (this.nextSeq !== null && ext < this.nextSeq) {
      this.counters.late++;
      return out;
    }
    if (this.held.has(ext)) {
      this.counters.duplicates++;
      return out;
    }
    if (ext > this.highest) {
      const gap = ext - this.highest - 1;
      if (gap > 0) {
        this.counters.gaps += gap;
        if (this.missing.size + gap > this.maxMissing) {
          this.held.set(ext, { ts: packet.timestamp, marker: packet.marker, payload: packet.payload, info });
          this.highest = ext;
          this.giveUp(ext - 1, now);
          this.drain(out, now);
          return out;
        }
        for (let s = this.highest + 1; s < ext; s++) {
          this.missing.set(s, { since: now, lastNack: now, tries: 1 });
          out.nack.push(s % SEQ_MOD);
        }
        this.counters.nacksSent += gap;
      }
      this.highest = ext;
    } else if (this.missing.delete(ext)) {
      this.counters.recovered++;
    }
    this.held.set(ext, { ts: packet.timestamp, marker: packet.marker, payload: packet.payload, info });
    if (this.held.size > this.maxPackets) this.evictOldest(now);
    this.drain(out, now);
    return out;
  }

  /** Advance the clock: NACK retries, and frames given up after the timeout. */
  poll(now: number): BufferOutput {
    const out: BufferOutput = { frames: [], nack: [] };
    let expired: number | null = null;
    const retryMs = this.nackRetryMs();
    for (const [s, m] of this.missing) {
      if (this.nextSeq !== null && s < this.nextSeq) {
        this.missing.delete(s);
        continue;
      }
      if (now - m.since > this.frameTimeoutMs) {
        if (expired === null || s > expired) expired = s;
        continue;
      }
      if (m.tries < this.maxNackRetries && now - m.lastNack >= retryMs) {
        m.tries++;
        m.lastNack = now;
        out.nack.push(s % SEQ_MOD);
      }
    }
    this.counters.nacksSent += out.nack.length;
    if (expired !== null) {
      this.giveUp(expired, now);
      this.drain(out, now);
    }
    return out;
  }

  /** Extended (unwrapped) sequence number, relative to the highest seen. */
  private extend(seq: number): number {
    if (this.highest < 0) return seq + SEQ_MOD;
    const diff = ((seq - (this.highest % SEQ_MOD) + SEQ_MOD + SEQ_MOD / 2) % SEQ_MOD) - SEQ_MOD / 2;
    return this.highest + diff;
  }

  private resync(now: number): void {
    this.held.clear();
    this.missing.clear();
    this.highest = -1;
    this.first = -1;
    this.nextSeq = null;
    this.markNeedKeyframe(now);
    this.counters.resyncs++;
  }

  private markNeedKeyframe(now: number): void {
    if (!this.needKeyframe) this.needKeyframeSince = now;
    this.needKeyframe = true;
  }

  /** Everything up to and including `lostSeq` is abandoned; resume at the next key frame start after it. */
  private giveUp(lostSeq: number, now: number): void {
    this.counters.framesLost++;
    this.markNeedKeyframe(now);
    for (const s of this.missing.keys()) if (s <= lostSeq) this.missing.delete(s);
    for (const s of this.held.keys()) if (s <= lostSeq) this.held.delete(s);
    this.nextSeq = null;
  }

  private evictOldest(now: number): void {
    let oldest = Infinity;
    for (const s of this.held.keys()) if (s < oldest) oldest = s;
    this.giveUp(oldest, now);
  }

  /** Hand out every frame that is complete, in order. */
  private drain(out: BufferOutput, now: number): void {
    for (let guard = 0; guard < this.maxPackets; guard++) {
      if (this.nextSeq === null && !this.findKeyframeStart()) return;
      const start = this.nextSeq!;
      let s = start;
      let p = this.held.get(s);
      if (!p) return;
      const ts = p.ts;
      const payloads: Buffer[] = [];
      let broken = false;
      while (p && !p.marker) {
        if (p.ts !== ts) broken = true;
        payloads.push(p.payload);
        s++;
        p = this.held.get(s);
      }
      if (!p) return; // frame not complete yet
      if (p.ts !== ts) broken = true;
      payloads.push(p.payload);
      for (let k = start; k <= s; k++) {
        this.held.delete(k);
        this.missing.delete(k);
      }
      this.nextSeq = s + 1;
      const frame = broken ? null : this.depacketizer.assemble(payloads);
      if (!frame) {
        this.counters.malformed++;
        this.counters.framesLost++;
        this.markNeedKeyframe(now);
        continue;
      }
      if (this.needKeyframe && !frame.keyframe) {
        this.counters.framesSkipped++;
        continue;
      }
      this.needKeyframe = false;
      this.counters.framesComplete++;
      out.frames.push({ ...frame, rtpTimestamp: ts, packets: payloads.length });
    }
  }

  /** Sync on the lowest held packet that starts a key frame; drop what lies before it. */
  private findKeyframeStart(): boolean {
    let best = Infinity;
    for (const [s, p] of this.held) if (p.info.frameStart && p.info.keyframe && s < best) best = s;
    if (best === Infinity) return false;
    for (const s of this.held.keys()) if (s < best) this.held.delete(s);
    for (const s of this.missing.keys()) if (s < best) this.missing.delete(s);
    this.nextSeq = best;
    return true;
  }
}
