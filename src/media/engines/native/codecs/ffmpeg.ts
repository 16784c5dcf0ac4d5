/**
 * The one typed door to FFmpeg (node-av): real-time VP8/H264 encoders and decoders for the native
 * engine. Nothing else in the project imports node-av. Every encode/decode goes through
 * node-av's async send, which runs the codec on libuv's thread pool, so the event loop never
 * waits for a frame; software codecs' results are then taken synchronously (receivesInSend). Hardware codecs (NVENC encode, NVDEC/cuvid decode) are used only when a
 * CUDA device is present and the codec opens on it; otherwise software (libvpx, libx264, FFmpeg's
 * native vp8/h264 decoders).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  AVCOL_PRI_SMPTE170M, AVCOL_RANGE_MPEG, AVCOL_SPC_SMPTE170M, AVCOL_TRC_SMPTE170M, AV_CODEC_FLAG_LOW_DELAY, AV_LOG_QUIET, AV_PICTURE_TYPE_I, AV_PICTURE_TYPE_NONE, AV_PIX_FMT_NV12, AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P,
  Codec, CodecContext, Dictionary, FF_DECODER_H264, FF_DECODER_H264_CUVID, FF_DECODER_VP8, FF_DECODER_VP8_CUVID,
  FF_ENCODER_H264_NVENC, FF_ENCODER_LIBVPX_VP8, FF_ENCODER_LIBX264, Frame, Log, Packet, Rational,
  type FFDecoderCodec, type FFEncoderCodec,
} from 'node-av';
import type { I420Frame } from '../../../engine.js';
import { MEDIA_SETTINGS } from '../../../media-settings.js';
import type { NativeCodecName } from '../stack-types.js';

// FFmpeg logs to stderr from native threads; the engine reports through its own counters.
Log.setLevel(AV_LOG_QUIET);

/** RTP video clock. */
export const VIDEO_CLOCK_HZ = 90000;

/** One encoded frame as the packetizer takes it (VP8 frame, or H264 Annex B access unit). */
export interface EncodedFrame {
  data: Buffer;
  keyframe: boolean;
}

export interface EncoderSettings {
  codec: NativeCodecName;
  width: number;
  height: number;
  bitrateKbps: number;
  /** Frames between forced key frames. */
  keyframeInterval: number;
  /** libvpx cpu-used (-16..16; negative: a fixed speed, positive: libvpx picks it from the time left; 0: by frame size, see vp8CpuUsedFor). */
  vp8CpuUsed: number;
  /** H264 level_idc from the offer's profile-level-id (e.g. 31 for 3.1); null: the encoder's choice. */
  h264Level: number | null;
  /** Allow NVENC when a CUDA device is present. */
  hardware: boolean;
  /** Encoder threads (default: encoderThreads); the benchmarks compare counts with it. */
  threads?: number;
}

/** Whether this process sees a CUDA device (NVIDIA driver nodes); probed once, never throws. */
let cudaPresent: boolean | null = null;
export function cudaDevicePresent(): boolean {
  if (cudaPresent === null) {
    try {
      cudaPresent = existsSync('/dev/nvidiactl') && existsSync('/proc/driver/nvidia/version');
    } catch {
      cudaPresent = false;
    }
  }
  return cudaPresent;
}

/** Encoders known not to open here (e.g. NVENC on an H200); remembered so each session does not retry. */
const failedCodecs = new Set<string>();

/** 1920x1080: libvpx's VP8 encoder gets a second thread only past this many pixels. */
const VP8_PIXELS_PER_THREAD = 1920 * 1080;

/**
 * Encoder threads. x264: one per 640x480 worth of pixels, at most the cores and 4 (its threads
 * cost nothing extra: 720p 5.1 ms of CPU a frame with 1 or 2). libvpx VP8: one up to 1080p,
 * because its threads wait for each other by spinning: at 720p on the 2-core machine two threads
 * cost 14.5-15.1 ms of CPU a frame at 32.7 dB PSNR, one thread 7.1-8.3 ms at 36.8-38.3 dB
 * (docs/measurements/2026-12-06-native-cost-threads.md). Sessions give the parallelism.
 */
export function encoderThreads(codec: NativeCodecName, width: number, height: number, cores = availableParallelism()): number {
  const pixels = width * height;
  const perThread = codec === 'VP8' ? VP8_PIXELS_PER_THREAD : 640 * 480;
  return Math.max(1, Math.min(cores, 4, Math.ceil(pixels / perThread)));
}

