/**
 * Types the native engine's stages share (transport, receive path, send path, congestion control,
 * codecs): kept here so no stage imports another for a type, and the transport can be swapped
 * behind RtpSender without the send path knowing.
 */

/** A video codec the native engine encodes, decodes and packetizes. */
export type NativeCodecName = 'VP8' | 'H264';

/** The codec chosen from an offer, with the client's payload types. */
export interface SelectedCodec {
  name: NativeCodecName;
  payloadType: number;
  rtxPayloadType: number | null;
  /** fmtp parameters to answer with (H264: the client's, VP8: none). */
  fmtp: string | null;
  /** H264 profile-level-id as offered (6 hex digits). */
  profileLevelId: string | null;
}

/** One RTP packet of the client's video, as the transport delivers it (after SRTP). */
export interface IncomingRtp {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

/** One packet's fate in a transport-cc feedback message from the client. */
export interface FeedbackResult {
  sequenceNumber: number;
  received: boolean;
  /** Arrival time on the client's clock, ms (only differences matter). */
  receivedAtMs: number;
}

/** What the send path needs of a transport (WeriftTransport; tests pass in-memory ones). */
export interface RtpSender {
  /** Send one RTP packet; returns its transport-wide sequence number, or null without transport-cc. */
  sendRtp(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): number | null;
  /** transport-cc was negotiated. */
  readonly transportCc: boolean;
  /** Packets given to sendRtp now go out. */
  readonly isSending: boolean;
}
