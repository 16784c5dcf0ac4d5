/**
 * Picks the video codec to answer with from the client's offer: the engine's preferred codec when
 * offered (RTC_PREFER_H264), else the first offered codec this engine can encode and decode (the
 * client's order), VP8 always, H264 only with
 * packetization-mode=1 and a (constrained) baseline profile-level-id, which libx264 and every
 * browser decoder handle.
 */
import type { NativeCodecName, SelectedCodec } from '../stack-types.js';

interface RtpMap {
  pt: number;
  name: string;
  clockRate: number;
  fmtp: Map<string, string>;
}

/** The first video m-section's payload types in offer order, with rtpmap and fmtp. */
function videoPayloads(sdp: string): RtpMap[] {
  const lines = sdp.split(/\r?\n/);
  let inVideo = false;
  let seenVideo = false;
  let order: number[] = [];
  const maps = new Map<number, RtpMap>();
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (seenVideo) break;
      inVideo = line.startsWith('m=video ');
      if (inVideo) {
        seenVideo = true;
        order = line.split(' ').slice(3).map(Number).filter((n) => Number.isInteger(n) && n >= 0 && n < 128);
      }
      continue;
    }
    if (!inVideo) continue;
    let m = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(line);
    if (m) {
      const pt = Number(m[1]);
      maps.set(pt, { pt, name: m[2]!.toUpperCase(), clockRate: Number(m[3]), fmtp: maps.get(pt)?.fmtp ?? new Map() });
      continue;
    }
    m = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (m) {
      const pt = Number(m[1]);
      const params = new Map<string, string>();
      for (const kv of m[2]!.split(';')) {
        const [k, v] = kv.trim().split('=');
        if (k) params.set(k.toLowerCase(), (v ?? '').trim());
      }
      const existing = maps.get(pt);
      if (existing) existing.fmtp = params;
      else maps.set(pt, { pt, name: '', clockRate: 0, fmtp: params });
    }
  }
  return order.map((pt) => maps.get(pt)).filter((x): x is RtpMap => x !== undefined && x.name !== '');
}

/** Baseline (0x42) or any profile flagged constrained-baseline compatible (constraint_set1). */
function isBaselineCompatible(profileLevelId: string): boolean {
  if (!/^[0-9a-f]{6}$/i.test(profileLevelId)) return false;
  const idc = parseInt(profileLevelId.slice(0, 2), 16);
  const iop = parseInt(profileLevelId.slice(2, 4), 16);
  return idc === 0x42 || (iop & 0x40) !== 0;
}

/** Every offered video codec this engine runs: `preferred` first when offered, then the client's order. */
export function supportedVideoCodecs(offerSdp: string, preferred: NativeCodecName | null = null): SelectedCodec[] {
  const payloads = videoPayloads(offerSdp);
  const out: SelectedCodec[] = [];
  for (const p of payloads) {
    if (p.clockRate !== 90000) continue;
    let selected: SelectedCodec | null = null;
    if (p.name === 'VP8') {
      selected = { name: 'VP8', payloadType: p.pt, rtxPayloadType: null, fmtp: null, profileLevelId: null };
    } else if (p.name === 'H264' && p.fmtp.get('packetization-mode') === '1') {
      const pli = p.fmtp.get('profile-level-id') ?? '42e01f';
      if (!isBaselineCompatible(pli)) continue;
      const fmtp = [...p.fmtp].map(([k, v]) => `${k}=${v}`).join(';');
      selected = { name: 'H264', payloadType: p.pt, rtxPayloadType: null, fmtp, profileLevelId: pli.toLowerCase() };
    }
    if (!selected) continue;
    const rtx = payloads.find((r) => r.name === 'RTX' && r.fmtp.get('apt') === String(p.pt));
    selected.rtxPayloadType = rtx ? rtx.pt : null;
    out.push(selected);
  }
  if (preferred === null) return out;
  return [...out.filter((c) => c.name === preferred), ...out.filter((c) => c.name !== preferred)];
}

/** The codec to answer with (`preferred` when offered, else the client's first one this engine runs), or null when the offer has none. */
export function selectVideoCodec(offerSdp: string, preferred: NativeCodecName | null = null): SelectedCodec | null {
  return supportedVideoCodecs(offerSdp, preferred)[0] ?? null;
}
