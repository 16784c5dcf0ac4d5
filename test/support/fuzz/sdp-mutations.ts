/**
 * Mutations of real SDP offers for fuzzing POST /offer: lines dropped, repeated, swapped or
 * cut, numbers changed (ports, payload types, SSRCs, priorities) to edge values, garbage and
 * huge lines injected, line endings changed. The two seeds are real offers from Chromium and
 * from @roamhq/wrtc (test/support/fuzz/fixtures, captured by fixtures/capture-offers.ts).
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/support/fuzz -> test/support/fuzz/fixtures in the source tree (fixtures are not compiled). */
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/support/fuzz/fixtures');

/** The real offers, by origin. */
export const REAL_OFFERS: Record<'chromium' | 'wrtc', string> = {
  chromium: readFileSync(path.join(FIXTURES, 'chromium-offer.sdp'), 'utf8'),
  wrtc: readFileSync(path.join(FIXTURES, 'wrtc-offer.sdp'), 'utf8'),
};

/** Numbers that break parsers: zero, negatives, limits of 16/31/32/53/64-bit integers, floats. */
const edgeNumber = fc.constantFrom(
  '0', '-1', '1', '65535', '65536', '127', '128', '255', '256', '2147483647', '2147483648', '4294967295', '4294967296',
  '9007199254740993', '18446744073709551616', '99999999999999999999999999999', '1.5', '1e9', '-0', 'NaN', '',
);

/** A line that does not belong: random text, known attributes with odd values, extra sections. */
const garbageLine = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.tuple(fc.constantFrom('a=', 'm=', 'c=', 'b=', 'o=', 's=', 't=', 'v=', 'x=', '='), fc.string({ maxLength: 60 })).map(([k, v]) => k + v),
  fc.constantFrom(
    'm=video 9 UDP/TLS/RTP/SAVPF', 'm=video 0 UDP/TLS/RTP/SAVPF 96', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'a=rtpmap:96 VP8/90000', 'a=rtpmap:96', 'a=rtpmap:abc VP8', 'a=fmtp:96', 'a=ssrc:1 cname:x', 'a=ssrc-group:FID 1 2 3 4 5',
    'a=setup:passive', 'a=setup:holdconn', 'a=fingerprint:sha-256 00', 'a=fingerprint:md5 zz', 'a=ice-ufrag:', 'a=ice-pwd:x',
    'a=mid:', 'a=mid:0', 'a=group:BUNDLE 7 8 9', 'a=extmap:0 x', 'a=extmap:99999 urn:x', 'a=candidate:1 1 udp 1 999.1.1.1 9 typ host',
    'a=candidate:x', 'a=rid:1 send', 'a=simulcast:send 1;2;3', 'a=sctp-port:0', 'a=max-message-size:-1', 'a=rtcp-fb:* nack',
    'a=msid:- -', 'a=inactive', 'a=recvonly', 'a=sendonly', 'b=AS:0', 'b=AS:99999999999', 'c=IN IP6 ::1', 'c=IN IP4 999.999.1.1',
  ),
);

/** One way of damaging an SDP (as its lines). */
type Mutation =
  | { kind: 'drop'; at: number; count: number }
  | { kind: 'duplicate'; at: number; times: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'truncateLine'; at: number; keep: number }
  | { kind: 'number'; at: number; which: number; value: string }
  | { kind: 'inject'; at: number; line: string }
  | { kind: 'huge'; at: number; size: number }
  | { kind: 'replaceChar'; at: number; pos: number; ch: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), times: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('truncateLine' as const), at: fc.nat(), keep: fc.nat() }),
  fc.record({ kind: fc.constant('number' as const), at: fc.nat(), which: fc.nat(), value: edgeNumber }),
  fc.record({ kind: fc.constant('inject' as const), at: fc.nat(), line: garbageLine }),
  fc.record({ kind: fc.constant('huge' as const), at: fc.nat(), size: fc.constantFrom(1000, 8000, 30_000, 70_000) }),
  fc.record({ kind: fc.constant('replaceChar' as const), at: fc.nat(), pos: fc.nat(), ch: fc.constantFrom(':', ' ', '=', '/', '\0', '\r', '\n', '\u00ff', '😀') }),
);

/** Apply one mutation to the lines (mutates the array). Line 0 (v=0) is spared by most, so the offer reaches libwebrtc. */
function apply(lines: string[], m: Mutation): void {
  const n = lines.length;
  if (n === 0) return;
  const idx = (i: number): number => 1 + (i % Math.max(1, n - 1));
  switch (m.kind) {
    case 'drop':
      lines.splice(idx(m.at), m.count);
      return;
    case 'duplicate': {
      const i = idx(m.at);
      lines.splice(i, 0, ...Array<string>(m.times).fill(lines[i] ?? ''));
      return;
    }
    case 'swap': {
      const a = idx(m.a);
      const b = idx(m.b);
      [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      return;
    }
    case 'truncateLine': {
      const i = idx(m.at);
      const l = lines[i] ?? '';
      lines[i] = l.slice(0, m.keep % (l.length + 1));
      return;
    }
    case 'number': {
      const i = idx(m.at);
      const l = lines[i] ?? '';
      const nums = [...l.matchAll(/\d+/g)];
      if (nums.length === 0) return;
      const hit = nums[m.which % nums.length]!;
      lines[i] = l.slice(0, hit.index) + m.value + l.slice(hit.index! + hit[0].length);
      return;
    }
    case 'inject':
      lines.splice(idx(m.at), 0, m.line);
      return;
    case 'huge': {
      const i = idx(m.at);
      lines[i] = (lines[i] ?? 'a=x') + 'x'.repeat(m.size);
      return;
    }
    case 'replaceChar': {
      const i = idx(m.at);
      const l = lines[i] ?? '';
      const p = m.pos % (l.length + 1);
      lines[i] = l.slice(0, p) + m.ch + l.slice(p + 1);
    }
  }
}

/** How the mutated lines are joined again. */
const lineEnding = fc.oneof(
  { weight: 14, arbitrary: fc.constant('\r\n') },
  { weight: 4, arbitrary: fc.constant('\n') },
  { weight: 2, arbitrary: fc.constantFrom('\r', '\r\r\n', '\n\r', '\n\n', ' \r\n') },
);

/** A real offer with 1 to 4 line mutations and possibly other line endings and a cut tail. */
export const mutatedOffer: fc.Arbitrary<{ origin: 'chromium' | 'wrtc'; sdp: string }> = fc
  .record({
    origin: fc.constantFrom('chromium' as const, 'wrtc' as const),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
    ending: lineEnding,
    // the tail is cut in one offer of ten
    cut: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
  })
  .map(({ origin, mutations, ending, cut }) => {
    const lines = REAL_OFFERS[origin].split('\r\n');
    for (const m of mutations) apply(lines, m);
    let sdp = lines.join(ending);
    if (cut !== null) sdp = sdp.slice(0, cut % (sdp.length + 1));
    return { origin, sdp };
  });

/** Arbitrary text dressed as an offer: passes the server's own quick checks, so libwebrtc parses it. */
export const offerLikeText: fc.Arbitrary<string> = fc
  .array(fc.oneof(garbageLine, fc.constantFrom(...REAL_OFFERS.wrtc.split('\r\n'))), { maxLength: 30 })
  .map((lines) => ['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=ice-ufrag:abcd', ...lines].join('\r\n'));
