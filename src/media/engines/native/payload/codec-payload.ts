/**
 * The contract between the codec-specific RTP payload formats (VP8, H264) and the codec-neutral
 * parts of the native engine (receive buffer, sender). One small processor per direction.
 */

/** What the receive buffer needs to know about one RTP payload. */
export interface PayloadInfo {
  /** This packet certainly begins a frame (VP8: S bit on partition 0; H264: first NAL of an access unit). */
  frameStart: boolean;
  /** The frame this packet begins is a keyframe (only meaningful when `frameStart`). */
  keyframe: boolean;
}

/** A frame put back together from its payloads, as the decoder takes it. */
export interface AssembledFrame {
  data: Buffer;
  keyframe: boolean;
}

/** Turns one encoded frame into RTP payloads of at most `maxPayloadBytes` each, in order. */
export interface RtpPacketizer {
  packetize(frame: Buffer, keyframe: boolean): Buffer[];
}

/** Reads RTP payloads of one codec. Both methods return null on malformed input and never throw. */
export interface RtpDepacketizer {
  inspect(payload: Buffer): PayloadInfo | null;
  /** Payloads of one frame, in sequence order. */
  assemble(payloads: readonly Buffer[]): AssembledFrame | null;
}

/** Largest RTP payload the packetizers produce: leaves room for the RTP header, extensions, SRTP and IP/UDP under a 1280-byte path MTU. */
export const MAX_RTP_PAYLOAD = 1200;

/** Split `length` bytes into `n` near-equal chunk sizes (no runt last packet: the receiver's cost is per packet). */
export function balancedChunks(length: number, maxChunk: number): number[] {
  if (length <= 0) return [];
  const n = Math.ceil(length / maxChunk);
  const base = Math.floor(length / n);
  const extra = length - base * n;
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) sizes.push(base + (i < extra ? 1 : 0));
  return sizes;
}
