/**
 * The project's SDP scanners in process, with no server: checkOfferSdp, checkStandardOffer and
 * offeredDtlsSetups (src/media/sdp.ts) and parseSdpFrag (src/protocol/sdpfrag.ts), on mutated real
 * offers, offer-like garbage and arbitrary text.
 *
 * - They are total: a verdict or their own error, never another exception, and quick at the size
 *   limit.
 * - The bounds (size, m-lines, candidates) hold on the raw text, whatever else the offer holds.
 * - Differential: on offers that sdp-transform (the parser the Node WebRTC world uses) reads without
 *   loss, the WHIP/WHEP verdict and the DTLS roles are the ones its parse gives. Where it is lossy
 *   (a repeated attribute keeps only the last value, trailing text after a value is dropped, mids
 *   are coerced to numbers) the scanner stays the stricter of the two; that is why the server scans
 *   the text itself (docs/security.md, "Offers").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseSdp } from 'sdp-transform';
import {
  checkOfferSdp, checkStandardOffer, InvalidSdpError, MAX_CANDIDATES, MAX_MEDIA_SECTIONS, MAX_SDP_BYTES, offeredDtlsSetups, UnprocessableOfferError,
} from '../../src/media/sdp.js';
import { MAX_SDPFRAG_CANDIDATES, parseSdpFrag, SdpFragError } from '../../src/protocol/sdpfrag.js';
import { fuzzParams } from '../support/fuzz/harness.js';
import { mutatedOffer, offerLikeText, REAL_OFFERS } from '../support/fuzz/sdp-mutations.js';

const ENGINE_CODECS = ['video/VP8', 'video/H264'];
const anyText = fc.oneof(
  mutatedOffer.map((o) => o.sdp),
  offerLikeText,
  fc.string({ maxLength: 2000 }),
  fc.string({ unit: 'binary', maxLength: 2000 }),
);

/** Runs `fn`; returns the error it threw (null when none), failing on any error not of `allowed`. */
function verdict(fn: () => unknown, ...allowed: Array<new (...a: never[]) => Error>): Error | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.ok(allowed.some((c) => e instanceof c), `unexpected ${String(e)}`);
    return e as Error;
  }
}

test('the offer checks are total: InvalidSdpError or UnprocessableOfferError, never anything else, and quick', () => {
  fc.assert(fc.property(anyText, fc.constantFrom('publish' as const, 'view' as const), (sdp, role) => {
    const t0 = performance.now();
    const invalid = verdict(() => checkOfferSdp(sdp), InvalidSdpError);
    if (invalid === null) verdict(() => checkStandardOffer(sdp, role, ENGINE_CODECS), UnprocessableOfferError);
    for (const r of offeredDtlsSetups(sdp)) assert.equal(r, r.toLowerCase());
    // wide enough for a loaded CI machine; a quadratic scan of a 64 kB offer would take seconds
    assert.ok(performance.now() - t0 < 1000, 'one offer is scanned in well under a second');
  }), fuzzParams(400));
});

