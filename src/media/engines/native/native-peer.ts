/**
 * One client connection of the native engine: werift transport below, FFmpeg codecs and the
 * project's RTP processors in between, the session's PeerEvents above.
 *
 * Receive: RTP -> (test impairment) -> receive buffer (reorder window, NACK, give-up + PLI) ->
 * decode queue (bounded; one decode in flight) -> events.onFrame.
 * Send: sendFrame -> one SharedEncoder per output codec (one encode in flight, at most three
 * frames waiting, the oldest dropped past that) -> packetized once -> every RtpSendStream of that
 * codec: the client's own stream back (when its offer receives) and each WHEP viewer's
 * (native-viewer-peer.ts).
 */
import type { I420Frame, MediaPeer, PeerConnectionState, PeerEvents, PeerStats } from '../../engine.js';
import { SampleWindow } from '../../rolling-stats.js';
import type { BitrateBounds } from './congestion/bitrate-controller.js';
import type { FeedbackResult } from './stack-types.js';
import { claimedFrameSize } from './codecs/frame-size.js';
import { VideoDecoder } from './codecs/ffmpeg.js';
import { Impairment, type ImpairmentOptions } from './transport/impairment.js';
import type { SelectedCodec } from './stack-types.js';
import { ReceiveBuffer } from './receive/receive-buffer.js';
import type { IncomingRtp } from './stack-types.js';
import { RtpSendStream } from './send/rtp-send-stream.js';
import type { RtpDepacketizer } from './payload/codec-payload.js';
import { H264Depacketizer } from './payload/h264.js';
import { Vp8Depacketizer } from './payload/vp8.js';
import { encoderKey, SharedEncoder } from './send/shared-encoder.js';
import { countDrop } from './transport/packet-drops.js';
import type { WeriftTransport } from './transport/werift-transport.js';

/** Per-peer settings, from the engine options. */
export interface PeerSettings {
  bitrate: BitrateBounds;
  /** The most the client is asked to send (REMB), bits per pixel at 30 fps, within `bitrate`. */
  inputBitsPerPixel: number;
  keyframeIntervalMs: number;
  vp8CpuUsed: number;
  hardware: boolean;
  frameTimeoutMs: number;
  /** Frames whose header claims more pixels are dropped before the decoder sees them. */
  maxPixels: number;
  impairment: ImpairmentOptions | null;
}

/** The pixel limit when none is set: 3840x2160, as RTC_MAX_PIXELS's default. */
export const DEFAULT_MAX_PIXELS = 3840 * 2160;

/** Counters of one peer (for tests and logs): its receive path, its own stream back and that stream's encoder. */
export interface NativePeerCounters {
  framesDecoded: number;
  framesEncoded: number;
  /** Frames given to sendFrame that a newer one replaced before the encoder was free. */
  sendFramesReplaced: number;
  /** Compressed frames dropped because the decoder fell behind. */
  decodeQueueDrops: number;
  /** Frames dropped undecoded because their header claimed more than maxPixels. */
  oversizeFrames: number;
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
  /** WHEP viewers attached over the peer's life. */
  viewersAttached: number;
  /** Times the client restarted its stream with a new SSRC. */
  streamRestarts: number;
}

const TICK_MS = 10;
/** Compressed frames waiting for the decoder (~330 ms at 30 fps): a stall of the thread pool costs latency that decodes away in milliseconds, where a drop costs a key frame round trip and a freeze. */
const DECODE_QUEUE_MAX = 10;
const PLI_MIN_INTERVAL_MS = 300;
/** How often the client is told the most it should send (REMB). */
const REMB_INTERVAL_MS = 1000;
/**
 * The REMB cap never goes below this: a libwebrtc client paces each frame out at 2.5x its target,
 * so a key frame takes 100+ ms at 150 kbit/s and the frames behind it queue (measured at 320x240:
 * a WHEP viewer's glass to glass p50 178 ms with a 150 kbit/s cap, 11 ms with 300).
 */
const INPUT_FLOOR_KBPS = 300;

/** Output codecs one session may encode at once (its own and its viewers'): VP8 and an H264 level or two. */
const MAX_ENCODERS = 3;

/** The publisher has as many encoders as it may run, and a viewer asked for yet another codec. */
export class EncoderLimitError extends Error {
  constructor() {
    super(`a session encodes at most ${MAX_ENCODERS} output codecs at once`);
    this.name = 'EncoderLimitError';
  }
}

