/** Per-second figures from RTCPeerConnection.getStats(): frame rates, resolution, codec, loss. */

export interface RtcSnapshot {
  /** Frames the encoder sent per second, and decoded per second on the way back. */
  fpsSent: number | null;
  fpsReceived: number | null;
  sentWidth: number | null;
  sentHeight: number | null;
  receivedWidth: number | null;
  receivedHeight: number | null;
  codec: string | null;
  framesDecoded: number;
  /** Packets lost on the processed stream, since the start and in percent of the last interval. */
  packetsLost: number;
  lossPercent: number | null;
  /** Average time a frame waited in the jitter buffer in the last interval. */
  jitterBufferMs: number | null;
  /** ICE candidate-pair round-trip time (STUN), ms. */
  networkRttMs: number | null;
}

interface Counters {
  t: number;
  framesSent: number;
  framesDecoded: number;
  packetsLost: number;
  packetsReceived: number;
  jbDelay: number;
  jbCount: number;
}

type Report = Record<string, unknown> & { type: string; id: string };
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Turns successive getStats() reports into rates; call `sample()` about once a second. */
export class RtcStatsSampler {
  private prev: Counters | null = null;

  /** `receiver`: the connection the processed video arrives on, when it is another one (a WHEP viewer). */
  constructor(private readonly pc: RTCPeerConnection, private readonly receiver: RTCPeerConnection = pc) {}

  /** Read the current stats and return the figures for the interval since the last call. */
  async sample(): Promise<RtcSnapshot> {
    const all: Report[] = [];
    (await this.pc.getStats()).forEach((r: Report) => all.push(r));
    // Ids are unique within one report only, so the receiving side's are kept apart.
    const received: Report[] = [];
    if (this.receiver === this.pc) received.push(...all);
    else (await this.receiver.getStats()).forEach((r: Report) => received.push(r));
    const byId = new Map(received.map((r) => [r.id, r]));
    const out = all.find((r) => r.type === 'outbound-rtp' && r.kind === 'video');
    const inb = received.find((r) => r.type === 'inbound-rtp' && r.kind === 'video');
    const pair = all.find((r) => r.type === 'candidate-pair' && (r.nominated === true || r.selected === true) && r.state === 'succeeded');
    const codecReport = inb && typeof inb.codecId === 'string' ? byId.get(inb.codecId) : undefined;
    const mime = codecReport && typeof codecReport.mimeType === 'string' ? codecReport.mimeType.replace(/^video\//, '') : null;
    const now: Counters = {
      t: performance.now(),
      framesSent: num(out?.framesSent) ?? 0,
      framesDecoded: num(inb?.framesDecoded) ?? 0,
      packetsLost: num(inb?.packetsLost) ?? 0,
      packetsReceived: num(inb?.packetsReceived) ?? 0,
      jbDelay: num(inb?.jitterBufferDelay) ?? 0,
      jbCount: num(inb?.jitterBufferEmittedCount) ?? 0,
    };
    const p = this.prev;
    this.prev = now;
    const dt = p ? (now.t - p.t) / 1000 : 0;
    const rate = (a: number, b: number): number | null => (p && dt > 0 ? Math.max(0, (a - b) / dt) : null);
    const lost = p ? now.packetsLost - p.packetsLost : 0;
    const recv = p ? now.packetsReceived - p.packetsReceived : 0;
    const jbN = p ? now.jbCount - p.jbCount : 0;
    const rtt = num(pair?.currentRoundTripTime);
    return {
      fpsSent: rate(now.framesSent, p?.framesSent ?? 0),
      fpsReceived: rate(now.framesDecoded, p?.framesDecoded ?? 0),
      sentWidth: num(out?.frameWidth),
      sentHeight: num(out?.frameHeight),
      receivedWidth: num(inb?.frameWidth),
      receivedHeight: num(inb?.frameHeight),
      codec: mime,
      framesDecoded: now.framesDecoded,
      packetsLost: now.packetsLost,
      lossPercent: p && lost + recv > 0 ? (100 * Math.max(0, lost)) / (lost + recv) : p ? 0 : null,
      jitterBufferMs: jbN > 0 && p ? (1000 * (now.jbDelay - p.jbDelay)) / jbN : null,
      networkRttMs: rtt === null ? null : rtt * 1000,
    };
  }
}
