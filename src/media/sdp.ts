/**
 * Checks on a client's SDP offer before it reaches libwebrtc, so that malformed input gets a
 * precise 400 instead of an opaque native error.
 */

/** Longest SDP accepted; real offers are a few kB. */
export const MAX_SDP_BYTES = 64 * 1024;

/** Why an offer was refused. */
export class InvalidSdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSdpError';
  }
}

/** Throw InvalidSdpError unless `sdp` looks like an offer with a video section we can answer. */
export function checkOfferSdp(sdp: unknown): string {
  if (typeof sdp !== 'string' || sdp.trim() === '') throw new InvalidSdpError('sdp must be a non-empty string');
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES) throw new InvalidSdpError(`sdp is longer than ${MAX_SDP_BYTES} bytes`);
  if (!sdp.startsWith('v=0')) throw new InvalidSdpError('sdp must start with "v=0"');
  const videos = sdp.split(/\r?\n/).filter((l) => l.startsWith('m=video '));
  if (videos.length === 0) throw new InvalidSdpError('the offer has no video section (m=video)');
  if (videos.every((l) => /^m=video 0 /.test(l))) throw new InvalidSdpError('every video section of the offer is rejected (port 0)');
  if (!/^a=(ice-ufrag|fingerprint):/m.test(sdp)) throw new InvalidSdpError('the offer has no ICE credentials or DTLS fingerprint');
  return sdp;
}
