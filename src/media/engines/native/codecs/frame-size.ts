/**
 * The picture size an encoded frame claims, read from its header before any decoder sees it: the
 * VP8 key frame header (RFC 6386 §9.1) and the H264 sequence parameter set (ITU-T H.264 §7.3.2.1).
 * A frame that claims more pixels than the server's limit is dropped undecoded: decoders allocate
 * for what the header says (a 16383x16383 VP8 key frame cost libwebrtc 1.7-2.3 GB).
 *
 * Pure, bounded by the frame's length, never throws.
 */

/** Width and height in pixels. */
export interface FrameSize {
  width: number;
  height: number;
}

/** The size a VP8 frame's key frame header gives; null for a delta frame or a malformed header. */
export function vp8FrameSize(frame: Buffer): FrameSize | null {
  if (frame.length < 10 || (frame[0]! & 0x01) !== 0) return null;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return null;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}

/** Reads bits of an RBSP (emulation prevention bytes already removed); past the end it reads as exhausted. */
class BitReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get exhausted(): boolean {
    return this.pos > this.buf.length * 8;
  }

  bit(): number {
    const byte = this.buf[this.pos >> 3];
    this.pos++;
    return byte === undefined ? 0 : (byte >> (7 - ((this.pos - 1) & 7))) & 1;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  /** Unsigned Exp-Golomb; null when longer than 31 leading zeros (no valid field is) or past the end. */
  ue(): number | null {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31 || this.exhausted) return null;
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number | null {
    const k = this.ue();
    return k === null ? null : k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** The NAL units of an Annex B stream (payloads after start codes). */
function* annexBUnits(data: Buffer): Generator<Buffer> {
  let start = -1;
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) yield data.subarray(start, i > 0 && data[i - 1] === 0 ? i - 1 : i);
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0 && start < data.length) yield data.subarray(start);
}

/** The RBSP of a NAL unit (its header byte dropped, 0x000003 emulation prevention removed), at most `max` bytes. */
function rbsp(nal: Buffer, max: number): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (let i = 1; i < nal.length && out.length < max; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Buffer.from(out);
}

const NAL_SPS = 7;
/** Profiles whose SPS carries chroma format and bit depth fields. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The size an H264 SPS gives (cropping applied). Null when malformed. */
export function h264SpsSize(nal: Buffer): FrameSize | null {
  const r = new BitReader(rbsp(nal, 256));
  const profile = r.bits(8);
  r.bits(16); // constraint flags, level
  if (r.ue() === null) return null; // seq_parameter_set_id
  let chromaFormat = 1;
  if (HIGH_PROFILES.has(profile)) {
    const cf = r.ue();
    if (cf === null || cf > 3) return null;
    chromaFormat = cf;
    if (cf === 3) r.bit();
    if (r.ue() === null || r.ue() === null) return null; // bit depths
    r.bit();
    if (r.bit()) {
      // scaling matrices: skip their deltas
      for (let i = 0; i < (cf !== 3 ? 8 : 12); i++) {
        if (!r.bit()) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
          const d = r.se();
          if (d === null) return null;
          next = (last + d + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  if (r.ue() === null) return null; // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === null) return null;
  if (pocType === 0) {
    if (r.ue() === null) return null;
  } else if (pocType === 1) {
    r.bit();
    if (r.se() === null || r.se() === null) return null;
    const n = r.ue();
    if (n === null || n > 255) return null;
    for (let i = 0; i < n; i++) if (r.se() === null) return null;
  }
  if (r.ue() === null) return null; // max_num_ref_frames
  r.bit();
  const wMbs = r.ue();
  const hUnits = r.ue();
  if (wMbs === null || hUnits === null) return null;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit(); // direct_8x8_inference
  let crop = { l: 0, r: 0, t: 0, b: 0 };
  if (r.bit()) {
    const l = r.ue(); const rr = r.ue(); const t = r.ue(); const b = r.ue();
    if (l === null || rr === null || t === null || b === null) return null;
    crop = { l, r: rr, t, b };
  }
  if (r.exhausted) return null;
  const cropX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
  const cropY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = (wMbs + 1) * 16 - cropX * (crop.l + crop.r);
  const height = (hUnits + 1) * 16 * (2 - frameMbsOnly) - cropY * (crop.t + crop.b);
  return width > 0 && height > 0 ? { width, height } : { width: (wMbs + 1) * 16, height: (hUnits + 1) * 16 * (2 - frameMbsOnly) };
}

/** The largest size any SPS of an Annex B access unit gives; null when it has none. */
export function h264FrameSize(frame: Buffer): FrameSize | null {
  let best: FrameSize | null = null;
  for (const nal of annexBUnits(frame)) {
    if (nal.length < 2 || (nal[0]! & 0x1f) !== NAL_SPS) continue;
    const s = h264SpsSize(nal);
    if (s === null) return { width: Infinity, height: Infinity }; // an SPS we cannot read is not decoded either
    if (!best || s.width * s.height > best.width * best.height) best = s;
  }
  return best;
}

/** The size a frame of `codec` claims, when its header says (key frames, SPS); null when it does not say. */
export function claimedFrameSize(codec: 'VP8' | 'H264', frame: Buffer): FrameSize | null {
  return codec === 'VP8' ? vp8FrameSize(frame) : h264FrameSize(frame);
}
