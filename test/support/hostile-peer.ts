/**
 * The project's own hostile media peer: the load generator's native client (werift offerer, real
 * VP8) sending stamped synthetic video to a server's /offer, with the raw paths a hostile or
 * unlucky client takes under valid SRTP: raw datagrams, forged RTCP, and a rewrite of every
 * outgoing RTP packet (sequence numbers, SSRC, timestamps, marker bits, header extensions,
 * payloads, loss, reordering, duplicates). It records every processed frame that comes back with
 * its glass-to-glass latency, so the same class measures a bystander session.
 */
import { GenericNack, PictureLossIndication, RtcpPayloadSpecificFeedback, RtcpTransportLayerFeedback, RtpHeader, type RtcpPacket } from 'werift';
import { NativeClient } from '../../src/media/engines/native/native-client.js';
import type { RawMediaPaths } from '../../src/media/engines/native/transport/transport-types.js';
import { readStamp, stampAgeMs, writeStamp } from '../../src/loadgen/stamp.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { percentile } from '../../src/protocol/percentile.js';
import { mulberry32 } from './prng.js';

/** One processed frame back: when it arrived, and how long after it was sent (ms, wall clock). */
export interface FrameSample {
  at: number;
  latencyMs: number;
}

/** A rewrite of one outgoing RTP packet: [] drops it, several send several. */
export type RtpRewrite = (header: RtpHeader, payload: Buffer) => Array<[RtpHeader, Buffer]>;

const KEEP_SAMPLES = 20_000;

/** A copy of a werift header that can be changed without touching werift's send history. */
export function copyHeader(h: RtpHeader, change: Partial<RtpHeader> = {}): RtpHeader {
  return new RtpHeader({
    padding: h.padding, extension: h.extension, marker: h.marker, payloadType: h.payloadType,
    sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc, csrc: [...h.csrc], csrcLength: h.csrcLength,
    extensionProfile: h.extensionProfile, extensions: h.extensions.map((e) => ({ id: e.id, payload: e.payload })), ...change,
  });
}

/** Where the VP8 payload (after the RFC 7741 descriptor) starts, or null. */
export function vp8PayloadOffset(p: Buffer): number | null {
  if (p.length < 1) return null;
  let i = 1;
  if (p[0]! & 0x80) {
    const x = p[i++];
    if (x === undefined) return null;
    if (x & 0x80) i += p[i] !== undefined && p[i]! & 0x80 ? 2 : 1;
    if (x & 0x40) i++;
    if (x & 0x30) i++;
  }
  return i <= p.length ? i : null;
}

/** A stamped native client session on a server, with raw paths for attacks. */
export class StampedPeer {
  readonly samples: FrameSample[] = [];
  framesSent = 0;
  sessionId = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly video: SyntheticVideo;
  private rewrite: RtpRewrite | null = null;

  private constructor(private readonly client: NativeClient, readonly width: number, readonly height: number) {
    this.video = new SyntheticVideo(width, height);
  }

