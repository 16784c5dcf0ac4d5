/**
 * One client connection of the native engine: werift transport below, FFmpeg codecs and the
 * project's RTP processors in between, the session's PeerEvents above.
 *
 * Receive: RTP -> (test impairment) -> receive buffer (reorder window, NACK, give-up + PLI) ->
 * decode queue (bounded; one decode in flight) -> events.onFrame.
 * Send: sendFrame -> latest-frame slot (one encode in flight; a newer frame replaces a waiting
 * one, counted) -> encoder -> packetizer -> RTP with playout-delay 0.
 */
import type { I420Frame, MediaPeer, PeerConnectionState, PeerEvents, PeerStats } from '../../engine.js';
import { BitrateController, type BitrateBounds } from './bitrate-controller.js';
import { DelayBasedEstimator, type FeedbackResult } from './delay-estimator.js';
import { VIDEO_CLOCK_HZ, VideoDecoder, VideoEncoder } from './ffmpeg.js';
import { Impairment, type ImpairmentOptions } from './impairment.js';
import type { SelectedCodec } from './offer-codecs.js';
import { ReceiveBuffer, type IncomingRtp } from './receive-buffer.js';
import type { RtpDepacketizer, RtpPacketizer } from './rtp/codec-payload.js';
import { H264Depacketizer, H264Packetizer } from './rtp/h264.js';
import { Vp8Depacketizer, Vp8Packetizer } from './rtp/vp8.js';
import type { WeriftTransport } from './werift.js';

/** Per-peer settings, from the engine options. */
export interface PeerSettings {
  bitrate: BitrateBounds;
  keyframeIntervalMs: number;
  vp8CpuUsed: number;
  hardware: boolean;
  frameTimeoutMs: number;
  impairment: ImpairmentOptions | null;
}

/** Counters of one peer (for tests and logs). */
export interface NativePeerCounters {
  framesDecoded: number;
  framesEncoded: number;
  /** Frames given to sendFrame that a newer one replaced before the encoder was free. */
  sendFramesReplaced: number;
  /** Compressed frames dropped because the decoder fell behind. */
  decodeQueueDrops: number;
  decodeErrors: number;
  encodeErrors: number;
  keyframeRequestsReceived: number;
  plisSent: number;
  rtpPacketsSent: number;
  encoderReopens: number;
  /** REMB messages and receiver reports on our stream received from the client. */
  rembReceived: number;
  receiverReports: number;
  transportFeedback: number;
}

const TICK_MS = 10;
/** Compressed frames waiting for the decoder (~330 ms at 30 fps): a stall of the thread pool costs latency that decodes away in milliseconds, where a drop costs a key frame round trip and a freeze. */
const DECODE_QUEUE_MAX = 10;
const PLI_MIN_INTERVAL_MS = 300;
const KEYFRAME_ANSWER_MIN_INTERVAL_MS = 200;
const TIMING_SAMPLES = 64;

/** 0.15 bit per pixel at 30 fps: more buys no visible quality in real-time VP8/H264 and only costs the client decode time. */
function pixelRateCapKbps(frame: { width: number; height: number }): number {
  return Math.max(100, (frame.width * frame.height * 30 * 0.15) / 1000);
}

/** Median of a bounded sample ring. */
class Median {
  private readonly values: number[] = [];
  add(v: number): void {
    this.values.push(v);
    if (this.values.length > TIMING_SAMPLES) this.values.shift();
  }
  get value(): number | null {
    if (this.values.length === 0) return null;
    const s = [...this.values].sort((a, b) => a - b);
    return Math.round(s[s.length >> 1]! * 100) / 100;
  }
}

