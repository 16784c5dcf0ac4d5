/**
 * One encoder for one session's processed output in one codec, sent to every stream that takes
 * that codec: the publisher's own stream back, and each WHEP viewer's. The frame is encoded and
 * packetized once; each RtpSendStream numbers and sends the payloads on its own transport.
 *
 * Rules:
 * - one encode in flight, up to ENCODE_QUEUE_MAX frames waiting behind it in order; past that the
 *   oldest waiting frame is dropped (counted), so the delay a busy encoder adds stays bounded;
 * - no stream, no encode (a sendonly WHIP publisher without viewers costs no encoder);
 * - a stream that joins or reconnects, or whose receiver sends PLI/FIR, gets a key frame (at most
 *   one per 200 ms, whoever asks), and it skips delta frames until then;
 * - the bitrate is the lowest of the streams' estimates: the weakest receiver sets it, as an SFU
 *   without simulcast does;
 * - a key frame at least every `keyframeIntervalMs`, whatever the frame rate.
 */
import type { I420Frame } from '../../../engine.js';
import { SampleWindow } from '../../../rolling-stats.js';
import { VIDEO_CLOCK_HZ, VideoEncoder } from '../codecs/ffmpeg.js';
import type { NativeCodecName, SelectedCodec } from '../stack-types.js';
import type { RtpSendStream } from './rtp-send-stream.js';
import type { RtpPacketizer } from '../payload/codec-payload.js';
import { H264Packetizer } from '../payload/h264.js';
import { Vp8Packetizer } from '../payload/vp8.js';

/** What the encoder needs from the engine options. */
export interface EncoderOptions {
  keyframeIntervalMs: number;
  vp8CpuUsed: number;
  hardware: boolean;
}

/** Counters of one shared encoder (for tests and logs). */
export interface SharedEncoderCounters {
  framesEncoded: number;
  /** Waiting frames dropped because ENCODE_QUEUE_MAX newer ones were already waiting. */
  framesReplaced: number;
  /** Frames offered while no stream took this codec (not encoded). */
  framesWithoutStreams: number;
  encodeErrors: number;
  encoderReopens: number;
  keyframesForced: number;
}

const KEYFRAME_ANSWER_MIN_INTERVAL_MS = 200;

/**
 * Frames that may wait for the encoder. Frames come out of the decoder in bursts when it catches
 * up after a stall, faster than one encode: with one waiting frame ("latest frame wins") each burst
 * dropped frames, 1.1-1.4 % of them at three 720p VP8 sessions on the 2-core box, with the encoder
 * well under its capacity. Three (100 ms at 30 fps) lost none in the same runs
 * (docs/measurements/2026-12-06-vp8-budget.md); an encoder that cannot keep up still drops.
 */
export const ENCODE_QUEUE_MAX = 3;

/** 0.15 bit per pixel at 30 fps: more buys no visible quality in real-time VP8/H264 and only costs the client decode time. */
export function pixelRateCapKbps(frame: { width: number; height: number }): number {
  return Math.max(100, (frame.width * frame.height * 30 * 0.15) / 1000);
}

/** The codec key streams share an encoder by: the codec, and for H264 the level (it bounds the encoder's frame size and rate). */
export function encoderKey(codec: SelectedCodec): string {
  return codec.name === 'H264' ? `H264/${codec.profileLevelId?.slice(4, 6) ?? '1f'}` : codec.name;
}

/** One encode of a session's output, fanned out to its send streams. */
export class SharedEncoder {
  readonly counters: SharedEncoderCounters = {
    framesEncoded: 0, framesReplaced: 0, framesWithoutStreams: 0, encodeErrors: 0, encoderReopens: 0, keyframesForced: 0,
  };
  readonly key: string;
  readonly codecName: NativeCodecName;
  private readonly streams = new Set<RtpSendStream>();
  private readonly packetizer: RtpPacketizer;
  private encoder: VideoEncoder | null = null;
  private encoding = false;
  private closed = false;
  /** Frames waiting for the encoder, oldest first (at most ENCODE_QUEUE_MAX). */
  private readonly waiting: I420Frame[] = [];
  /** Buffers of encoded or dropped frames, reused for the next ones (at most ENCODE_QUEUE_MAX + 1). */
  private readonly spares: Uint8Array[] = [];
  private forceKeyframe = false;
  private lastKeyframeAnswer = -Infinity;
  private lastKeyframeSent = -Infinity;
  /** The bitrate the encoder runs at (before the pixel-rate cap), kbit/s. */
  private kbps: number;
  /** Set when the bitrate changed and libvpx must reopen to take it. */
  private reopen = false;
  private readonly encodeMs = new SampleWindow(64);
  private readonly timestampBase = Math.floor(Math.random() * 0x100000000);
  private readonly clockStart = performance.now();

  constructor(private readonly codec: SelectedCodec, private readonly options: EncoderOptions, startKbps: number) {
    this.key = encoderKey(codec);
    this.codecName = codec.name;
    this.packetizer = codec.name === 'VP8' ? new Vp8Packetizer() : new H264Packetizer();
    this.kbps = startKbps;
  }

  /** Streams fed by this encoder. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** The encoder's name (libvpx, libx264, h264_nvenc), null before its first frame. */
  get encoderName(): string | null {
    return this.encoder?.name ?? null;
  }

