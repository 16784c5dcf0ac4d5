/**
 * Where werift's packet handling is wrong for a peer that lies or is merely unusual, the project
 * puts its own code in werift's place, here and nowhere else (node_modules stays as installed):
 *
 * - RTP header parsing (`RtpHeader.deSerialize`, `RtpPacket.deSerialize`): werift read past the end
 *   of a packet whose extension length lied, quadratically in the claimed length (three such packets
 *   stopped the event loop), and took the payload offset from where a one-byte element with id 15
 *   stopped parsing instead of from the block length (RFC 8285 §4.2). Replaced by rtp-framing.ts.
 * - RTCP compound parsing (`RtcpPacketConverter.deSerialize`): lengths and transport-cc sizes are
 *   checked first (rtp-framing.ts), so a packet cannot claim 65535 feedback results in 30 bytes.
 * - SRTP packet index (`SrtpContext.decryptRtp` and `encryptRtp`): RFC 3711 §3.3.1 instead of
 *   werift's 100-packet window (srtp-index.ts), on both sides, so a sender whose sequence numbers
 *   jump across the wrap and a receiver of one agree with libsrtp's.
 *
 * The classes are werift's ESM build's (what `import 'werift'` loads); installing is idempotent
 * and fails loudly at start if werift's shape changed, rather than silently running unpatched.
 */
import { RtcpPacketConverter, RtpHeader, RtpPacket, SrtpAuthenticationError, SrtpSession, type RtcpPacket } from 'werift';
import { countDrop } from './packet-drops.js';
import { checkRtcpCompound, parseRtpHeader, type RtpHeaderFields } from './rtp-framing.js';
import { commitIndex, estimateRoc, newSrtpIndexState, type SrtpIndexState } from './srtp-index.js';

/** werift's receive-side SRTP context, as far as the replacement uses it. */
interface WeriftSrtpContext {
  readonly rtpAuthTagLength: number;
  cipher: {
    decryptRtp(cipherText: Buffer, rolloverCounter: number, header: RtpHeader): [Buffer, RtpHeader];
    encryptRtp(header: RtpHeader, payload: Buffer, rolloverCounter: number): Buffer;
  };
  decryptRtp(cipherText: Buffer): [Buffer, RtpHeader];
  encryptRtp(payload: Buffer, header: RtpHeader): Buffer;
}

/** SSRCs whose index a context keeps (a peer sends one media and one RTX SSRC, a few more over restarts). */
const MAX_SSRC_STATES = 16;

let installed = false;

/** A werift RtpHeader with the fields read by the project's parser. */
export function toWeriftHeader(f: RtpHeaderFields): RtpHeader {
  const h = new RtpHeader({
    padding: f.padding, paddingSize: f.paddingSize, extension: f.extension, marker: f.marker,
    payloadOffset: f.payloadOffset, payloadType: f.payloadType, sequenceNumber: f.sequenceNumber,
    timestamp: f.timestamp, ssrc: f.ssrc, csrcLength: f.csrc.length, csrc: f.csrc, extensions: f.extensions,
  });
  if (f.extension) {
    h.extensionProfile = f.extensionProfile as RtpHeader['extensionProfile'];
    h.extensionLength = f.extensionLength;
  }
  return h;
}

function strictHeader(buf: Buffer, checkPadding: boolean): RtpHeaderFields {
  const f = parseRtpHeader(buf, 0, checkPadding);
  if (typeof f === 'string') {
    countDrop(f);
    throw new RangeError(`malformed RTP packet (${f})`);
  }
  return f;
}

function indexStates(states: WeakMap<object, Map<number, SrtpIndexState>>, ctx: object): Map<number, SrtpIndexState> {
  let m = states.get(ctx);
  if (!m) {
    m = new Map();
    states.set(ctx, m);
  }
  return m;
}

/** Keep `state` for `ssrc`, forgetting the oldest SSRC past the bound. */
function remember(byssrc: Map<number, SrtpIndexState>, ssrc: number, state: SrtpIndexState): void {
  if (byssrc.has(ssrc)) return;
  if (byssrc.size >= MAX_SSRC_STATES) byssrc.delete(byssrc.keys().next().value!);
  byssrc.set(ssrc, state);
}

/** The remote SRTP context's prototype (werift does not export the class): from a throwaway session. */
function srtpContextPrototype(): WeriftSrtpContext {
  const key = Buffer.alloc(16, 1);
  const salt = Buffer.alloc(14, 2);
  const session = new SrtpSession({
    keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt },
    profile: 1,
  }) as unknown as { remoteContext?: object };
  const proto = session.remoteContext ? Object.getPrototypeOf(session.remoteContext) as WeriftSrtpContext | null : null;
  if (!proto || typeof proto.decryptRtp !== 'function') throw new Error('werift changed: SrtpSession.remoteContext.decryptRtp not found');
  return proto;
}

/** Put the project's parsers and SRTP index into werift. Idempotent. */
export function installWeriftFixes(): void {
  if (installed) return;
  installed = true;

  // Header only (SRTP reads it before decryption, when the padding count is still encrypted).
  RtpHeader.deSerialize = (raw: Buffer): RtpHeader => toWeriftHeader(strictHeader(raw, false));
  RtpPacket.deSerialize = (raw: Buffer): RtpPacket => {
    const f = strictHeader(raw, true);
    return new RtpPacket(toWeriftHeader(f), raw.subarray(f.payloadOffset, raw.length - f.paddingSize));
  };

  const parseCompound = RtcpPacketConverter.deSerialize.bind(RtcpPacketConverter);
  RtcpPacketConverter.deSerialize = (data: Buffer): RtcpPacket[] => {
    const bad = checkRtcpCompound(data);
    if (bad !== null) {
      countDrop(bad);
      throw new RangeError(`malformed RTCP compound packet (${bad})`);
    }
    return parseCompound(data);
  };

  const states = new WeakMap<object, Map<number, SrtpIndexState>>();
  const proto = srtpContextPrototype();
  proto.decryptRtp = function decryptRtp(this: WeriftSrtpContext, cipherText: Buffer): [Buffer, RtpHeader] {
    const f = parseRtpHeader(cipherText, this.rtpAuthTagLength);
    if (typeof f === 'string') {
      countDrop(f);
      throw new SrtpAuthenticationError(`malformed SRTP packet (${f})`);
    }
    const byssrc = indexStates(states, this);
    const state = byssrc.get(f.ssrc) ?? newSrtpIndexState();
    const roc = estimateRoc(state, f.sequenceNumber);
    let out: [Buffer, RtpHeader];
    try {
      out = this.cipher.decryptRtp(cipherText, roc, toWeriftHeader({ ...f, paddingSize: 0 }));
    } catch (err) {
      countDrop('srtp-auth');
      throw err;
    }
    commitIndex(state, f.sequenceNumber, roc);
    remember(byssrc, f.ssrc, state);
    return out;
  };
  const sent = new WeakMap<object, Map<number, SrtpIndexState>>();
  proto.encryptRtp = function encryptRtp(this: WeriftSrtpContext, payload: Buffer, header: RtpHeader): Buffer {
    const byssrc = indexStates(sent, this);
    const state = byssrc.get(header.ssrc) ?? newSrtpIndexState();
    const roc = estimateRoc(state, header.sequenceNumber);
    commitIndex(state, header.sequenceNumber, roc);
    remember(byssrc, header.ssrc, state);
    return this.cipher.encryptRtp(header, payload, roc);
  };
}
