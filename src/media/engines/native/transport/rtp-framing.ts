/**
 * RTP and RTCP framing, read the way RFC 3550, RFC 8285 and RFC 3711 define it, in one pass over
 * the bytes a packet really has. Every datagram from a peer goes through these checks before any
 * library parses it (werift's own header parser ran past the end of a packet whose extension
 * length lied, quadratically: three packets stopped the event loop), and the werift door uses
 * `parseRtpHeader` as werift's parser (werift-fixes.ts).
 *
 * Pure functions: no clock, no I/O, never throw on any input.
 */

/** Why a datagram was dropped before it reached a parser. */
export type FramingError =
  | 'rtp-short' | 'rtp-version' | 'rtp-csrc' | 'rtp-extension' | 'rtp-extension-element' | 'rtp-padding'
  | 'rtcp-short' | 'rtcp-version' | 'rtcp-length' | 'rtcp-feedback'
  | 'oversize';

/** One header extension element (RFC 8285); `payload` is a view into the packet. */
export interface RtpExtensionElement {
  id: number;
  payload: Buffer;
}

/** An RTP header as read from a packet. */
export interface RtpHeaderFields {
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrc: number[];
  /** 0xBEDE (one-byte), 0x100x (two-byte), or whatever else the profile field says; 0 without extension. */
  extensionProfile: number;
  /** Bytes of the extension block after its 4-byte header. */
  extensionLength: number;
  extensions: RtpExtensionElement[];
  /** Where the payload starts: always after the whole extension block (RFC 3550 §5.3.1). */
  payloadOffset: number;
  /** Padding bytes at the end (0 unless `padding`). */
  paddingSize: number;
}

/** Largest datagram a WebRTC peer sends: its packetizers stay under a path MTU of ~1200-1500 bytes. */
export const MAX_MEDIA_DATAGRAM = 4096;

const RTP_FIXED_HEADER = 12;
const ONE_BYTE_PROFILE = 0xbede;
/** RFC 8285 §4.3: two-byte elements use profiles 0x1000-0x100F (the low 4 bits are app bits). */
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;

/**
 * Whether a media datagram is RTCP rather than RTP, the way werift demultiplexes it (second byte
 * 192-208: RTCP packet types SR to XR): the check must read a packet as the library will.
 */
export function isRtcpPacket(buf: Buffer): boolean {
  return buf.length >= 2 && buf[1]! >= 192 && buf[1]! <= 208;
}

/** Whether a datagram on the ICE transport is RTP or RTCP (RFC 7983: first byte 128-191), not STUN, DTLS or TURN. */
export function isMediaDatagram(buf: Buffer): boolean {
  return buf.length > 0 && buf[0]! >= 128 && buf[0]! <= 191;
}

/**
 * Read an RTP header. `trailer` bytes at the end are not the packet's (the SRTP auth tag).
 * `checkPadding` applies the padding rule (only meaningful once the payload is decrypted: SRTP
 * encrypts the padding count). Returns the header, or why the packet is malformed.
 */
export function parseRtpHeader(buf: Buffer, trailer = 0, checkPadding = false): RtpHeaderFields | FramingError {
  const end = buf.length - trailer;
  if (end < RTP_FIXED_HEADER) return 'rtp-short';
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return 'rtp-version';
  const cc = b0 & 0x0f;
  let offset = RTP_FIXED_HEADER + 4 * cc;
  if (offset > end) return 'rtp-csrc';
  const csrc: number[] = [];
  for (let i = 0; i < cc; i++) csrc.push(buf.readUInt32BE(RTP_FIXED_HEADER + 4 * i));
  const extension = (b0 & 0x10) !== 0;
  let extensionProfile = 0;
  let extensionLength = 0;
  const extensions: RtpExtensionElement[] = [];
  if (extension) {
    if (offset + 4 > end) return 'rtp-extension';
    extensionProfile = buf.readUInt16BE(offset);
    extensionLength = buf.readUInt16BE(offset + 2) * 4;
    const start = offset + 4;
    const blockEnd = start + extensionLength;
    if (blockEnd > end) return 'rtp-extension';
    const elements = readExtensionElements(buf, start, blockEnd, extensionProfile, extensions);
    if (elements !== null) return elements;
    offset = blockEnd;
  }
  const padding = (b0 & 0x20) !== 0;
  let paddingSize = 0;
  if (padding && checkPadding) {
    paddingSize = end > offset ? buf[end - 1]! : 0;
    if (paddingSize === 0 || paddingSize > end - offset) return 'rtp-padding';
  }
  const b1 = buf[1]!;
  return {
    padding, extension, marker: (b1 & 0x80) !== 0, payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2), timestamp: buf.readUInt32BE(4), ssrc: buf.readUInt32BE(8),
    csrc, extensionProfile, extensionLength, extensions, payloadOffset: offset, paddingSize,
  };
}

/**
 * The elements of one extension block, appended to `out`; null when well formed. An element that
 * runs past the block is malformed. One-byte id 15 stops parsing (RFC 8285 §4.2), and the payload
 * still starts after the whole block.
 */
