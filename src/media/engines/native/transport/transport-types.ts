/**
 * What the native engine's transport takes and gives: its configuration, the events it raises on
 * the peer (NativePeer, the driver), and the raw paths a test's
 * hostile peer uses. werift's own types appear only where a test writes raw RTP/RTCP.
 */
import type { RtcpPacket, RtpHeader } from 'werift';
import type { ControlChannel, IceServer, PeerConnectionState } from '../../../engine.js';
import type { FeedbackResult, IncomingRtp, NativeCodecName, SelectedCodec } from '../stack-types.js';
import type { ImpairmentOptions } from './impairment.js';
import type { RetransmitBudgetOptions } from './retransmit-budget.js';

/** What the answerer needs. */
export interface TransportConfig {
  iceServers: IceServer[];
  portRange?: { min: number; max: number };
  iceGatheringTimeoutMs: number;
  codec: SelectedCodec;
  /** Host addresses to offer besides the interfaces werift finds (it skips loopback). */
  additionalHostAddresses: string[];
  /** Negotiate transport-cc (the client's send-side estimator then runs on werift's feedback). */
  transportCc: boolean;
  /** Test only: impair our outgoing RTP after werift's send history, so the client's NACKs/PLIs are exercised. */
  sendImpairment: ImpairmentOptions | null;
  /** The most the client may make us resend (NACK answers). */
  retransmitBudget: RetransmitBudgetOptions;
}

/** What the offerer needs. */
export interface OfferConfig {
  iceServers: IceServer[];
  /**
   * The codec offered first: VP8 offers VP8 (+RTX) only; H264 offers H264 (packetization-mode 1,
   * constrained baseline 42e01f, +RTX) first and VP8 after it, as a browser that prefers H264 does
   * (default VP8).
   */
  codec?: NativeCodecName;
  /** Send the offer with the candidates gathered by then. */
  iceGatheringTimeoutMs: number;
  /** Host addresses to offer besides the interfaces werift finds (it skips loopback). */
  additionalHostAddresses: string[];
  /** Offer transport-cc, as browsers do. */
  transportCc: boolean;
  /** The most the server may make us resend (default DEFAULT_RETRANSMIT_BUDGET). */
  retransmitBudget?: RetransmitBudgetOptions;
}

/** What the transport tells the peer: media, feedback about the video we send, the channel, state. */
export interface TransportEvents {
  onRtp(packet: IncomingRtp): void;
  onKeyframeRequest(kind: 'pli' | 'fir'): void;
  onRemb(bitsPerSecond: number): void;
  /** A receiver report on our stream: fraction of our packets the client lost (0..1). */
  onReceiverReport(fractionLost: number): void;
  /** A transport-cc feedback message on the packets we sent. */
  onTransportFeedback(results: FeedbackResult[]): void;
  onChannel(channel: ControlChannel): void;
  onConnectionState(state: PeerConnectionState): void;
  /** The client restarted its stream (new SSRC, same MID): a new sequence space starts at its next packet. */
  onStreamRestart(): void;
}

/** What rawPathsForTests gives a test's hostile peer. */
export interface RawMediaPaths {
  sendDatagram(data: Buffer): Promise<void>;
  /** The peer's media SSRC and the last sequence number received from it. */
  lastReceived(): { ssrc: number; sequenceNumber: number } | null;
  /** Our own media SSRC. */
  localSsrc(): number;
  sendRtcp(packets: RtcpPacket[]): Promise<unknown>;
  /** RTCP bytes as given (any framing), under valid SRTCP. */
  sendRtcpBytes(rtcp: Buffer): Promise<void>;
  rewriteRtp(rewrite: (header: RtpHeader, payload: Buffer) => Array<[RtpHeader, Buffer]>): void;
}
