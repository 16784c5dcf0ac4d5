/**
 * Checks on a client's SDP offer before it reaches the media engine, so that malformed input gets
 * a precise 400 instead of an opaque native error. The text is scanned here, bounds first, rather
 * than parsed with sdp-transform, which keeps one value per repeated attribute and drops text after
 * a value, where hostile offers aim (docs/security.md, "Offers"); test/fuzz/sdp-scanners.fuzz.test.ts
 * holds the scan to sdp-transform's parse wherever that parse is lossless.
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
  if (!/^a=ice-ufrag:/m.test(sdp)) throw new InvalidSdpError('the offer has no ICE credentials (a=ice-ufrag)');
  checkFingerprints(lines);
  checkMids(lines);
  // JSEP offers say actpass (or active/passive); holdconn asks the answerer to hold the DTLS
  // connection, which no engine here can answer usefully (libwebrtc took it and then failed).
  if (/^a=setup:holdconn/m.test(sdp)) throw new InvalidSdpError('a=setup:holdconn: a WebRTC offer must use actpass, active or passive');
  return sdp;
}

/** Bytes of each hash function's digest (RFC 8122 §5: the hash functions a fingerprint may name). */
const FINGERPRINT_BYTES: Record<string, number> = { 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64, md5: 16, md2: 16 };

/**
 * Every a=fingerprint names a known hash and has exactly its digest's bytes as colon-separated hex,
 * and there is at least one (RFC 8842 §5: an offer without one can never complete DTLS; libwebrtc
 * and werift accepted such offers and failed only at the handshake, holding a place until the
 * connect timeout).
 */
function checkFingerprints(lines: string[]): void {
  const fps = lines.filter((l) => l.startsWith('a=fingerprint:'));
  if (fps.length === 0) throw new InvalidSdpError('the offer has no DTLS fingerprint (a=fingerprint)');
  for (const line of fps) {
    // the longest valid line is sha-512's: 14 + 8 + 64 * 3 - 1 characters
    const m = line.length <= 256 ? /^a=fingerprint:(\S+) ((?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]{2})\s*$/.exec(line) : null;
    const bytes = m ? FINGERPRINT_BYTES[m[1]!.toLowerCase()] : undefined;
    if (!m || bytes === undefined || (m[2]!.length + 1) / 3 !== bytes) {
      throw new InvalidSdpError(`malformed DTLS fingerprint: ${line.slice(0, 80)}${line.length > 80 ? '...' : ''} (a hash of ${Object.keys(FINGERPRINT_BYTES).join(', ')} and its digest in colon-separated hex)`);
    }
  }
}

/** No two media sections share a mid (RFC 8843 §7.2: a mid names one section in a bundle). */
function checkMids(lines: string[]): void {
  const seen = new Set<string>();
  for (const line of lines) {
    if (!line.startsWith('a=mid:')) continue;
    const mid = line.slice(6).trim();
    if (seen.has(mid)) throw new InvalidSdpError(`two media sections have a=mid:${mid.slice(0, 32)}; a mid names one section`);
    seen.add(mid);
  }
}

/** One m= section of an offer, as far as the WHIP/WHEP checks read it. */
interface MediaSection {
  kind: string;
  rejected: boolean;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** Codec names of its rtpmap lines, upper case (VP8, H264, RTX, ...). */
  codecs: string[];
}

function mediaSections(sdp: string): MediaSection[] {
  const sections: MediaSection[] = [];
  let current: MediaSection | null = null;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      // Every m= line starts a media description (RFC 8866 §5.14), a malformed one too: its
      // attributes must not be read as the previous section's. A malformed one is of no kind.
      const m = /^m=(\w+) (\d+)(?:\/\d+)? \S+/.exec(line);
      current = { kind: m?.[1] ?? '', rejected: m?.[2] === '0', direction: 'sendrecv', codecs: [] };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    // Port 0 with bundle-only is a live section riding the bundle (RFC 9143), not a rejected one.
    if (line.startsWith('a=bundle-only')) current.rejected = false;
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
    if (dir) current.direction = dir[1] as MediaSection['direction'];
    const map = /^a=rtpmap:\d+ ([^/\s]+)\//.exec(line);
    if (map?.[1]) current.codecs.push(map[1].toUpperCase());
  }
  return sections;
}

/** A well-formed offer this server cannot answer (WHIP/WHEP answer 422). */
export class UnprocessableOfferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnprocessableOfferError';
  }
}

/** Codecs that are not video codecs but ride in a video section's rtpmap. */
const NOT_A_CODEC = new Set(['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03']);

/**
 * The WHIP/WHEP checks past checkOfferSdp (RFC 9725 §4.4: one MediaStream, at most one track per
 * kind; refuse rather than answer part of it): one video section, which sends (`publish`) or
 * receives (`view`), with a codec the engine runs. Throws UnprocessableOfferError.
 */
export function checkStandardOffer(sdp: string, role: 'publish' | 'view', engineMimeTypes: readonly string[]): void {
  const sections = mediaSections(sdp);
  const videos = sections.filter((s) => s.kind === 'video' && !s.rejected);
  const audios = sections.filter((s) => s.kind === 'audio' && !s.rejected);
  if (videos.length !== 1) throw new UnprocessableOfferError(`the offer has ${videos.length} video tracks; this server takes exactly one`);
  if (audios.length > 1) throw new UnprocessableOfferError(`the offer has ${audios.length} audio tracks; WHIP allows at most one`);
  const video = videos[0]!;
  const wanted = role === 'publish' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
  if (!wanted.includes(video.direction)) {
    throw new UnprocessableOfferError(`the video section is ${video.direction}; ${role === 'publish' ? 'a WHIP publisher must send' : 'a WHEP viewer must receive'}`);
  }
  const runs = new Set(engineMimeTypes.map((t) => t.replace(/^video\//i, '').toUpperCase()));
  const offered = video.codecs.filter((c) => !NOT_A_CODEC.has(c));
  if (!offered.some((c) => runs.has(c))) {
    throw new UnprocessableOfferError(
      `the offer's video codecs (${[...new Set(offered)].join(', ') || 'none'}) are not among this media engine's (${[...runs].join(', ')})`);
  }
}

/** The DTLS roles an offer asks for (its `a=setup` values, session level and every section), lower case. */
export function offeredDtlsSetups(sdp: string): Set<string> {
  const roles = new Set<string>();
  for (const m of sdp.matchAll(/^a=setup:(\S+)/gm)) roles.add(m[1]!.toLowerCase());
  return roles;
}