/**
 * libvpx's cpu-used for a frame size when the setting is 0 (its default). A positive cpu-used c
 * gives libvpx a budget of (16 - c)/16 of the frame interval and it picks the speed that fits:
 * 15 (2.1 ms) up to 640x480, 13 (6.3 ms) up to 1280x720, 12 (8.3 ms) above. Measured on the
 * 2-core VM: 360p 2.4 ms a frame at 42.6 dB PSNR against 3.3 ms at 42.8 dB with 12; 720p 6.3 ms
 * at 42.2 dB against 8.6 ms at 42.4 dB; 14 at 720p fell to 35-37 dB
 * (docs/measurements/2026-12-06-vp8-budget.md).
 */
export function vp8CpuUsedFor(setting: number, width: number, height: number): number {
  if (setting !== 0) return setting;
  const pixels = width * height;
  if (pixels <= 640 * 480) return 15;
  return pixels <= 1280 * 720 ? 13 : 12;
}

function encoderCandidates(s: EncoderSettings): Array<{ name: FFEncoderCodec; options: Record<string, string> }> {
  const threads = s.threads ?? encoderThreads(s.codec, s.width, s.height);
  if (s.codec === 'VP8') {
    return [{
      name: FF_ENCODER_LIBVPX_VP8,
      options: {
        deadline: 'realtime', 'cpu-used': String(vp8CpuUsedFor(s.vp8CpuUsed, s.width, s.height)), 'lag-in-frames': '0', 'error-resilient': '1',
        'auto-alt-ref': '0', 'static-thresh': '0', 'max-intra-rate': '300', 'noise-sensitivity': '0',
        threads: String(threads),
      },
    }];
  }
  const list: Array<{ name: FFEncoderCodec; options: Record<string, string> }> = [];
  if (s.hardware && cudaDevicePresent()) {
    list.push({
      name: FF_ENCODER_H264_NVENC,
      options: { preset: 'p1', tune: 'ull', zerolatency: '1', rc: 'cbr', delay: '0', profile: 'baseline', 'forced-idr': '1' },
    });
  }
  list.push({
    name: FF_ENCODER_LIBX264,
    // x264's baseline is constrained baseline (no FMO/ASO), which is what browsers offer
    options: { preset: 'ultrafast', tune: 'zerolatency', profile: 'baseline', threads: String(threads) },
  });
  return list;
}

/**
 * Whether the codec does its work inside avcodec_send_* (libvpx, libx264, FFmpeg's vp8 and h264
 * decoders without frame threads): then avcodec_receive_* only hands over what is ready, and a
 * synchronous call saves a thread-pool round trip (two per frame: the packet or frame, then
 * EAGAIN). Hardware codecs (NVENC, cuvid) may block in receive: they stay asynchronous.
 */
export function receivesInSend(codecName: string): boolean {
  return codecName === FF_ENCODER_LIBVPX_VP8 || codecName === FF_ENCODER_LIBX264 || codecName === FF_DECODER_VP8 || codecName === FF_DECODER_H264;
}

/** A real-time video encoder for I420 frames. One `encode` at a time (the caller keeps that rule). */
export class VideoEncoder {
  private readonly frame = new Frame();
  private readonly packet = new Packet();
  private closed = false;
  /** Software encoders finish the frame inside send (see receivesInSend). */
  private readonly syncReceive: boolean;

  private constructor(private readonly ctx: CodecContext, readonly name: string, readonly width: number, readonly height: number) {
    this.syncReceive = receivesInSend(name);
    this.frame.alloc();
    this.frame.width = width;
    this.frame.height = height;
    this.frame.format = AV_PIX_FMT_YUV420P;
    this.frame.getBuffer(0);
    this.packet.alloc();
  }

  /** Open the first encoder that works for these settings (hardware first when allowed). */
  static async open(s: EncoderSettings): Promise<VideoEncoder> {
    let lastError = 'no encoder';
    for (const c of encoderCandidates(s)) {
      if (failedCodecs.has(c.name)) continue;
      const codec = Codec.findEncoderByName(c.name);
      if (!codec) {
        failedCodecs.add(c.name);
        continue;
      }
      const ctx = new CodecContext();
      ctx.allocContext3(codec);
      ctx.width = s.width;
      ctx.height = s.height;
      ctx.pixelFormat = AV_PIX_FMT_YUV420P;
      ctx.timeBase = new Rational(1, VIDEO_CLOCK_HZ);
      ctx.framerate = new Rational(30, 1);
      ctx.gopSize = s.keyframeInterval;
      ctx.maxBFrames = 0;
      const bps = BigInt(Math.round(s.bitrateKbps * 1000));
      ctx.bitRate = bps;
      // VBV lets libx264 change its bitrate live; for libvpx it bounds the frame size burst
      ctx.rcMaxRate = bps;
      ctx.rcBufferSize = Math.round(s.bitrateKbps * 1000 * 0.5);
      ctx.qMin = 4;
      ctx.qMax = 56;
      if (s.codec === 'H264' && s.h264Level !== null) ctx.level = s.h264Level;
      // Say BT.601 limited range in the H264 VUI: it is what the I420 frames are (camera capture
      // and VP8 use it), and Chromium reads an H264 stream without colour info as BT.709
      // (measured: green 148 came back as 99)
      ctx.colorPrimaries = AVCOL_PRI_SMPTE170M;
      ctx.colorTrc = AVCOL_TRC_SMPTE170M;
      ctx.colorSpace = AVCOL_SPC_SMPTE170M;
      ctx.colorRange = AVCOL_RANGE_MPEG;
      const ret = await ctx.open2(codec, Dictionary.fromObject(c.options));
      if (ret < 0) {
        ctx.freeContext();
        if (c.name !== FF_ENCODER_LIBVPX_VP8 && c.name !== FF_ENCODER_LIBX264) failedCodecs.add(c.name);
        lastError = `${c.name} failed to open (${ret})`;
        continue;
      }
      return new VideoEncoder(ctx, c.name, s.width, s.height);
    }
    throw new Error(`cannot open a ${s.codec} encoder: ${lastError}`);
  }