/** The native engine's MediaPeer. */
export class NativePeer implements MediaPeer {
  readonly counters: NativePeerCounters = {
    framesDecoded: 0, framesEncoded: 0, sendFramesReplaced: 0, decodeQueueDrops: 0, decodeErrors: 0, encodeErrors: 0,
    keyframeRequestsReceived: 0, plisSent: 0, rtpPacketsSent: 0, encoderReopens: 0, rembReceived: 0, receiverReports: 0, transportFeedback: 0,
  };
  readonly buffer: ReceiveBuffer;
  private readonly impairment: Impairment<IncomingRtp> | null;
  private readonly depacketizer: RtpDepacketizer;
  private readonly packetizer: RtpPacketizer;
  private readonly bitrate: BitrateController;
  /** Present when transport-cc is negotiated. */
  private readonly delayEstimator: DelayBasedEstimator | null;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private state: PeerConnectionState = 'new';
  private rttMs: number | null = null;
  private lastRttPoll = 0;
  private lastPli = -Infinity;

  private decoder: VideoDecoder | null = null;
  private decoding = false;
  private readonly decodeQueue: Array<{ data: Buffer; keyframe: boolean }> = [];
  private readonly decodeMs = new Median();

  private encoder: VideoEncoder | null = null;
  private encoding = false;
  private pending: I420Frame | null = null;
  private spare: Uint8Array | null = null;
  private forceKeyframe = false;
  private lastKeyframeAnswer = -Infinity;
  private lastKeyframeSent = -Infinity;
  private reopenKbps: number | null = null;
  private readonly encodeMs = new Median();
  private sequenceNumber = Math.floor(Math.random() * 0x10000);
  private readonly timestampBase = Math.floor(Math.random() * 0x100000000);
  private readonly clockStart = performance.now();

  constructor(
    private readonly transport: WeriftTransport,
    readonly codec: SelectedCodec,
    private readonly events: PeerEvents,
    private readonly settings: PeerSettings,
    private readonly log: ((level: 'info', msg: string, extra: Record<string, unknown>) => void) | null = null,
  ) {
    this.depacketizer = codec.name === 'VP8' ? new Vp8Depacketizer() : new H264Depacketizer();
    this.packetizer = codec.name === 'VP8' ? new Vp8Packetizer() : new H264Packetizer();
    this.buffer = new ReceiveBuffer(this.depacketizer, {
      frameTimeoutMs: settings.frameTimeoutMs,
      nackRetryMs: () => Math.max(10, Math.min(100, (this.rttMs ?? 10) * 1.5)),
    });
    this.impairment = settings.impairment ? new Impairment<IncomingRtp>(settings.impairment) : null;
    this.bitrate = new BitrateController(settings.bitrate, false);
    this.delayEstimator = transport.transportCc
      ? new DelayBasedEstimator(settings.bitrate.startKbps, settings.bitrate.minKbps, settings.bitrate.maxKbps)
      : null;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    VideoDecoder.open(codec.name, settings.hardware).then((d) => {
      if (this.closed) d.close();
      else this.decoder = d;
      this.pumpDecode();
    }, () => {
      this.counters.decodeErrors++;
    });
  }

  /** The transport (tests read werift's retransmission and send-impairment counters). */
  get transportForTests(): WeriftTransport {
    return this.transport;
  }

  /** Impairment counters, when the test hook is on. */
  get impairmentCounters(): Impairment<IncomingRtp>['counters'] | null {
    return this.impairment?.counters ?? null;
  }

  get connectionState(): PeerConnectionState {
    return this.closed ? 'closed' : this.state;
  }

  /** From the transport: connection state changes. */
  onConnectionState(state: PeerConnectionState): void {
    if (this.closed) return;
    this.state = state;
    this.events.onConnectionState(state);
  }

  /** From the transport: one incoming RTP packet of the client's video. */
  onRtp(packet: IncomingRtp): void {
    if (this.closed) return;
    if (this.impairment) {
      for (const p of this.impairment.apply(packet)) this.receive(p);
    } else {
      this.receive(packet);
    }
  }

  /** From the transport: PLI or FIR. */
  onKeyframeRequest(): void {
    this.counters.keyframeRequestsReceived++;
    this.forceKeyframe = true;
  }

  /** From the transport: REMB. */
  onRemb(bps: number): void {
    this.counters.rembReceived++;
    this.bitrate.onRemb(bps);
  }

  /** From the transport: transport-cc feedback on our packets. */
  onTransportFeedback(results: FeedbackResult[]): void {
    if (!this.delayEstimator || this.closed) return;
    this.counters.transportFeedback++;
    this.bitrate.onDelayEstimate(this.delayEstimator.onFeedback(results, performance.now()));
  }

