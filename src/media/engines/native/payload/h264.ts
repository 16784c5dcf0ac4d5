/**
 * H264 RTP payload format (RFC 6184, packetization-mode 1): single NAL unit packets, STAP-A
 * aggregation and FU-A fragmentation, both ways. Frames travel as Annex B byte streams between
 * this file and the codec (libx264 writes Annex B; FFmpeg's h264 decoder reads it).
 */
import { MAX_RTP_PAYLOAD, balancedChunks, type AssembledFrame, type PayloadInfo, type RtpDepacketizer, type RtpPacketizer } from './codec-payload.js';

const STAP_A = 24;
const FU_A = 28;
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;
const START_CODE = Buffer.from([0, 0, 0, 1]);

/** NAL units of an Annex B byte stream (start codes of 3 or 4 bytes), without their start codes. */
export function splitAnnexB(stream: Buffer): Buffer[] {
  const nals: Buffer[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < stream.length) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      if (start >= 0) {
        // a 4-byte start code leaves a trailing zero on the previous NAL
        let end = i;
        while (end > start && stream[end - 1] === 0) end--;
        if (end > start) nals.push(stream.subarray(start, end));
      }
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0 && start < stream.length) nals.push(stream.subarray(start));
  return nals;
}

/** Packetizes Annex B access units. */
export class H264Packetizer implements RtpPacketizer {
  constructor(private readonly maxPayloadBytes = MAX_RTP_PAYLOAD) {
    if (maxPayloadBytes < 16) throw new RangeError('maxPayloadBytes too small for H264');
  }

  /** One access unit into payloads: small NAL units aggregated (STAP-A), large ones fragmented (FU-A). */
  packetize(frame: Buffer): Buffer[] {
    const nals = splitAnnexB(frame).filter((n) => (n[0]! & 0x1f) !== NAL_AUD);
    const out: Buffer[] = [];
    let group: Buffer[] = [];
    let groupSize = 1; // STAP-A header byte
    const flush = (): void => {
      if (group.length === 1) out.push(Buffer.from(group[0]!));
      else if (group.length > 1) out.push(stapA(group));
      group = [];
      groupSize = 1;
    };
    for (const nal of nals) {
      if (nal.length > this.maxPayloadBytes) {
        flush();
        out.push(...fuA(nal, this.maxPayloadBytes));
        continue;
      }
      if (groupSize + 2 + nal.length > this.maxPayloadBytes) flush();
      group.push(nal);
      groupSize += 2 + nal.length;
    }
    flush();
    return out;
  }
}

function stapA(nals: Buffer[]): Buffer {
  let nri = 0;
  for (const n of nals) nri = Math.max(nri, n[0]! & 0x60);
  const parts: Buffer[] = [Buffer.from([nri | STAP_A])];
  for (const n of nals) {
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(n.length);
    parts.push(len, n);
  }
  return Buffer.concat(parts);
}

function fuA(nal: Buffer, maxPayload: number): Buffer[] {
  const header = nal[0]!;
  const body = nal.subarray(1);
  const out: Buffer[] = [];
  const sizes = balancedChunks(body.length, maxPayload - 2);
  let offset = 0;
  sizes.forEach((size, k) => {
    const p = Buffer.allocUnsafe(2 + size);
    p[0] = (header & 0xe0) | FU_A;
    p[1] = (k === 0 ? 0x80 : 0) | (k === sizes.length - 1 ? 0x40 : 0) | (header & 0x1f);
    body.copy(p, 2, offset, offset + size);
    offset += size;
    out.push(p);
  });
  return out;
}

/** NAL unit types a payload carries (first fragment only for FU-A); null when malformed. */
function payloadNalTypes(payload: Buffer): { types: number[]; fuStart: boolean | null } | null {
  if (payload.length < 1) return null;
  if (payload[0]! & 0x80) return null; // forbidden_zero_bit
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return { types: [type], fuStart: null };
  if (type === STAP_A) {
    const types: number[] = [];
    let i = 1;
    while (i < payload.length) {
      if (i + 2 > payload.length) return null;
      const len = payload.readUInt16BE(i);
      i += 2;
      if (len === 0 || i + len > payload.length) return null;
      types.push(payload[i]! & 0x1f);
      i += len;
    }
    return types.length > 0 ? { types, fuStart: null } : null;
  }
  if (type === FU_A) {
    if (payload.length < 3) return null;
    const fu = payload[1]!;
    const start = (fu & 0x80) !== 0;
    if (start && (fu & 0x40) !== 0) return null; // start and end in one fragment is not allowed
    return { types: [fu & 0x1f], fuStart: start };
  }
  return null; // STAP-B, MTAP, FU-B: not in packetization-mode 1
}

/** Reads H264 payloads (packetization-mode 1) back into Annex B access units. */
export class H264Depacketizer implements RtpDepacketizer {
  /** An access unit certainly starts with SPS/PPS/AUD or an IDR slice's first packet; key frames carry an IDR or SPS. */
  inspect(payload: Buffer): PayloadInfo | null {
    const t = payloadNalTypes(payload);
    if (!t) return null;
    const first = t.types[0]!;
    const frameStart = t.fuStart === false ? false : (first === NAL_SPS || first === NAL_PPS || first === NAL_AUD || first === NAL_IDR);
    const keyframe = frameStart && t.types.some((x) => x === NAL_IDR || x === NAL_SPS);
    return { frameStart, keyframe };
  }

  /** Annex B access unit from the payloads of one frame; null on malformed or unfinished fragments. */
  assemble(payloads: readonly Buffer[]): AssembledFrame | null {
    const parts: Buffer[] = [];
    let keyframe = false;
    let fragment: Buffer[] | null = null;
    for (const p of payloads) {
      const t = payloadNalTypes(p);
      if (!t) return null;
      const type = p[0]! & 0x1f;
      if (type === FU_A) {
        const fu = p[1]!;
        if (fu & 0x80) {
          if (fragment) return null;
          fragment = [START_CODE, Buffer.from([(p[0]! & 0xe0) | (fu & 0x1f)])];
          if ((fu & 0x1f) === NAL_IDR) keyframe = true;
        } else if (!fragment) {
          return null;
        }
        fragment.push(p.subarray(2));
        if (fu & 0x40) {
          parts.push(...fragment);
          fragment = null;
        }
        continue;
      }
      if (fragment) return null;
      if (type === STAP_A) {
        let i = 1;
        while (i < p.length) {
          const len = p.readUInt16BE(i);
          i += 2;
          parts.push(START_CODE, p.subarray(i, i + len));
          i += len;
        }
      } else {
        parts.push(START_CODE, p);
      }
      for (const x of t.types) if (x === NAL_IDR || x === NAL_SPS) keyframe = true;
    }
    if (fragment || parts.length === 0) return null;
    return { data: Buffer.concat(parts), keyframe };
  }
}
