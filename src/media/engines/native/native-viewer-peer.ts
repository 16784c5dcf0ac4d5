/**
 * A WHEP viewer on the native engine: its own werift transport and RtpSendStream, fed by the
 * publisher's SharedEncoder for the viewer's codec, so N viewers of a session cost one encode
 * (per codec), not N. The viewer sends nothing the engine reads; its receiver's feedback (PLI,
 * FIR, REMB, loss reports, transport-cc) goes to its own stream, and from there a key frame request
 * or a lower bitrate to the shared encoder.
 */
import type { MediaPeer, PeerConnectionState, PeerStats, ViewerEvents } from '../../engine.js';
import type { NativePeer } from './native-peer.js';
import type { SelectedCodec } from './stack-types.js';
import type { RtpSendStream } from './send/rtp-send-stream.js';
import type { SharedEncoder } from './send/shared-encoder.js';
import type { WeriftTransport } from './transport/werift-transport.js';

/** The native engine's viewer peer. */
export class NativeViewerPeer implements MediaPeer {
  private closed = false;
  private state: PeerConnectionState = 'new';
  private readonly encoder: SharedEncoder;

  /** Attaches `stream` to the publisher's encoder for `codec` (throws EncoderLimitError past the limit). */
  constructor(
    private readonly transport: WeriftTransport,
    readonly codec: SelectedCodec,
    private readonly stream: RtpSendStream,
    private readonly publisher: NativePeer,
    private readonly events: ViewerEvents,
  ) {
    this.encoder = publisher.attachStream(codec, stream);
  }

  get connectionState(): PeerConnectionState {
    return this.closed ? 'closed' : this.state;
  }

  /** The viewer's send stream (tests read its counters). */
  get sendStream(): RtpSendStream {
    return this.stream;
  }

  /** From the transport. */
  onConnectionState(state: PeerConnectionState): void {
    if (this.closed) return;
    if (state === 'connected' && this.state !== 'connected') this.stream.connected();
    this.state = state;
    this.events.onConnectionState(state);
  }

  /** A viewer's frames are the publisher's: nothing to send of its own. */
  sendFrame(): void {}

  /** The viewer's figures: its codec, the shared encoder, its own round trip and bitrate. */
  async stats(): Promise<PeerStats> {
    const rtt = this.closed ? null : await this.transport.rttMs().catch(() => null);
    return {
      codec: `video/${this.codec.name}`,
      encoder: this.encoder.encoderName,
      decoder: null,
      rttMs: rtt === null ? null : Math.round(rtt * 100) / 100,
      lossRatio: null,
      sendBitrateKbps: this.encoder.sendBitrateKbps,
      encodeMs: this.encoder.medianEncodeMs,
      decodeMs: null,
    };
  }

  /** A trickled remote ICE candidate (WHEP PATCH). */
  addRemoteCandidate(candidate: string, mid: string | null): Promise<void> {
    return this.closed ? Promise.resolve() : this.transport.addRemoteCandidate(candidate, mid);
  }

  /** Leave the publisher's encoder and close the transport. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.publisher.detachStream(this.stream);
    this.transport.close();
  }
}