  /** From the transport: the client's report on our stream. */
  onReceiverReport(fractionLost: number): void {
    this.counters.receiverReports++;
    this.bitrate.onReceiverReport(fractionLost);
  }

  private receive(packet: IncomingRtp): void {
    const now = performance.now();
    const out = this.buffer.push(packet, now);
    if (out.nack.length > 0) this.transport.sendNack(out.nack);
    for (const f of out.frames) this.enqueueDecode(f);
    this.maybePli(now);
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    const out = this.buffer.poll(now);
    if (out.nack.length > 0) this.transport.sendNack(out.nack);
    for (const f of out.frames) this.enqueueDecode(f);
    this.maybePli(now);
    const kbps = this.bitrate.decide(now);
    if (kbps !== null) {
      if (this.encoder?.liveBitrate) this.encoder.setBitrate(Math.min(kbps, pixelRateCapKbps(this.encoder)));
      else this.reopenKbps = kbps;
    }
    if (now - this.lastRttPoll > 1000) {
      this.lastRttPoll = now;
      this.transport.rttMs().then((rtt) => { if (rtt !== null) this.rttMs = rtt; }, () => undefined);
    }
  }

  private maybePli(now: number): void {
    // a key frame normally completes within a few ms of its first packet: ask only after a grace
    if (!this.buffer.waitingForKeyframe || this.buffer.lossRatio === null) return;
    if (now - this.buffer.waitingSince < 20 || now - this.lastPli < PLI_MIN_INTERVAL_MS) return;
    this.lastPli = now;
    this.counters.plisSent++;
    this.transport.sendPli();
  }

  private enqueueDecode(frame: { data: Buffer; keyframe: boolean }): void {
    if (frame.keyframe) this.decodeQueue.length = 0; // nothing before a key frame is needed
    if (this.decodeQueue.length >= DECODE_QUEUE_MAX) {
      this.counters.decodeQueueDrops += this.decodeQueue.length + 1;
      this.decodeQueue.length = 0;
      this.buffer.requestKeyframe(performance.now());
      return;
    }
    this.decodeQueue.push(frame);
    this.pumpDecode();
  }

  private pumpDecode(): void {
    if (this.decoding || this.closed || !this.decoder) return;
    const next = this.decodeQueue.shift();
    if (!next) return;
    this.decoding = true;
    const decoder = this.decoder;
    const t0 = performance.now();
    decoder.decode(next.data).then((frames) => {
      this.decodeMs.add(performance.now() - t0);
      if (this.closed) return;
      for (const f of frames) {
        this.counters.framesDecoded++;
        this.events.onFrame(f);
      }
    }, () => {
      this.counters.decodeErrors++;
      this.decodeQueue.length = 0;
      this.buffer.requestKeyframe(performance.now());
    }).finally(() => {
      this.decoding = false;
      if (this.closed) decoder.close();
      else this.pumpDecode();
    });
  }

  /** Encode and send a processed frame; the newest frame wins while the encoder is busy. */
  sendFrame(frame: I420Frame): void {
    if (this.closed) return;
    if (this.pending) this.counters.sendFramesReplaced++;
    const bytes = frame.data.byteLength;
    let copy = this.pending && this.pending.data.byteLength === bytes ? this.pending.data : null;
    if (!copy && this.spare && this.spare.byteLength === bytes) copy = this.spare;
    copy ??= new Uint8Array(bytes);
    copy.set(frame.data);
    this.pending = { width: frame.width, height: frame.height, data: copy };
    this.pumpEncode();
  }

  private rtpTimestamp(now: number): number {
    return (this.timestampBase + Math.round(((now - this.clockStart) * VIDEO_CLOCK_HZ) / 1000)) >>> 0;
  }

  private pumpEncode(): void {
    if (this.encoding || this.closed || !this.pending) return;
    const frame = this.pending;
    this.pending = null;
    this.encoding = true;
    void this.encodeOne(frame).finally(() => {
      this.spare = frame.data;
      this.encoding = false;
      if (this.closed) this.encoder?.close();
      else this.pumpEncode();
    });
  }

