/**
 * Checks on a client's SDP offer before it reaches libwebrtc, so that malformed input gets a
 * precise 400 instead of an opaque native error.
 */

/** Longest SDP accepted; real offers are a few kB. */
export const MAX_SDP_BYTES = 64 * 1024;

/**
 * Most media sections (m-lines) an offer may have. This server answers one video and one
 * application section; each section costs the engine file descriptors (800 m=video lines cost
 * about 3,220 fds and the third such offer exhausted nofile=4096), so a few spare are allowed.
 */
export const MAX_MEDIA_SECTIONS = 4;

/**
 * Most ICE candidates an offer may list. The server sends STUN checks to every address a client
 * lists (600 candidates: checks to any port the client names), so this bounds that too. A
 * browser lists a handful per interface.
 */
export const MAX_CANDIDATES = 32;

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
  const lines = sdp.split(/\r?\n/);
  const sections = lines.filter((l) => l.startsWith('m=')).length;
  if (sections > MAX_MEDIA_SECTIONS) {
    throw new InvalidSdpError(`the offer has ${sections} media sections (m= lines); at most ${MAX_MEDIA_SECTIONS} are accepted`);
  }
  const candidates = lines.filter((l) => l.startsWith('a=candidate:')).length;
  if (candidates > MAX_CANDIDATES) {
    throw new InvalidSdpError(`the offer lists ${candidates} ICE candidates; at most ${MAX_CANDIDATES} are accepted`);
  }
  const videos = lines.filter((l) => l.startsWith('m=video '));
  if (videos.length === 0) throw new InvalidSdpError('the offer has no video section (m=video)');
  if (videos.every((l) => /^m=video 0 /.test(l))) throw new InvalidSdpError('every video section of the offer is rejected (port 0)');
  if (!/^a=(ice-ufrag|fingerprint):/m.test(sdp)) throw new InvalidSdpError('the offer has no ICE credentials or DTLS fingerprint');
  // JSEP offers say actpass (or active/passive); holdconn asks the answerer to hold the DTLS
  // connection, which no engine here can answer usefully (libwebrtc took it and then failed).
  if (/^a=setup:holdconn/m.test(sdp)) throw new InvalidSdpError('a=setup:holdconn: a WebRTC offer must use actpass, active or passive');
  return sdp;
}
