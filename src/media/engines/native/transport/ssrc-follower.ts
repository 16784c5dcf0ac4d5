/**
 * Which incoming SSRC is the client's video now. A client that restarts its encoder (a browser
 * after a track replace or a codec change) keeps its MID (RFC 8843) but picks new media and RTX
 * SSRCs; werift routes by the SSRCs of the offer only and dropped the new stream. This stage takes
 * a new SSRC that carries our MID (or, without a MID, our payload type) as the client's restarted
 * stream, at most once per `minSwitchMs`, and drops the rest.
 *
 * Pure: the caller passes what the packet says and the time.
 */

/** Old SSRCs remembered. */
const MAX_RETIRED = 8;

/** What to do with a packet. */
export type SsrcDecision = 'known' | 'media-restart' | 'rtx-restart' | 'unknown' | 'too-soon';

/** The follower's settings. */
export interface SsrcFollowerOptions {
  /** The MID of our video section. */
  mid: string | null;
  payloadType: number;
  rtxPayloadType: number | null;
  /** Least time between two restarts of one kind. */
  minSwitchMs?: number;
}

/** Tracks the client's current media and RTX SSRC. */
export class SsrcFollower {
  private media: number | null = null;
  private rtx: number | null = null;
  private lastSwitch = { media: -Infinity, rtx: -Infinity };
  /** SSRCs the client left (a late packet of the old stream must not switch back). */
  private readonly retired: number[] = [];
  private readonly minSwitchMs: number;

  constructor(private readonly opts: SsrcFollowerOptions) {
    this.minSwitchMs = opts.minSwitchMs ?? 250;
  }

  /** The current media SSRC (null before the first). */
  get mediaSsrc(): number | null {
    return this.media;
  }

  /** The current RTX SSRC (null before the first). */
  get rtxSsrc(): number | null {
    return this.rtx;
  }

  /** SSRCs the offer announced (routed from the start). */
  announce(media: number | null, rtx: number | null): void {
    if (media !== null) this.media = media;
    if (rtx !== null) this.rtx = rtx;
  }

  /** Decide on one packet: its SSRC, payload type, MID extension (null: none) and the time. */
  route(ssrc: number, payloadType: number, mid: string | null, nowMs: number): SsrcDecision {
    if (ssrc === this.media || ssrc === this.rtx) return 'known';
    if (this.retired.includes(ssrc)) return 'unknown';
    const ours = mid !== null ? mid === this.opts.mid : true;
    const kind = payloadType === this.opts.payloadType ? 'media' : payloadType === this.opts.rtxPayloadType ? 'rtx' : null;
    if (!ours || kind === null) return 'unknown';
    // RTX for a stream we do not know yet repairs nothing
    if (kind === 'rtx' && this.media === null) return 'unknown';
    if (nowMs - this.lastSwitch[kind] < this.minSwitchMs) return 'too-soon';
    this.lastSwitch[kind] = nowMs;
    const old = kind === 'media' ? this.media : this.rtx;
    if (old !== null) {
      this.retired.push(old);
      if (this.retired.length > MAX_RETIRED) this.retired.shift();
    }
    if (kind === 'media') {
      this.media = ssrc;
      return 'media-restart';
    }
    this.rtx = ssrc;
    return 'rtx-restart';
  }
}