  private async encodeOne(frame: I420Frame): Promise<void> {
    const now = performance.now();
    try {
      let enc = this.encoder;
      if (!enc || enc.width !== frame.width || enc.height !== frame.height || this.reopenKbps !== null) {
        if (enc) this.counters.encoderReopens++;
        enc?.close();
        this.encoder = null;
        const kbps = this.reopenKbps ?? this.bitrate.currentKbps;
        this.reopenKbps = null;
        enc = await VideoEncoder.open({
          codec: this.codec.name, width: frame.width, height: frame.height, bitrateKbps: Math.min(kbps, pixelRateCapKbps(frame)),
          keyframeInterval: Math.max(1, Math.round((this.settings.keyframeIntervalMs / 1000) * 30)),
          vp8CpuUsed: this.settings.vp8CpuUsed, hardware: this.settings.hardware,
          h264Level: this.codec.profileLevelId ? parseInt(this.codec.profileLevelId.slice(4, 6), 16) : null,
        });
        if (this.closed) {
          enc.close();
          return;
        }
        this.encoder = enc;
      }
      let keyframe = false;
      if (this.forceKeyframe && now - this.lastKeyframeAnswer >= KEYFRAME_ANSWER_MIN_INTERVAL_MS) {
        keyframe = true;
        this.forceKeyframe = false;
        this.lastKeyframeAnswer = now;
      }
      // the encoder counts its key frame interval in frames; bound it in time too, whatever the frame rate
      if (now - this.lastKeyframeSent >= this.settings.keyframeIntervalMs) keyframe = true;
      const ts = this.rtpTimestamp(now);
      const t0 = performance.now();
      const packets = await enc.encode(frame.data, Math.round(((now - this.clockStart) * VIDEO_CLOCK_HZ) / 1000), keyframe);
      this.encodeMs.add(performance.now() - t0);
      if (this.closed) return;
      for (const p of packets) {
        this.counters.framesEncoded++;
        if (p.keyframe) this.lastKeyframeSent = now;
        const payloads = this.packetizer.packetize(p.data, p.keyframe);
        payloads.forEach((payload, k) => {
          const twcc = this.transport.sendRtp(payload, this.sequenceNumber, ts, k === payloads.length - 1);
          // RTP header, extensions and SRTP tag on top of the payload: ~50 bytes
          if (twcc !== null) this.delayEstimator?.onPacketSent(twcc, payload.length + 50, performance.now());
          this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
          this.counters.rtpPacketsSent++;
        });
      }
    } catch {
      this.counters.encodeErrors++;
    }
  }

  /** Media statistics for /sessions and the data channel. */
  async stats(): Promise<PeerStats> {
    return {
      codec: `video/${this.codec.name}`,
      encoder: this.encoder?.name ?? null,
      decoder: this.decoder?.name ?? null,
      rttMs: this.rttMs === null ? null : Math.round(this.rttMs * 100) / 100,
      lossRatio: this.buffer.lossRatio,
      sendBitrateKbps: this.encoder ? Math.round(Math.min(this.bitrate.currentKbps, pixelRateCapKbps(this.encoder))) : this.bitrate.currentKbps,
      encodeMs: this.encodeMs.value,
      decodeMs: this.decodeMs.value,
    };
  }

  /** A trickled remote ICE candidate (WHIP PATCH). */
  addRemoteCandidate(candidate: string, mid: string | null): Promise<void> {
    return this.closed ? Promise.resolve() : this.transport.addRemoteCandidate(candidate, mid);
  }

  /** Release transport and codecs (codecs after their in-flight call). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.transport.close();
    this.decodeQueue.length = 0;
    this.pending = null;
    if (!this.decoding) this.decoder?.close();
    if (!this.encoding) this.encoder?.close();
    this.log?.('info', 'native peer closed', {
      codec: this.codec.name, peer: { ...this.counters }, receive: { ...this.buffer.counters },
      encodeMs: this.encodeMs.value, decodeMs: this.decodeMs.value,
    });
  }
}