/** The native engine's MediaPeer. */
export class NativePeer implements MediaPeer {
  private readonly receiveCounters = { framesDecoded: 0, decodeQueueDrops: 0, oversizeFrames: 0, decodeErrors: 0, plisSent: 0, viewersAttached: 0, streamRestarts: 0 };
  readonly buffer: ReceiveBuffer;
  private readonly impairment: Impairment<IncomingRtp> | null;
  private readonly depacketizer: RtpDepacketizer;
  /** The stream back to this client (used only when its offer receives video). */
  private readonly ownStream: RtpSendStream;
  /** Output encoders by encoderKey: the client's own codec and each codec its viewers take. */
  private readonly encoders = new Map<string, SharedEncoder>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private state: PeerConnectionState = 'new';
  private rttMs: number | null = null;
  private lastRttPoll = 0;
  private lastPli = -Infinity;
  private lastRemb = -Infinity;
  /** Pixels of the client's last decoded frame (0 before the first). */
  private inputPixels = 0;

  private decoder: VideoDecoder | null = null;
  private decoding = false;
  private readonly decodeQueue: Array<{ data: Buffer; keyframe: boolean }> = [];
  private readonly decodeMs = new SampleWindow(64);

  constructor(
    private readonly transport: WeriftTransport,
    readonly codec: SelectedCodec,
    private readonly events: PeerEvents,
    private readonly settings: PeerSettings,
    private readonly log: ((level: 'info', msg: string, extra: Record<string, unknown>) => void) | null = null,
  ) {
    this.depacketizer = codec.name === 'VP8' ? new Vp8Depacketizer() : new H264Depacketizer();
    this.buffer = new ReceiveBuffer(this.depacketizer, {
      frameTimeoutMs: settings.frameTimeoutMs,
      nackRetryMs: () => Math.max(10, Math.min(100, (this.rttMs ?? 10) * 1.5)),
    });
    this.impairment = settings.impairment ? new Impairment<IncomingRtp>(settings.impairment) : null;
    this.ownStream = new RtpSendStream(transport, settings.bitrate);
    // A sendonly offer (a WHIP publisher such as OBS) gets nothing back: no stream, no encode.
    if (transport.sends) this.encoderFor(codec).addStream(this.ownStream);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    VideoDecoder.open(codec.name, settings.hardware).then((d) => {
      if (this.closed) d.close();
      else this.decoder = d;
      this.pumpDecode();
    }, () => {
      this.receiveCounters.decodeErrors++;
    });
  }

  /** Receive, own-stream and own-encoder counters together. */
  get counters(): NativePeerCounters {
    const s = this.ownStream.counters;
    const e = this.encoders.get(encoderKey(this.codec))?.counters;
    return {
      ...this.receiveCounters,
      framesEncoded: e?.framesEncoded ?? 0, sendFramesReplaced: e?.framesReplaced ?? 0, encodeErrors: e?.encodeErrors ?? 0,
      encoderReopens: e?.encoderReopens ?? 0, keyframeRequestsReceived: s.keyframeRequestsReceived, rtpPacketsSent: s.rtpPacketsSent,
      rembReceived: s.rembReceived, receiverReports: s.receiverReports, transportFeedback: s.transportFeedback,
    };
  }

  private encoderFor(codec: SelectedCodec): SharedEncoder {
    const key = encoderKey(codec);
    let enc = this.encoders.get(key);
    if (!enc) {
      if (this.encoders.size >= MAX_ENCODERS) throw new EncoderLimitError();
      enc = new SharedEncoder(codec, this.settings, this.settings.bitrate.startKbps);
      this.encoders.set(key, enc);
    }
    return enc;
  }

  /** The encoder keys this session runs now (a viewer that offers one of them shares its encode). */
  get encoderKeys(): string[] {
    return [...this.encoders.keys()];
  }

  /**
   * Feed a viewer's send stream with this session's output in `codec`, sharing the encoder other
   * streams of that codec use. Returns the encoder (for the viewer's stats). Throws
   * EncoderLimitError when the codec would need an encoder beyond the limit.
   */
  attachStream(codec: SelectedCodec, stream: RtpSendStream): SharedEncoder {
    if (this.closed) throw new Error('the session has ended');
    const enc = this.encoderFor(codec);
    enc.addStream(stream);
    this.receiveCounters.viewersAttached++;
    return enc;
  }

  /** Stop feeding a viewer's stream; an encoder no stream takes any more is closed. */
  detachStream(stream: RtpSendStream): void {
    for (const [key, enc] of this.encoders) {
      enc.removeStream(stream);
      if (enc.streamCount === 0) {
        enc.close();
        this.encoders.delete(key);
      }
    }
  }

