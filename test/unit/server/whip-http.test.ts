/**
 * The WHIP/WHEP building blocks without media: trickle fragments read and written, ICE-server
 * Link headers both ways, the WHIP offer checks (422), and the trickle PATCH handler on a peer
 * of an engine without trickle (405) and on one with it (428, 412, 422, 204).
 */
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { describe, it } from 'node:test';
import type { MediaPeer } from '../../../src/media/engine.js';
import { checkStandardOffer, UnprocessableOfferError } from '../../../src/media/sdp.js';
import {
  iceServerLink, MAX_SDPFRAG_CANDIDATES, parseIceServerLinks, parseSdpFrag, SdpFragError, writeSdpFrag,
} from '../../../src/protocol/index.js';
import { ApiError, errorBody } from '../../../src/server/errors.js';
import { handleTrickle, iceServerLinks, IceSessions, registerSdpBodyParsers } from '../../../src/server/whip-http.js';

const CAND = 'candidate:1 1 udp 2122194687 127.0.0.1 36267 typ host generation 0';

describe('trickle-ice-sdpfrag', () => {
  it('reads credentials, candidates by mid and end-of-candidates; writes what it reads', () => {
    const body = writeSdpFrag({ iceUfrag: 'Bzjc', icePwd: 'pwd0123456789abcdefghij', mid: '0', candidates: [CAND, `a=${CAND}`], endOfCandidates: true });
    const f = parseSdpFrag(body);
    assert.equal(f.iceUfrag, 'Bzjc');
    assert.equal(f.icePwd, 'pwd0123456789abcdefghij');
    assert.deepEqual(f.candidates, [{ candidate: CAND, mid: '0' }, { candidate: CAND, mid: '0' }]);
    assert.equal(f.endOfCandidates, true);
    assert.deepEqual(parseSdpFrag(`a=${CAND}\n`).candidates, [{ candidate: CAND, mid: null }]);
  });

  it('refuses what is not a fragment', () => {
    for (const bad of ['', 'hello', 'a=candidate:x', 'a=ice-ufrag:has space', 'x'.repeat(20000), `a=mid:${'m'.repeat(40)}`,
      Array.from({ length: MAX_SDPFRAG_CANDIDATES + 1 }, () => `a=${CAND}`).join('\r\n')]) {
      assert.throws(() => parseSdpFrag(bad), SdpFragError, JSON.stringify(bad.slice(0, 30)));
    }
  });
});

describe('ICE-server Link headers', () => {
  it('writes one Link per URL with the TURN credentials, and reads them back', () => {
    const links = iceServerLinks([
      { urls: 'stun:stun.example.net' },
      { urls: ['turn:turn.example.net?transport=udp', 'turns:turn.example.net'], username: '1700000000:a"b', credential: 'c\\d' },
    ]);
    assert.equal(links.length, 3);
    assert.equal(links[0], '<stun:stun.example.net>; rel="ice-server"');
    assert.equal(links[1], '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="1700000000:a\\"b"; credential="c\\\\d"; credential-type="password"');
    const back = parseIceServerLinks([links.join(', '), '<https://example.net/>; rel="next"']);
    assert.deepEqual(back, [
      { urls: 'stun:stun.example.net' },
      { urls: 'turn:turn.example.net?transport=udp', username: '1700000000:a"b', credential: 'c\\d' },
      { urls: 'turns:turn.example.net', username: '1700000000:a"b', credential: 'c\\d' },
    ]);
    assert.equal(iceServerLink('stun:x'), '<stun:x>; rel="ice-server"');
  });
});

const offer = (video: string): string => [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=ice-ufrag:abcd', 'a=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=sendonly', 'a=rtpmap:111 opus/48000/2', video,
].join('\r\n');

describe('WHIP offer checks', () => {
  const vp8 = ['video/VP8', 'video/VP9'];
  it('takes one sending video track with a codec the engine runs (bundle-only port 0 included)', () => {
    checkStandardOffer(offer('m=video 0 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\na=bundle-only\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000'), 'publish', vp8);
    checkStandardOffer(offer('m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 VP8/90000'), 'view', vp8);
  });
  it('refuses H264 only on VP8/VP9, the wrong direction, and two video tracks', () => {
    const cases: Array<[string, 'publish' | 'view', RegExp]> = [
      ['m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\na=sendonly\r\na=rtpmap:102 H264/90000\r\na=rtpmap:103 rtx/90000', 'publish', /H264.*VP8/],
      ['m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 VP8/90000', 'publish', /must send/],
      ['m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=rtpmap:96 VP8/90000', 'view', /must receive/],
      ['m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000', 'publish', /2 video tracks/],
    ];
    for (const [video, role, message] of cases) {
      assert.throws(() => checkStandardOffer(offer(video), role, vp8), (err: unknown) => err instanceof UnprocessableOfferError && message.test(err.message));
    }
  });
});

function fakePeer(trickle: boolean, added: string[]): MediaPeer {
  const peer: MediaPeer = {
    connectionState: 'connected',
    sendFrame: () => {},
    stats: async () => ({ codec: null, encoder: null, decoder: null, rttMs: null, lossRatio: null, sendBitrateKbps: null, encodeMs: null, decodeMs: null }),
    close: () => {},
  };
  if (trickle) peer.addRemoteCandidate = async (c) => { added.push(c); };
  return peer;
}

async function trickleApp(trickle: boolean, added: string[]) {
  const app = Fastify();
  registerSdpBodyParsers(app);
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    return reply.code(500).send(errorBody('INTERNAL', String(err)));
  });
  const ice = new IceSessions(4, () => true);
  const etag = ice.add('r', 'v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n');
  app.patch('/r', (req, reply) => handleTrickle(req, reply, fakePeer(trickle, added), ice.get('r')!));
  await app.ready();
  return { app, etag };
}

describe('trickle PATCH', () => {
  const frag = `a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=${CAND}\r\n`;
  const type = { 'content-type': 'application/trickle-ice-sdpfrag' };

  it('answers 405 with Allow where the engine takes no trickled candidates', async () => {
    const { app, etag } = await trickleApp(false, []);
    const res = await app.inject({ method: 'PATCH', url: '/r', headers: { ...type, 'if-match': etag }, payload: frag });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, 'DELETE, OPTIONS');
    assert.equal(res.json().error.code, 'METHOD_NOT_ALLOWED');
    await app.close();
  });

  it('adds candidates with 204; 428, 412 (weak tags never match), 422 for a restart', async () => {
    const added: string[] = [];
    const { app, etag } = await trickleApp(true, added);
    const patch = (headers: Record<string, string>, payload = frag) => app.inject({ method: 'PATCH', url: '/r', headers: { ...type, ...headers }, payload });
    assert.equal((await patch({})).statusCode, 428);
    assert.equal((await patch({ 'if-match': `W/${etag}` })).statusCode, 412);
    const ok = await patch({ 'if-match': `"other", ${etag}` });
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.headers.etag, undefined);
    assert.deepEqual(added, [CAND]);
    const restart = await patch({ 'if-match': '*' }, frag.replace('ufrag:abcd', 'ufrag:efgh'));
    assert.equal(restart.statusCode, 422);
    assert.equal(restart.json().error.code, 'ICE_RESTART_UNSUPPORTED');
    assert.equal(added.length, 1, 'a refused restart adds nothing');
    await app.close();
  });

  it('keeps its table bounded', () => {
    const ice = new IceSessions(3, () => true);
    for (let i = 0; i < 10; i++) ice.add(`r${i}`, 'v=0');
    assert.equal(ice.get('r6'), undefined);
    assert.ok(ice.get('r9') && ice.get('r7'));
  });
});