test('the raw-text bounds hold whatever else the offer holds', () => {
  const body = fc.array(fc.constantFrom(...REAL_OFFERS.wrtc.split('\r\n').slice(1)), { maxLength: 40 });
  fc.assert(fc.property(body, fc.integer({ min: MAX_MEDIA_SECTIONS + 1, max: 60 }), fc.integer({ min: MAX_CANDIDATES + 1, max: 200 }), fc.boolean(),
    (lines, sections, candidates, overSections) => {
      const extra = overSections
        ? Array.from({ length: sections }, (_, i) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:x${i}`)
        : Array.from({ length: candidates }, (_, i) => `a=candidate:${i} 1 udp 1 127.0.0.1 ${1000 + i} typ host`);
      const sdp = ['v=0', ...lines, ...extra].join('\r\n');
      fc.pre(Buffer.byteLength(sdp) <= MAX_SDP_BYTES);
      const e = verdict(() => checkOfferSdp(sdp), InvalidSdpError);
      assert.ok(e !== null);
      // the m-line count is checked before the candidate count
      const mLines = sdp.split(/\r?\n/).filter((l) => l.startsWith('m=')).length;
      assert.match(e.message, mLines > MAX_MEDIA_SECTIONS ? /media sections/ : /ICE candidates/);
    }), fuzzParams(200));
});

test('trickle fragments are total: SdpFragError or a bounded fragment', () => {
  const fragLine = fc.oneof(
    fc.constantFrom('a=ice-ufrag:abcd', 'a=ice-pwd:0123456789012345678901', 'm=video 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:0', 'a=end-of-candidates',
      'a=candidate:1 1 udp 2122260223 127.0.0.1 10000 typ host', 'a=candidate:2 1 tcp 1 ::1 9 typ host tcptype active'),
    fc.string({ maxLength: 120 }),
    fc.tuple(fc.constantFrom('a=candidate:', 'a=ice-ufrag:', 'a=mid:', 'a=', 'm='), fc.string({ maxLength: 300 })).map(([k, v]) => k + v),
  );
  fc.assert(fc.property(fc.array(fragLine, { maxLength: 80 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
    let frag: ReturnType<typeof parseSdpFrag> | undefined;
    verdict(() => { frag = parseSdpFrag(lines.join(eol)); }, SdpFragError);
    if (frag) assert.ok(frag.candidates.length <= MAX_SDPFRAG_CANDIDATES);
  }), fuzzParams(400));
});

const NOT_A_CODEC = new Set(['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03']);

/**
 * True when sdp-transform reads what the checks use without loss: only CRLF or LF endings, at
 * most one direction and one setup line per level and each exactly a keyword, every rtpmap line
 * whole. (Malformed m= lines are compared too: both start a section of no kind there.)
 */
function readWithoutLoss(sdp: string): boolean {
  if (/\r(?!\n)/.test(sdp)) return false;
  const levels: string[][] = [[]];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      levels.push([]);
      continue;
    }
    const level = levels[levels.length - 1]!;
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)/.exec(line);
    if (dir) {
      if (line !== `a=${dir[1]}` || level.includes('dir')) return false;
      level.push('dir');
    }
    if (line.startsWith('a=setup:')) {
      if (!/^a=setup:\w+$/.test(line) || level.includes('setup')) return false;
      level.push('setup');
    }
    if (line.startsWith('a=bundle-only') && line !== 'a=bundle-only') return false;
    if (line.startsWith('a=rtpmap:') && !/^a=rtpmap:\d+ [\w.-]+\/\d+(?:\/\S+)?$/.test(line)) return false;
  }
  return true;
}

/** checkStandardOffer's verdict computed from sdp-transform's parse: the message it must give, or null. */
function oracleVerdict(sdp: string, role: 'publish' | 'view'): RegExp | null {
  const media = parseSdp(sdp).media;
  const live = (kind: string) => media.filter((m) => m.type === kind && (m.port !== 0 || m.bundleOnly !== undefined));
  const videos = live('video');
  if (videos.length !== 1) return new RegExp(`the offer has ${videos.length} video tracks`);
  if (live('audio').length > 1) return /audio tracks/;
  const direction = videos[0]!.direction ?? 'sendrecv';
  const wanted = role === 'publish' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
  if (!wanted.includes(direction)) return new RegExp(`the video section is ${direction};`);
  const codecs = (videos[0]!.rtp ?? []).map((r) => String(r.codec).toUpperCase()).filter((c) => !NOT_A_CODEC.has(c));
  if (!codecs.some((c) => c === 'VP8' || c === 'H264')) return /video codecs/;
  return null;
}

test('differential: where sdp-transform reads an offer without loss, the WHIP/WHEP verdict and the DTLS roles are its parse\'s', () => {
  let compared = 0;
  fc.assert(fc.property(fc.oneof(mutatedOffer.map((o) => o.sdp), offerLikeText), fc.constantFrom('publish' as const, 'view' as const), (sdp, role) => {
    if (verdict(() => checkOfferSdp(sdp), InvalidSdpError) !== null) return;
    if (!readWithoutLoss(sdp)) return;
    compared++;
    const expected = oracleVerdict(sdp, role);
    const got = verdict(() => checkStandardOffer(sdp, role, ENGINE_CODECS), UnprocessableOfferError);
    if (expected === null) assert.equal(got, null, `sdp-transform's parse accepts it:\n${sdp}`);
    else assert.match(got?.message ?? 'accepted', expected, sdp);
    const parsed = parseSdp(sdp);
    const roles = new Set([parsed.setup, ...parsed.media.map((m) => m.setup)].filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase()));
    assert.deepEqual([...offeredDtlsSetups(sdp)].sort(), [...roles].sort());
  }), fuzzParams(600));
  assert.ok(compared > 50, `too few offers compared (${compared}): the generator or the filter drifted`);
});

test('where sdp-transform is lossy, the scanner is stricter: a repeated or trailing-junk attribute is still refused', () => {
  const good = REAL_OFFERS.wrtc;
  const fp = /^a=fingerprint:.*$/m.exec(good)![0];
  const mid = /^a=mid:.*$/m.exec(good)![0];
  for (const [what, sdp] of [
    ['a malformed fingerprint before a good one', good.replace(fp, `a=fingerprint:sha-256 00:11\r\n${fp}`)],
    ['trailing text after a fingerprint', good.replace(fp, `${fp} junk`)],
    ['a second a=mid of the same value in one section', good.replace(mid, `${mid}\r\n${mid}`)],
  ] as const) {
    assert.throws(() => checkOfferSdp(sdp), InvalidSdpError, what);
    // sdp-transform keeps one value per attribute and level, so its parse cannot see the fault
    assert.doesNotThrow(() => parseSdp(sdp), what);
  }
});