  /**
   * The most the client is asked to send (REMB), kbit/s: `inputBitsPerPixel` of its picture at
   * 30 fps, within the bitrate bounds. With exact transport-cc feedback a libwebrtc client climbs
   * to 1-2.5 Mbit/s at 360p; every packet costs the server JavaScript SRTP and RTP work and the
   * decoder more bits, for an input no better than needed by the output it is encoded into.
   */
  get inputCapKbps(): number {
    const { minKbps, maxKbps } = this.settings.bitrate;
    const floor = Math.min(maxKbps, Math.max(minKbps, INPUT_FLOOR_KBPS));
    return Math.round(Math.min(maxKbps, Math.max(floor, (this.inputPixels * 30 * this.settings.inputBitsPerPixel) / 1000)));
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
    if (state === 'connected' && this.state !== 'connected') this.ownStream.connected();
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

  /** From the transport: the client restarted its stream (new SSRC): a new sequence space, and a key frame first. */
  onStreamRestart(): void {
    if (this.closed) return;
    this.buffer.restart(performance.now());
    this.receiveCounters.streamRestarts++;
  }

  /** From the transport: PLI or FIR. */
  onKeyframeRequest(): void {
    this.ownStream.requestKeyframe();
  }

  /** From the transport: REMB. */
  onRemb(bps: number): void {
    this.ownStream.onRemb(bps);
  }

  /** From the transport: transport-cc feedback on our packets. */
  onTransportFeedback(results: FeedbackResult[]): void {
    if (this.closed) return;
    this.ownStream.onTransportFeedback(results, performance.now());
  }

  /** From the transport: the client's report on our stream. */
  onReceiverReport(fractionLost: number): void {
    this.ownStream.onReceiverReport(fractionLost);
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
    for (const enc of this.encoders.values()) enc.tick(now);
    if (this.inputPixels > 0 && now - this.lastRemb >= REMB_INTERVAL_MS) {
      this.lastRemb = now;
      this.transport.sendRemb(this.inputCapKbps * 1000);
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
    this.receiveCounters.plisSent++;
    this.transport.sendPli();
  }

  private enqueueDecode(frame: { data: Buffer; keyframe: boolean }): void {
    if (frame.keyframe) {
      const size = claimedFrameSize(this.codec.name, frame.data);
      if (size && size.width * size.height > this.settings.maxPixels) {
        // a decoder allocates for what the header says: never let it see this one
        this.receiveCounters.oversizeFrames++;
        countDrop('frame-oversize');
        this.buffer.requestKeyframe(performance.now());
        // an SPS this reader cannot read is dropped as well, but says no size to report
        if (Number.isFinite(size.width) && Number.isFinite(size.height)) this.events.onOversizeFrame?.(size.width, size.height);
        return;
      }
      this.decodeQueue.length = 0; // nothing before a key frame is needed
    }
    if (this.decodeQueue.length >= DECODE_QUEUE_MAX) {
      this.receiveCounters.decodeQueueDrops += this.decodeQueue.length + 1;
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
        this.receiveCounters.framesDecoded++;
        this.inputPixels = f.width * f.height;
        this.events.onFrame(f);
      }
    }, () => {
      this.receiveCounters.decodeErrors++;
      this.decodeQueue.length = 0;
      this.buffer.requestKeyframe(performance.now());
    }).finally(() => {
      this.decoding = false;
      if (this.closed) decoder.close();
      else this.pumpDecode();
    });
  }

  /** Encode the processed frame once per output codec that some stream takes, and send it. */
  sendFrame(frame: I420Frame): void {
    if (this.closed) return;
    for (const enc of this.encoders.values()) enc.offer(frame);
  }

  /** Media statistics for /sessions and the data channel (the send side: the client's own stream, else the first viewer codec). */
  async stats(): Promise<PeerStats> {
    const enc = this.encoders.get(encoderKey(this.codec)) ?? this.encoders.values().next().value ?? null;
    return {
      codec: `video/${this.codec.name}`,
      encoder: enc?.encoderName ?? null,
      decoder: this.decoder?.name ?? null,
      rttMs: this.rttMs === null ? null : Math.round(this.rttMs * 100) / 100,
      lossRatio: this.buffer.lossRatio,
      sendBitrateKbps: enc ? enc.sendBitrateKbps : null,
      encodeMs: enc?.medianEncodeMs ?? null,
      decodeMs: this.decodeMs.percentile(50, 2),
    };
  }

  /** A trickled remote ICE candidate (WHIP PATCH). */
  addRemoteCandidate(candidate: string, mid: string | null): Promise<void> {
    return this.closed ? Promise.resolve() : this.transport.addRemoteCandidate(candidate, mid);
  }

  /** Release transport and codecs (codecs after their in-flight call), and stop feeding viewers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.transport.close();
    this.decodeQueue.length = 0;
    if (!this.decoding) this.decoder?.close();
    const counters = this.counters;
    const encoders = [...this.encoders.values()].map((e) => ({ codec: e.key, streams: e.streamCount, ...e.counters, encodeMs: e.medianEncodeMs }));
    for (const enc of this.encoders.values()) enc.close();
    this.encoders.clear();
    this.log?.('info', 'native peer closed', {
      codec: this.codec.name, peer: counters, stream: { ...this.ownStream.counters }, receive: { ...this.buffer.counters },
      encoders, decodeMs: this.decodeMs.percentile(50, 2),
    });
  }
}