  /** Whether `setBitrate` takes effect without reopening (libx264 and NVENC reconfigure live; libvpx does not). */
  get liveBitrate(): boolean {
    return this.name !== FF_ENCODER_LIBVPX_VP8;
  }

  /** Change the target bitrate (effective on the next frame where `liveBitrate`). */
  setBitrate(kbps: number): void {
    const bps = BigInt(Math.round(kbps * 1000));
    this.ctx.bitRate = bps;
    this.ctx.rcMaxRate = bps;
  }

  /** Encode one I420 frame of this encoder's size; returns the packets it produced (none while it buffers). */
  async encode(data: Uint8Array, pts: number, keyframe: boolean): Promise<EncodedFrame[]> {
    if (this.closed) return [];
    this.frame.makeWritable();
    this.frame.fromBuffer(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.frame.pts = BigInt(pts);
    this.frame.pictType = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    const sent = await this.ctx.sendFrame(this.frame);
    if (sent < 0) throw new Error(`${this.name}: sendFrame failed (${sent})`);
    const out: EncodedFrame[] = [];
    while (!this.closed && (this.syncReceive ? this.ctx.receivePacketSync(this.packet) : await this.ctx.receivePacket(this.packet)) >= 0) {
      const d = this.packet.data;
      if (d) out.push({ data: Buffer.from(d), keyframe: this.packet.isKeyframe });
      this.packet.unref();
    }
    return out;
  }

  /** Free the codec. Call only when no encode is in flight. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.freeContext();
    this.frame.free();
    this.packet.free();
  }
}

function decoderCandidates(codec: NativeCodecName, hardware: boolean): FFDecoderCodec[] {
  const hw = hardware && cudaDevicePresent();
  if (codec === 'VP8') return hw ? [FF_DECODER_VP8_CUVID, FF_DECODER_VP8] : [FF_DECODER_VP8];
  return hw ? [FF_DECODER_H264_CUVID, FF_DECODER_H264] : [FF_DECODER_H264];
}

/** A video decoder that hands out contiguous I420 frames. One `decode` at a time. */
export class VideoDecoder {
  private readonly frame = new Frame();
  private readonly packet = new Packet();
  private closed = false;
  /** Software decoders finish the frame inside send (see receivesInSend). */
  private readonly syncReceive: boolean;
  /** The decoded frames' buffers, reused from frame to frame (one per frame of a decode call: one in practice). */
  private readonly outputs: Uint8Array[] = [];

  private constructor(private readonly ctx: CodecContext, readonly name: string) {
    this.syncReceive = receivesInSend(name);
    this.frame.alloc();
    this.packet.alloc();
  }

  /** Open a decoder (cuvid first where allowed and present). */
  static async open(codec: NativeCodecName, hardware: boolean): Promise<VideoDecoder> {
    for (const name of decoderCandidates(codec, hardware)) {
      if (failedCodecs.has(name)) continue;
      const c = Codec.findDecoderByName(name);
      if (!c) {
        failedCodecs.add(name);
        continue;
      }
      const ctx = new CodecContext();
      ctx.allocContext3(c);
      // frame threading adds a frame of delay per thread; slice threads do not
      ctx.threadCount = 1;
      // cuvid holds up to 4 frames for display order unless told low delay (our streams have no
      // B-frames); the software decoders already hand each frame out at once (measured)
      if (name === FF_DECODER_VP8_CUVID || name === FF_DECODER_H264_CUVID) ctx.setFlags(AV_CODEC_FLAG_LOW_DELAY);
      const ret = await ctx.open2(c, null);
      if (ret < 0) {
        ctx.freeContext();
        if (name !== FF_DECODER_VP8 && name !== FF_DECODER_H264) failedCodecs.add(name);
        continue;
      }
      return new VideoDecoder(ctx, name);
    }
    throw new Error(`cannot open a ${codec} decoder`);
  }

  /**
   * Decode one frame's bitstream; returns the frames it produced (I420). Their `data` is this
   * decoder's own buffer, overwritten by the next `decode`: read or copy it before calling again.
   * Throws on a corrupt frame.
   */
  async decode(data: Buffer): Promise<I420Frame[]> {
    if (this.closed) return [];
    this.packet.data = data;
    const sent = await this.ctx.sendPacket(this.packet);
    this.packet.unref();
    if (sent < 0) throw new Error(`${this.name}: corrupt frame (${sent})`);
    const out: I420Frame[] = [];
    while (!this.closed && (this.syncReceive ? this.ctx.receiveFrameSync(this.frame) : await this.ctx.receiveFrame(this.frame)) >= 0) {
      const f = toI420(this.frame, this.outputs, out.length);
      this.frame.unref();
      if (f) out.push(f);
    }
    return out;
  }

  /** Free the codec. Call only when no decode is in flight. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.freeContext();
    this.frame.free();
    this.packet.free();
  }
}

/** The buffer `outputs[k]` at `size` bytes, made or remade when the frame size changed. */
function outputBuffer(outputs: Uint8Array[], k: number, size: number): Uint8Array {
  let b = outputs[k];
  if (!b || b.byteLength !== size) {
    b = new Uint8Array(size);
    outputs[k] = b;
  }
  return b;
}

/**
 * Contiguous I420 from a decoded frame, written into `outputs[k]` (yuv420p planes copied row by
 * row from FFmpeg's strided planes, which node-av's `data` views without copying; NV12 from cuvid
 * deinterleaved); null for other formats. No allocation per frame: `toBuffer` made a fresh
 * 345 kB buffer per 360p frame, and the garbage collector was a tenth of the main thread.
 */
function toI420(frame: Frame, outputs: Uint8Array[], k: number): I420Frame | null {
  const { width, height } = frame;
  const planes = frame.data;
  const stride = frame.linesize;
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  if (!planes) return null;
  if (frame.format === AV_PIX_FMT_YUV420P || frame.format === AV_PIX_FMT_YUVJ420P) {
    if (planes.length < 3) return null;
    const out = outputBuffer(outputs, k, width * height + 2 * cw * ch);
    let o = 0;
    const dims: Array<[number, number]> = [[width, height], [cw, ch], [cw, ch]];
    for (let p = 0; p < 3; p++) {
      const [w, h] = dims[p]!;
      const src = planes[p]!;
      const ls = stride[p]!;
      if (ls === w) {
        out.set(src.subarray(0, w * h), o);
        o += w * h;
      } else {
        for (let r = 0; r < h; r++, o += w) out.set(src.subarray(r * ls, r * ls + w), o);
      }
    }
    return { width, height, data: out };
  }
  if (frame.format === AV_PIX_FMT_NV12) {
    if (planes.length < 2) return null;
    const out = outputBuffer(outputs, k, width * height + 2 * cw * ch);
    const y = planes[0]!;
    const uv = planes[1]!;
    for (let r = 0; r < height; r++) out.set(y.subarray(r * stride[0]!, r * stride[0]! + width), r * width);
    let u = width * height;
    let v = u + cw * ch;
    for (let r = 0; r < ch; r++) {
      const row = r * stride[1]!;
      for (let c = 0; c < cw; c++) {
        out[u++] = uv[row + 2 * c]!;
        out[v++] = uv[row + 2 * c + 1]!;
      }
    }
    return { width, height, data: out };
  }
  return null;
}

/** Encoder and decoder names that actually open for a codec here. */
export interface CodecProbe {
  codec: NativeCodecName;
  encoder: string;
  decoder: string;
}

/** Open a small encoder and decoder of each codec once (hardware first when allowed), to report what runs. */
export async function probeCodecs(hardware: boolean): Promise<CodecProbe[]> {
  const out: CodecProbe[] = [];
  for (const codec of ['VP8', 'H264'] as const) {
    try {
      const enc = await VideoEncoder.open({ codec, width: 320, height: 240, bitrateKbps: 300, keyframeInterval: 30, vp8CpuUsed: MEDIA_SETTINGS.vp8CpuUsed.default, hardware, h264Level: null });
      const dec = await VideoDecoder.open(codec, hardware);
      out.push({ codec, encoder: enc.name, decoder: dec.name });
      enc.close();
      dec.close();
    } catch {
      // a codec that does not open is not offered
    }
  }
  return out;
}

/** The names software would use, without opening anything. */
export function softwareCodecNames(): CodecProbe[] {
  return [{ codec: 'VP8', encoder: FF_ENCODER_LIBVPX_VP8, decoder: FF_DECODER_VP8 }, { codec: 'H264', encoder: FF_ENCODER_LIBX264, decoder: FF_DECODER_H264 }];
}
