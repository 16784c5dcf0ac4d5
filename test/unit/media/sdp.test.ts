/**
 * The offer SDP checks (src/media/sdp.ts): an offer needs a video section and a sane size, and
 * bounds on offers (issue 14: m-lines cost file descriptors, candidates cost STUN checks to
 * addresses the client names): refused with InvalidSdpError before the engine sees them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkOfferSdp, InvalidSdpError, MAX_CANDIDATES, MAX_MEDIA_SECTIONS } from '../../../src/media/sdp.js';

const HEAD = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n';
const video = (mid: number, candidates = 1): string =>
  `m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:${mid}\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n` +
  'a=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC\r\na=setup:actpass\r\na=sendrecv\r\na=rtpmap:96 VP8/90000\r\n' +
  Array.from({ length: candidates }, (_, i) => `a=candidate:${i} 1 udp 2122260223 127.0.0.1 ${10000 + i} typ host\r\n`).join('');
const app = 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:9\r\na=sctp-port:5000\r\n';

describe('offer bounds', () => {
  it('accepts a video and an application section, and up to the candidate bound', () => {
    const sdp = HEAD + video(0, MAX_CANDIDATES) + app;
    assert.equal(checkOfferSdp(sdp), sdp);
  });

  it(`refuses more than ${MAX_MEDIA_SECTIONS} media sections (100 and 800 m=video lines were answered)`, () => {
    const refused = (sdp: string, what: string): void =>
      assert.throws(() => checkOfferSdp(sdp), (e: unknown) => e instanceof InvalidSdpError && /media sections/.test(e.message), what);
    for (const n of [MAX_MEDIA_SECTIONS + 1, 100]) refused(HEAD + Array.from({ length: n }, (_, i) => video(i, 0)).join(''), `${n}`);
    // The 62 kB offer: one full video section, then 799 bare m=video lines.
    refused(HEAD + video(0) + 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n'.repeat(799), '800');
  });

  it(`refuses more than ${MAX_CANDIDATES} candidates (600 were answered, each one a STUN target)`, () => {
    assert.throws(() => checkOfferSdp(HEAD + video(0, MAX_CANDIDATES + 1) + app), /ICE candidates/);
    const spread = HEAD + video(0, 20) + video(1, 20);
    assert.throws(() => checkOfferSdp(spread), /ICE candidates/);
  });
});

describe('offer SDP checks', () => {
  const good = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\n';
  it('accepts an offer with a video section', () => {
    assert.equal(checkOfferSdp(good), good);
  });
  for (const [what, sdp] of [
    ['not a string', 42],
    ['empty', ''],
    ['not SDP', 'hello'],
    ['audio only', good.replace('m=video', 'm=audio')],
    ['rejected video', good.replace('m=video 9', 'm=video 0')],
    ['too long', good + 'a=x:' + 'y'.repeat(70_000) + '\r\n'],
  ] as const) {
    it(`refuses ${what}`, () => assert.throws(() => checkOfferSdp(sdp), InvalidSdpError));
  }
});

describe('offers that could never connect are refused at once', () => {
  const ok = HEAD + video(0) + app;
  const refused = (sdp: string, pattern: RegExp): void =>
    assert.throws(() => checkOfferSdp(sdp), (e: unknown) => e instanceof InvalidSdpError && pattern.test(e.message));

  it('refuses an offer without a=fingerprint (answered 200 before, then held its place until the connect timeout)', () => {
    refused(ok.replace(/a=fingerprint:[^\r]*\r\n/, ''), /no DTLS fingerprint/);
  });

  it('refuses a malformed or oversized fingerprint: unknown hash, wrong digest length, not hex, 60 kB', () => {
    const fp = /a=fingerprint:sha-256 (\S+)/.exec(ok)![1]!;
    refused(ok.replace('sha-256', 'sha-999'), /malformed DTLS fingerprint/);
    refused(ok.replace(fp, fp.slice(0, 47)), /malformed DTLS fingerprint/);
    refused(ok.replace(fp, fp.replace('6F', 'ZZ')), /malformed DTLS fingerprint/);
    refused(ok.replace(fp, Array.from({ length: 20_000 }, () => 'AB').join(':')), /malformed DTLS fingerprint/);
    assert.equal(checkOfferSdp(ok.replace(`sha-256 ${fp}`, `sha-1 ${fp.slice(0, 59)}`)), ok.replace(`sha-256 ${fp}`, `sha-1 ${fp.slice(0, 59)}`), 'a sha-1 digest of 20 bytes');
  });

  it('refuses two media sections with the same mid', () => {
    refused(HEAD + video(0) + app.replace('a=mid:9', 'a=mid:0'), /a=mid:0/);
  });

  it('refuses an offer without ICE credentials', () => {
    refused(ok.replace(/a=ice-ufrag:[^\r]*\r\n/, ''), /ICE credentials/);
  });
});