  /** Median encode time over the last 64 frames, ms. */
  get medianEncodeMs(): number | null {
    return this.encodeMs.percentile(50, 2);
  }

  /** The bitrate the stream gets, kbit/s (the lowest estimate, capped by the pixel rate once the frame size is known). */
  get sendBitrateKbps(): number {
    return Math.round(this.encoder ? Math.min(this.kbps, pixelRateCapKbps(this.encoder)) : this.kbps);
  }

  /** Feed `stream` from now on; it gets a key frame first. */
  addStream(stream: RtpSendStream): void {
    if (this.closed) return;
    this.streams.add(stream);
    stream.onKeyframeNeeded = () => this.requestKeyframe();
    // A stream still connecting asks when it is up (connected()): a key frame now would be
    // dropped, and would hold the next one back by the 200 ms rate limit.
    if (stream.ready) this.requestKeyframe();
    this.followBitrate();
  }

  /** Stop feeding `stream`. */
  removeStream(stream: RtpSendStream): void {
    if (!this.streams.delete(stream)) return;
    stream.onKeyframeNeeded = null;
    this.followBitrate();
  }

  /** Ask for a key frame on the next encode (rate-limited where the encode happens). */
  requestKeyframe(): void {
    this.forceKeyframe = true;
  }

  /** Let every stream's bitrate controller decide, then run at the lowest. Call every few ms. */
  tick(now: number): void {
    for (const s of this.streams) s.bitrate.decide(now);
    this.followBitrate();
  }

  private followBitrate(): void {
    if (this.streams.size === 0) return;
    let lowest = Infinity;
    for (const s of this.streams) lowest = Math.min(lowest, s.bitrate.currentKbps);
    if (lowest === this.kbps) return;
    this.kbps = lowest;
    if (this.encoder?.liveBitrate) this.encoder.setBitrate(Math.min(lowest, pixelRateCapKbps(this.encoder)));
    else this.reopen = true;
  }

  /** Encode and send a processed frame when a stream takes it; while the encoder is busy it waits (the oldest is dropped past ENCODE_QUEUE_MAX). */
  offer(frame: I420Frame): void {
    if (this.closed) return;
    if (this.streams.size === 0) {
      this.counters.framesWithoutStreams++;
      return;
    }
    if (this.waiting.length >= ENCODE_QUEUE_MAX) {
      this.release(this.waiting.shift()!.data);
      this.counters.framesReplaced++;
    }
    const bytes = frame.data.byteLength;
    const i = this.spares.findIndex((b) => b.byteLength === bytes);
    const copy = i >= 0 ? this.spares.splice(i, 1)[0]! : new Uint8Array(bytes);
    copy.set(frame.data);
    this.waiting.push({ width: frame.width, height: frame.height, data: copy });
    this.pump();
  }

  /** Keep a frame's buffer for reuse (bounded: one per frame that can be waiting or encoding). */
  private release(buffer: Uint8Array): void {
    if (this.spares.length <= ENCODE_QUEUE_MAX) this.spares.push(buffer);
  }

  private pump(): void {
    if (this.encoding || this.closed) return;
    const frame = this.waiting.shift();
    if (!frame) return;
    this.encoding = true;
    void this.encodeOne(frame).finally(() => {
      this.release(frame.data);
      this.encoding = false;
      if (this.closed) this.encoder?.close();
      else this.pump();
    });
  }

  private async encodeOne(frame: I420Frame): Promise<void> {
    const now = performance.now();
    try {
      let enc = this.encoder;
      if (!enc || enc.width !== frame.width || enc.height !== frame.height || this.reopen) {
        if (enc) this.counters.encoderReopens++;
        enc?.close();
        this.encoder = null;
        this.reopen = false;
        enc = await VideoEncoder.open({
          codec: this.codec.name, width: frame.width, height: frame.height, bitrateKbps: Math.min(this.kbps, pixelRateCapKbps(frame)),
          keyframeInterval: Math.max(1, Math.round((this.options.keyframeIntervalMs / 1000) * 30)),
          vp8CpuUsed: this.options.vp8CpuUsed, hardware: this.options.hardware,
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
        this.counters.keyframesForced++;
      }
      // the encoder counts its key frame interval in frames; bound it in time too, whatever the frame rate
      if (now - this.lastKeyframeSent >= this.options.keyframeIntervalMs) keyframe = true;
      const elapsed = Math.round(((now - this.clockStart) * VIDEO_CLOCK_HZ) / 1000);
      const ts = (this.timestampBase + elapsed) >>> 0;
      const t0 = performance.now();
      const packets = await enc.encode(frame.data, elapsed, keyframe);
      const sentAt = performance.now();
      this.encodeMs.add(sentAt - t0);
      if (this.closed) return;
      for (const p of packets) {
        this.counters.framesEncoded++;
        if (p.keyframe) this.lastKeyframeSent = now;
        const payloads = this.packetizer.packetize(p.data, p.keyframe);
        for (const s of this.streams) s.sendFrame(payloads, ts, p.keyframe, sentAt);
      }
    } catch {
      this.counters.encodeErrors++;
    }
  }

  /** Stop encoding; the codec is freed after an encode in flight. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting.length = 0;
    for (const s of this.streams) s.onKeyframeNeeded = null;
    this.streams.clear();
    if (!this.encoding) this.encoder?.close();
  }
}
