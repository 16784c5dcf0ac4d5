/**
 * VP8 RTP payload format (RFC 7741): packetizer and depacketizer.
 *
 * Outgoing payload descriptor (4 bytes): X=1, S on the first packet of a frame, PID=0; I=1 with a
 * 15-bit picture id (M=1), so a receiver can tell frames apart after loss. Incoming descriptors
 * may carry any of the optional fields (I/L/T/K); all are parsed and skipped.
 */
import { balancedChunks, MAX_RTP_PAYLOAD, type AssembledFrame, type PayloadInfo, type RtpDepacketizer, type RtpPacketizer } from './codec-payload.js';

const DESCRIPTOR_BYTES = 4;

/** Packetizes VP8 frames; keeps the picture id across frames. */
export class Vp8Packetizer implements RtpPacketizer {
  private pictureId: number;

  constructor(private readonly maxPayloadBytes = MAX_RTP_PAYLOAD, initialPictureId = Math.floor(Math.random() * 0x8000)) {
    if (maxPayloadBytes <= DESCRIPTOR_BYTES) throw new RangeError('maxPayloadBytes too small for the VP8 descriptor');
    this.pictureId = initialPictureId & 0x7fff;
  }

  /** The picture id the next frame gets. */
  get nextPictureId(): number {
    return this.pictureId;
  }

  /** Split one encoded frame into payloads (descriptor + partition bytes). */
  packetize(frame: Buffer): Buffer[] {
    const pid = this.pictureId;
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    const out: Buffer[] = [];
    let offset = 0;
    for (const size of balancedChunks(frame.length, this.maxPayloadBytes - DESCRIPTOR_BYTES)) {
      const p = Buffer.allocUnsafe(DESCRIPTOR_BYTES + size);
      p[0] = 0x80 | (offset === 0 ? 0x10 : 0); // X, S
      p[1] = 0x80; // I
      p[2] = 0x80 | (pid >> 8); // M + picture id high bits
      p[3] = pid & 0xff;
      frame.copy(p, DESCRIPTOR_BYTES, offset, offset + size);
      out.push(p);
      offset += size;
    }
    return out;
  }
}

/** Parsed VP8 payload descriptor. */
export interface Vp8Descriptor {
  /** Bytes before the VP8 data. */
  length: number;
  start: boolean;
  partitionId: number;
  pictureId: number | null;
}

/** Parse the payload descriptor; null when it is truncated or leaves no data. */
export function parseVp8Descriptor(payload: Buffer): Vp8Descriptor | null {
  if (payload.length < 2) return null;
  const b0 = payload[0]!;
  let i = 1;
  let pictureId: number | null = null;
  if (b0 & 0x80) {
    const ext = payload[i++]!;
    if (ext & 0x80) {
      if (i >= payload.length) return null;
      const p0 = payload[i++]!;
      if (p0 & 0x80) {
        if (i >= payload.length) return null;
        pictureId = ((p0 & 0x7f) << 8) | payload[i++]!;
      } else {
        pictureId = p0 & 0x7f;
      }
    }
    if (ext & 0x40) i++; // TL0PICIDX
    if (ext & 0x30) i++; // TID/Y/KEYIDX
  }
  if (i >= payload.length) return null;
  return { length: i, start: (b0 & 0x10) !== 0, partitionId: b0 & 0x0f, pictureId };
}

/** A VP8 key frame starts with P=0 in the frame tag and the start code 9d 01 2a (RFC 6386, 9.1). */
function isVp8Keyframe(data: Buffer, offset: number): boolean {
  return data.length >= offset + 6 && (data[offset]! & 0x01) === 0
    && data[offset + 3] === 0x9d && data[offset + 4] === 0x01 && data[offset + 5] === 0x2a;
}

/** Reads VP8 payloads. */
export class Vp8Depacketizer implements RtpDepacketizer {
  /** Frame boundaries and key frames from the descriptor and the frame tag. */
  inspect(payload: Buffer): PayloadInfo | null {
    const d = parseVp8Descriptor(payload);
    if (!d) return null;
    const frameStart = d.start && d.partitionId === 0;
    return { frameStart, keyframe: frameStart && isVp8Keyframe(payload, d.length) };
  }

  /** Concatenate the frame's data; null when a payload is malformed or the first one does not start a frame. */
  assemble(payloads: readonly Buffer[]): AssembledFrame | null {
    if (payloads.length === 0) return null;
    const parts: Buffer[] = [];
    let keyframe = false;
    for (let k = 0; k < payloads.length; k++) {
      const p = payloads[k]!;
      const d = parseVp8Descriptor(p);
      if (!d) return null;
      if (k === 0) {
        if (!d.start || d.partitionId !== 0) return null;
        keyframe = isVp8Keyframe(p, d.length);
      }
      parts.push(p.subarray(d.length));
    }
    return { data: Buffer.concat(parts), keyframe };
  }
}
