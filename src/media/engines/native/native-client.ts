/**
 * The native engine as a client (offerer), for the load generator: the same NativePeer the server
 * runs (encoder + packetizer out, receive buffer with NACK/PLI + decoder in), on a werift
 * transport that offers instead of answering. A client costs what a server peer costs, far less
 * than a libwebrtc client, so one test box drives more sessions.
 */
import type { ControlChannel, I420Frame, IceServer, PeerConnectionState, PeerStats } from '../../engine.js';
import { MEDIA_SETTINGS } from '../../media-settings.js';
import { DEFAULT_BITRATE, type BitrateBounds } from './congestion/bitrate-controller.js';
import { DEFAULT_MAX_PIXELS, NativePeer, type NativePeerCounters, type PeerSettings } from './native-peer.js';
import type { ReceiveCounters } from './receive/receive-buffer.js';
import { selectVideoCodec } from './codecs/offer-codecs.js';
import type { NativeCodecName } from './stack-types.js';
import type { RawMediaPaths } from './transport/transport-types.js';
import { makeOffer, type OfferedTransport } from './transport/werift-offerer.js';
import { defaultHostAddresses } from './transport/werift-peer-setup.js';

/** Callbacks of a native client; called on the event loop. */
export interface NativeClientEvents {
  /** A decoded frame of the server's video; `frame.data` is valid during the call only (the next frame is decoded into it). */
  onFrame(frame: I420Frame): void;
  /** A text message on the control data channel. */
  onMessage(data: string | ArrayBuffer): void;
  onConnectionState(state: PeerConnectionState): void;
}

/** Options of a native client (defaults: what a browser would do on a test box). */
export interface NativeClientOptions {
  iceServers?: IceServer[];
  iceGatheringTimeoutMs?: number;
  /** Default: loopback only when the machine has no other interface. */
  additionalHostAddresses?: string[];
  bitrate?: BitrateBounds;
  /**
   * The codec offered first (default VP8: VP8 alone; H264: H264 then VP8). The encoder follows
   * the answer, whatever was offered.
   */
  codec?: NativeCodecName;
  /** libvpx cpu-used of the client's encoder (default: the server's, media-settings.ts; 16 measured no clear saving on the client, see docs/load-generator.md). */
  vp8CpuUsed?: number;
}

/** Client-side peer settings: software codecs (a test box's GPU, if any, is not what is measured), the server's other defaults. */
function clientSettings(bitrate: BitrateBounds, vp8CpuUsed: number): PeerSettings {
  // 0.15 bit per pixel is the server's own cap on what it sends: the client's REMB does not lower it further
  return {
    bitrate, inputBitsPerPixel: 0.15, keyframeIntervalMs: MEDIA_SETTINGS.keyframeIntervalMs.default, vp8CpuUsed, hardware: false,
    frameTimeoutMs: MEDIA_SETTINGS.frameTimeoutMs.default, maxPixels: DEFAULT_MAX_PIXELS, impairment: null,
  };
}

/** One client connection: `create` makes the offer, `accept` applies the answer and starts the media. */
export class NativeClient {
  private peer: NativePeer | null = null;
  private channel: ControlChannel | null = null;
  private state: PeerConnectionState = 'new';
  private closed = false;

  private constructor(
    private readonly events: NativeClientEvents,
    private readonly options: NativeClientOptions,
    private offered: OfferedTransport | null = null,
  ) {}

  /** Gather and build the offer (sendrecv video in `options.codec` order + "control" data channel); read it from `offerSdp`. */
  static async create(events: NativeClientEvents, options: NativeClientOptions = {}): Promise<NativeClient> {
    const client = new NativeClient(events, options);
    client.offered = await makeOffer({
      iceServers: options.iceServers ?? [],
      codec: options.codec ?? 'VP8',
      iceGatheringTimeoutMs: options.iceGatheringTimeoutMs ?? 5000,
      additionalHostAddresses: options.additionalHostAddresses ?? defaultHostAddresses(),
      transportCc: true,
    }, {
      onRtp: (p) => client.peer?.onRtp(p),
      onKeyframeRequest: () => client.peer?.onKeyframeRequest(),
      onRemb: (bps) => client.peer?.onRemb(bps),
      onReceiverReport: (f) => client.peer?.onReceiverReport(f),
      onTransportFeedback: (r) => client.peer?.onTransportFeedback(r),
      onChannel: (ch) => client.attachChannel(ch),
      onConnectionState: (s) => client.onConnectionState(s),
      onStreamRestart: () => client.peer?.onStreamRestart(),
    });
    return client;
  }