  /** Offer to `baseUrl`/offer (filter `none` unless `offer` says), connect and start sending at `fps`. */
  static async connect(baseUrl: string, opts: { width?: number; height?: number; fps?: number; offer?: Record<string, unknown> } = {}): Promise<StampedPeer> {
    const width = opts.width ?? 320;
    const height = opts.height ?? 240;
    let peer: StampedPeer | null = null;
    const client = await NativeClient.create({
      onFrame: (f) => peer?.onFrame(f.data, f.width, f.height),
      onMessage: () => undefined,
      onConnectionState: () => undefined,
    }, { additionalHostAddresses: ['127.0.0.1'] });
    peer = new StampedPeer(client, width, height);
    try {
      const res = await fetch(`${baseUrl}/offer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sdp: client.offerSdp, type: 'offer', filter: 'none', ...opts.offer }),
      });
      const body = (await res.json()) as { sdp: string; sessionId: string };
      if (!res.ok) throw new Error(`offer refused: ${res.status} ${JSON.stringify(body)}`);
      peer.sessionId = body.sessionId;
      await client.accept(body.sdp);
    } catch (err) {
      client.close();
      throw err;
    }
    const fps = opts.fps ?? 30;
    peer.timer = setInterval(() => peer.sendFrame(), Math.round(1000 / fps));
    return peer;
  }

  private sendFrame(): void {
    const n = this.framesSent++;
    const data = this.video.render(n);
    writeStamp(data, this.width, this.height, { frameNumber: n, sendTimeMs: Date.now() });
    this.client.sendFrame({ width: this.width, height: this.height, data });
  }

  private onFrame(data: Uint8Array, width: number, height: number): void {
    const s = readStamp(data, width, height);
    if (!s) return;
    const now = Date.now();
    this.samples.push({ at: now, latencyMs: stampAgeMs(s.sendTimeMs, now) });
    if (this.samples.length > KEEP_SAMPLES) this.samples.shift();
  }

  /** The raw media paths (connected peers only). */
  get raw(): RawMediaPaths {
    const raw = this.client.rawPathsForTests;
    if (!raw) throw new Error('not connected');
    return raw;
  }

  /** Make the next frame a key frame (as an encoder restart or a PLI would). */
  requestKeyframe(): void {
    this.client.requestKeyframe();
  }

  /** RTP packets the client took in so far, retransmissions and duplicates included. */
  get receivedPackets(): number {
    return this.client.receiveCounters?.packets ?? 0;
  }

  /** Whether ICE and DTLS are up. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Rewrite every outgoing RTP packet from now on (null: send as they are). */
  setRewrite(rewrite: RtpRewrite | null): void {
    if (this.rewrite === null) this.raw.rewriteRtp((h, p) => (this.rewrite ? this.rewrite(h, p) : [[h, p]]));
    this.rewrite = rewrite;
  }

  /** Processed frames that arrived within [from, to). */
  samplesBetween(from: number, to: number): FrameSample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }

  /** p95 latency of the frames that arrived within [from, to), or null. */
  p95(from: number, to: number): number | null {
    const l = this.samplesBetween(from, to).map((s) => s.latencyMs);
    return l.length === 0 ? null : percentile(l, 95);
  }

  /** Arrival time of the first frame sent at or after `t` (its stamp), or null. */
  firstFrameSentAfter(t: number): number | null {
    return this.samples.find((s) => s.at - s.latencyMs >= t)?.at ?? null;
  }

  /** Wait until a frame sent at or after `t` comes back; resolves with its arrival time, null after `timeoutMs`. */
  async waitForFrameSentAfter(t: number, timeoutMs: number): Promise<number | null> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const at = this.firstFrameSentAfter(t);
      if (at !== null) return at;
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.firstFrameSentAfter(t);
  }

  /** NACK the last `count` sequence numbers the server sent us, `times` times, one RTCP packet every `everyMs`. */
  async nackFlood(count: number, times: number, everyMs: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const last = this.raw.lastReceived();
      if (last) {
        const lost = Array.from({ length: count }, (_, k) => (last.sequenceNumber - k + 0x10000) & 0xffff);
        const nack = new GenericNack({ senderSsrc: this.raw.localSsrc(), mediaSourceSsrc: last.ssrc, lost });
        await this.raw.sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })]).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Ask for a key frame `times` times, one PLI every `everyMs`. */
  async pliFlood(times: number, everyMs: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const last = this.raw.lastReceived();
      if (last) {
        const pli = new PictureLossIndication({ senderSsrc: this.raw.localSsrc(), mediaSsrc: last.ssrc });
        await this.raw.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: pli }) as RtcpPacket]).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Stop sending and close (the server session ends with the data channel). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.client.close();
  }
}

/** Seeded loss, reordering and duplication of outgoing packets (the unlucky network). */
export function impairRewrite(seed: number, loss: number, reorder: number, duplicate: number): RtpRewrite {
  const rnd = mulberry32(seed);
  let held: [RtpHeader, Buffer] | null = null;
  return (h, p) => {
    if (rnd() < loss) return [];
    const out: Array<[RtpHeader, Buffer]> = [];
    if (held) {
      out.push([h, p], held);
      held = null;
    } else if (rnd() < reorder) {
      held = [h, p];
    } else {
      out.push([h, p]);
    }
    if (rnd() < duplicate) out.push([h, p]);
    return out;
  };
}