function readExtensionElements(buf: Buffer, start: number, end: number, profile: number, out: RtpExtensionElement[]): FramingError | null {
  let i = start;
  if (profile === ONE_BYTE_PROFILE) {
    while (i < end) {
      const b = buf[i]!;
      if (b === 0) { i++; continue; } // padding between elements
      const id = b >> 4;
      if (id === 15) break;
      const len = (b & 0x0f) + 1;
      if (i + 1 + len > end) return 'rtp-extension-element';
      out.push({ id, payload: buf.subarray(i + 1, i + 1 + len) });
      i += 1 + len;
    }
  } else if ((profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
    while (i < end) {
      const id = buf[i]!;
      if (id === 0) { i++; continue; }
      if (i + 2 > end) return 'rtp-extension-element';
      const len = buf[i + 1]!;
      if (i + 2 + len > end) return 'rtp-extension-element';
      out.push({ id, payload: buf.subarray(i + 2, i + 2 + len) });
      i += 2 + len;
    }
  } else if (end > start) {
    // a profile this stack does not read: kept whole, as one element with id 0
    out.push({ id: 0, payload: buf.subarray(start, end) });
  }
  return null;
}

/** RTCP packet types with transport (205) and payload-specific (206) feedback. */
const RTPFB = 205;
/** transport-cc feedback's FMT. */
const TWCC_FMT = 15;
/**
 * Most packet statuses one transport-cc message may report. libwebrtc's feedback covers at most a
 * few hundred packets per 50-250 ms; a message claiming 65535 (runs of "not received" cost two bytes
 * each) would make the sender's estimator walk 65535 results per packet.
 */
export const MAX_TWCC_STATUSES = 4096;

/**
 * Check a (decrypted) RTCP compound packet: every packet version 2, its length inside the
 * datagram, the lengths adding up to the datagram exactly (RFC 3550 §6.1), and transport-cc
 * feedback no larger than its bytes can carry. `trailer` bytes at the end are not RTCP (SRTCP
 * index and auth tag, on a still-encrypted packet; then only the first header is checked).
 */
export function checkRtcpCompound(buf: Buffer, trailer = 0, firstOnly = false): FramingError | null {
  const end = buf.length - trailer;
  if (end < 8) return 'rtcp-short';
  let pos = 0;
  while (pos < end) {
    if (pos + 4 > end) return 'rtcp-length';
    const b0 = buf[pos]!;
    if (b0 >> 6 !== 2) return 'rtcp-version';
    const words = buf.readUInt16BE(pos + 2);
    const next = pos + 4 + words * 4;
    if (next > end) return 'rtcp-length';
    if (firstOnly) return null;
    if (buf[pos + 1] === RTPFB && (b0 & 0x1f) === TWCC_FMT && !transportCcFits(buf, pos + 4, next)) return 'rtcp-feedback';
    pos = next;
  }
  return null;
}

/**
 * Whether a transport-cc message (its body from the sender SSRC on) carries the deltas its chunks
 * promise: a received packet needs one (small) or two (large) delta bytes.
 */
function transportCcFits(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 16) return false;
  const count = buf.readUInt16BE(start + 10);
  if (count > MAX_TWCC_STATUSES) return false;
  let pos = start + 16;
  let statuses = 0;
  let deltaBytes = 0;
  while (statuses < count) {
    if (pos + 2 > end) return false;
    const chunk = buf.readUInt16BE(pos);
    pos += 2;
    if ((chunk & 0x8000) === 0) {
      // run length: 2-bit status, 13-bit length
      const status = (chunk >> 13) & 0x3;
      const run = Math.min(chunk & 0x1fff, count - statuses);
      if (run === 0) return false;
      statuses += run;
      if (status === 1) deltaBytes += run;
      else if (status === 2) deltaBytes += 2 * run;
    } else if ((chunk & 0x4000) === 0) {
      // status vector of 14 one-bit symbols
      const n = Math.min(14, count - statuses);
      for (let k = 0; k < n; k++) if ((chunk >> (13 - k)) & 1) deltaBytes += 1;
      statuses += n;
    } else {
      // status vector of 7 two-bit symbols
      const n = Math.min(7, count - statuses);
      for (let k = 0; k < n; k++) {
        const s = (chunk >> (12 - 2 * k)) & 0x3;
        if (s === 1) deltaBytes += 1;
        else if (s === 2) deltaBytes += 2;
      }
      statuses += n;
    }
  }
  return pos + deltaBytes <= end;
}

/** SRTP's smallest auth tag (AES_CM_128_HMAC_SHA1_80: 10 bytes; AEAD_AES_128_GCM: 16). */
const MIN_SRTP_TAG = 10;
/** SRTCP adds its 4-byte index before the tag. */
const SRTCP_TRAILER = 4 + MIN_SRTP_TAG;

/**
 * The check on a protected media datagram straight off the socket, before SRTP: what is in the
 * clear (the RTP header with its extensions, the first RTCP header) must fit what is there.
 * Returns null when it may go on to decryption.
 */
export function checkProtectedDatagram(buf: Buffer): FramingError | null {
  if (buf.length > MAX_MEDIA_DATAGRAM) return 'oversize';
  if (isRtcpPacket(buf)) return checkRtcpCompound(buf, SRTCP_TRAILER, true);
  const header = parseRtpHeader(buf, MIN_SRTP_TAG);
  return typeof header === 'string' ? header : null;
}