  /** The offer SDP (all candidates). */
  get offerSdp(): string {
    if (!this.offered) throw new Error('no offer');
    return this.offered.sdp;
  }

  /**
   * Apply the server's answer; rejects when it has no VP8 (or H264) video or werift refuses it.
   * The encoder, packetizer and depacketizer follow the answer's first codec: the one the server
   * sends (aiortc answers several, the first is its encoder's) and the one werift's sender then
   * stamps on our packets (it takes the answer's first non-RTX codec).
   */
  async accept(answerSdp: string): Promise<void> {
    const offered = this.offered;
    if (!offered || this.closed) throw new Error('client closed');
    const codec = selectVideoCodec(answerSdp);
    if (!codec) {
      offered.close();
      throw new Error('the answer has no video codec the native client supports');
    }
    const transport = await offered.accept(answerSdp);
    if (this.closed) {
      transport.close();
      return;
    }
    this.peer = new NativePeer(transport, codec, {
      onFrame: (f) => this.events.onFrame(f),
      onChannel: () => undefined,
      onConnectionState: () => undefined, // the transport's states reach onConnectionState directly
    }, clientSettings(this.options.bitrate ?? DEFAULT_BITRATE, this.options.vp8CpuUsed ?? MEDIA_SETTINGS.vp8CpuUsed.default));
    if (this.state !== 'new') this.peer.onConnectionState(this.state);
  }

  private attachChannel(ch: ControlChannel): void {
    this.channel = ch;
    ch.onmessage = (data) => {
      if (!this.closed) this.events.onMessage(data);
    };
  }

  private onConnectionState(state: PeerConnectionState): void {
    if (this.closed) return;
    this.state = state;
    this.peer?.onConnectionState(state);
    this.events.onConnectionState(state);
  }

  /** Whether the control channel is open (closing it then ends the server session). */
  get channelOpen(): boolean {
    return this.channel?.readyState === 'open';
  }

  /** Send a text message on the control channel (a control message of src/protocol); false when it is not open. */
  sendMessage(text: string): boolean {
    if (this.closed || !this.channelOpen) return false;
    this.channel?.send(text);
    return true;
  }

  /** Whether media flows (ICE and DTLS done). */
  get connected(): boolean {
    return !this.closed && this.state === 'connected';
  }

  /** Encode and send a frame (copied; `frame.data` may be reused). Dropped until connected: werift cannot send before DTLS. */
  sendFrame(frame: I420Frame): void {
    if (this.connected) this.peer?.sendFrame(frame);
  }

  /** Codec, bitrate, rtt, loss, encode/decode ms of the client side (null before the answer). */
  async stats(): Promise<PeerStats | null> {
    return this.peer ? this.peer.stats() : null;
  }

  /** The peer's counters (null before the answer). */
  get counters(): NativePeerCounters | null {
    return this.peer?.counters ?? null;
  }

  /** The receive buffer's counters: packets, gaps, NACKs, frames lost (null before the answer). */
  get receiveCounters(): ReceiveCounters | null {
    return this.peer?.buffer.counters ?? null;
  }

  /** Make the next frame sent a key frame (as a PLI from the server would). */
  requestKeyframe(): void {
    this.peer?.onKeyframeRequest();
  }

  /** Test only: the raw media paths of the transport, for a hostile peer (null before the answer). */
  get rawPathsForTests(): RawMediaPaths | null {
    return this.peer?.transportForTests.rawPathsForTests ?? null;
  }

  /** Close the channel (which ends the server session), then transport and codecs. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.channel?.close(); } catch { /* already closed */ }
    if (this.peer) this.peer.close();
    else this.offered?.close();
  }
}
