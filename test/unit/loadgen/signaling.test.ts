/**
 * The load generator's offer exchange against a stand-in HTTP server on loopback: both protocols'
 * offer URLs and request bodies, 503 with Retry-After as a rejection, other failures as signalling errors; and
 * the server stats the data channel carries.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answeredVideoCodec, deleteResource, deleteSession, exchangeOffer, offerBody, offerUrl, RejectedError, SignalingError, watchSession, whipUrl } from '../../../src/loadgen/signaling.js';
import { parseServerStats } from '../../../src/loadgen/client-session.js';

interface Seen { method?: string; path: string; body: unknown; authorization: string | undefined; contentType?: string | undefined }

/** JSON bodies parsed, SDP (WHIP/WHEP) kept as text. */
function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
const seen: Seen[] = [];
let reply: (res: http.ServerResponse) => void = (res) => res.end();
let server: http.Server;
let url = '';

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      seen.push({ path: req.url ?? '', body: body ? parseBody(body) : null, authorization: req.headers.authorization });
      if (req.headers['content-type'] === 'application/sdp') seen.at(-1)!.contentType = 'application/sdp';
      if (req.method !== 'POST') seen.at(-1)!.method = req.method;
      reply(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

function json(status: number, body: unknown, headers: Record<string, string> = {}): (res: http.ServerResponse) => void {
  return (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

test('rtc-scale: POST /offer with filter, iterations and backend; answer with session id', async () => {
  reply = json(200, { sdp: 'v=0 answer', type: 'answer', sessionId: 's1', iceServers: [] });
  const a = await exchangeOffer(`${url}/`, 'rtc-scale', 'v=0 offer', { filter: 'blur', iterations: 3, backend: 'cpu' }, 2000);
  assert.deepEqual(a, { sdp: 'v=0 answer', type: 'answer', sessionId: 's1' });
  assert.deepEqual(seen.at(-1), {
    path: '/offer', body: { sdp: 'v=0 offer', type: 'offer', filter: 'blur', iterations: 3, backend: 'cpu' }, authorization: undefined,
  });
  await exchangeOffer(url, 'rtc-scale', 'v=0 offer', { filter: 'none', iterations: 1, token: 'secret-token-0123456789' }, 2000);
  assert.equal(seen.at(-1)!.authorization, 'Bearer secret-token-0123456789');
  assert.equal((seen.at(-1)!.body as Record<string, unknown>).token, undefined, 'the token travels only in the header');
});

test('aiortc: video_transform, and an answer without session id', async () => {
  reply = json(200, { sdp: 'v=0 answer', type: 'answer' });
  const a = await exchangeOffer(url, 'aiortc', 'v=0 offer', { filter: 'edges', iterations: 1 }, 2000);
  assert.deepEqual(a, { sdp: 'v=0 answer', type: 'answer' });
  assert.deepEqual(seen.at(-1)!.body, { sdp: 'v=0 offer', type: 'offer', video_transform: 'edges' });
});

test('503 and 429 are rejections carrying the error code and Retry-After', async () => {
  reply = json(503, { error: { code: 'AT_CAPACITY', message: 'full' } }, { 'retry-after': '3' });
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 2000), (err: unknown) => {
    assert.ok(err instanceof RejectedError);
    assert.equal(err.code, 'AT_CAPACITY');
    assert.equal(err.retryAfterS, 3);
    return true;
  });
  reply = json(429, { error: { code: 'TOO_MANY_REQUESTS', message: 'slow down' } }, { 'retry-after': '7' });
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 2000),
    (err: unknown) => err instanceof RejectedError && err.code === 'TOO_MANY_REQUESTS' && err.retryAfterS === 7);
  reply = (res) => { res.writeHead(503); res.end('busy'); };
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 2000),
    (err: unknown) => err instanceof RejectedError && err.code === 'UNAVAILABLE' && err.retryAfterS === null);
});

test('other statuses, bodies without an answer, and unreachable servers are signalling errors', async () => {
  reply = json(400, { error: { code: 'UNKNOWN_FILTER', message: 'no' } });
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'nope', iterations: 1 }, 2000),
    (err: unknown) => err instanceof SignalingError && err.status === 400 && /UNKNOWN_FILTER/.test(err.message));
  reply = json(200, { hello: 'world' });
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 2000),
    (err: unknown) => err instanceof SignalingError && err.status === 200);
  reply = (res) => { res.writeHead(200); res.end('<html>'); };
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 2000), SignalingError);
  // Nothing listens on port 9 of loopback.
  await assert.rejects(exchangeOffer('http://127.0.0.1:9', 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 2000),
    (err: unknown) => err instanceof SignalingError && err.status === null);
});

test('a slow server is cut off by the timeout', async () => {
  reply = (res) => { setTimeout(() => json(200, { sdp: 'late', type: 'answer' })(res), 1500); };
  await assert.rejects(exchangeOffer(url, 'rtc-scale', 'x', { filter: 'none', iterations: 1 }, 200), SignalingError);
});

test('data-channel stats messages are validated (src/protocol) before the report keeps their figures', () => {
  const session = {
    id: 's1', state: 'live', createdAt: '2026-01-01T00:00:00.000Z', filter: 'blur', iterations: 2, backend: 'auto', activeBackend: 'cpu',
    width: 320, height: 240, codec: 'video/VP8', fpsIn: 29.5, fpsOut: 29, framesReceived: 100, framesSent: 98, framesDropped: 2,
    processingMs: { p50: 1.5, p95: 3 }, serverLatencyMs: { p50: 2, p95: null }, extra: 'ignored',
  };
  assert.deepEqual(parseServerStats(JSON.stringify({ type: 'stats', session })), {
    activeBackend: 'cpu', fpsIn: 29.5, fpsOut: 29, framesDropped: 2, processingMs: { p50: 1.5, p95: 3 }, serverLatencyMs: { p50: 2, p95: null },
    // the server's codec is kept (it says what the answer ran); the media fields it left out read as null
    codec: 'video/VP8', encoder: null, decoder: null,
  });
  for (const bad of ['{"type":"pong","t":1}', 'not json', '{"type":"stats"}', '{"type":"stats","session":3}', 'null',
    JSON.stringify({ type: 'ack', session }), JSON.stringify({ type: 'stats', session: { ...session, fpsIn: 'fast' } }),
    JSON.stringify({ type: 'stats', session: { activeBackend: 'cpu', fpsIn: 29.5 } })]) {
    assert.equal(parseServerStats(bad), null, bad);
  }
  assert.equal(parseServerStats(new ArrayBuffer(2)), null);
});

test('deleteSession sends DELETE /sessions/:id with the token and never throws', async () => {
  reply = (res) => { res.writeHead(204); res.end(); };
  await deleteSession(`${url}/offer`, 'a b', 'secret-token-0123456789');
  assert.deepEqual(seen.at(-1), { method: 'DELETE', path: '/sessions/a%20b', body: null, authorization: 'Bearer secret-token-0123456789' });
  await deleteSession('http://127.0.0.1:9', 'x', undefined, 500);
});

function sdp(status: number, body: string, headers: Record<string, string> = {}): (res: http.ServerResponse) => void {
  return (res) => {
    res.writeHead(status, { 'content-type': status === 201 ? 'application/sdp' : 'application/json', ...headers });
    res.end(body);
  };
}

test('whip: POST /whip/FILTER?iterations&backend with application/sdp; 201 body and Location', async () => {
  assert.equal(whipUrl('http://h:1/whip/x', { filter: 'blur', iterations: 2 }), 'http://h:1/whip/blur?iterations=2');
  seen.length = 0;
  reply = sdp(201, 'v=0 answer', { location: '/whip/sessions/abc' });
  const a = await exchangeOffer(url, 'whip', 'v=0 offer', { filter: 'blur', iterations: 3, backend: 'cpu', token: 'secret-token-0123456789' }, 2000);
  assert.deepEqual(a, { sdp: 'v=0 answer', type: 'answer', sessionId: 'abc', resourceUrl: `${url}/whip/sessions/abc` });
  assert.deepEqual(seen[0], { path: '/whip/blur?iterations=3&backend=cpu', body: 'v=0 offer', authorization: 'Bearer secret-token-0123456789', contentType: 'application/sdp' });

  reply = sdp(503, JSON.stringify({ error: { code: 'AT_CAPACITY', message: 'full' } }), { 'retry-after': '5' });
  await assert.rejects(exchangeOffer(url, 'whip', 'v=0', { filter: 'none', iterations: 1 }, 2000), (err: unknown) =>
    err instanceof RejectedError && err.code === 'AT_CAPACITY' && err.retryAfterS === 5);
  reply = sdp(422, JSON.stringify({ error: { code: 'UNPROCESSABLE_OFFER', message: 'H264' } }));
  await assert.rejects(exchangeOffer(url, 'whip', 'v=0', { filter: 'none', iterations: 1 }, 2000), (err: unknown) =>
    err instanceof SignalingError && err.status === 422 && /UNPROCESSABLE_OFFER/.test(err.message));
  reply = sdp(200, 'v=0 but no Location');
  await assert.rejects(exchangeOffer(url, 'whip', 'v=0', { filter: 'none', iterations: 1 }, 2000), SignalingError);
});

test('WHEP viewers: POST /whep/SESSION; DELETE of the resource', async () => {
  seen.length = 0;
  reply = sdp(201, 'v=0 viewer answer', { location: `${url}/whep/viewers/v1` });
  const a = await watchSession(`${url}/whip`, 'abc', 'v=0 recvonly', undefined, 2000);
  assert.equal(a.resourceUrl, `${url}/whep/viewers/v1`);
  assert.equal(seen[0]!.path, '/whep/abc');
  reply = (res) => { res.writeHead(200); res.end(); };
  await deleteResource(a.resourceUrl!, undefined);
  assert.deepEqual([seen[1]!.method, seen[1]!.path], ['DELETE', '/whep/viewers/v1']);
});

test('offer bodies for both protocols', () => {
  assert.equal(offerUrl('http://h:1/'), 'http://h:1/offer');
  assert.equal(offerUrl('http://h:1/offer'), 'http://h:1/offer');
  assert.deepEqual(offerBody('rtc-scale', 'v=0', { filter: 'blur', iterations: 2, backend: 'gpu' }),
    { sdp: 'v=0', type: 'offer', filter: 'blur', iterations: 2, backend: 'gpu' });
  assert.deepEqual(offerBody('aiortc', 'v=0', { filter: 'edges', iterations: 1 }), { sdp: 'v=0', type: 'offer', video_transform: 'edges' });
  assert.deepEqual(offerBody('rtc-scale', 'v=0', { filter: 'anonymize', iterations: 1, style: 'pixelate' }),
    { sdp: 'v=0', type: 'offer', filter: 'anonymize', iterations: 1, style: 'pixelate' });
  assert.equal(whipUrl('http://h:1', { filter: 'anonymize', iterations: 1, style: 'pixelate' }), 'http://h:1/whip/anonymize?iterations=1&style=pixelate');
});

test('answeredVideoCodec: the first payload type of the first video section, named by its rtpmap', () => {
  const answer = (pts: string, maps: string[]): string => ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2',
    `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`, ...maps, 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=rtpmap:106 VP9/90000', ''].join('\r\n');
  // aiortc answers every common codec, in the offer's order: the first is what it sends
  assert.equal(answeredVideoCodec(answer('106 107 96 97', ['a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=rtpmap:106 h264/90000', 'a=rtpmap:107 rtx/90000'])), 'H264');
  assert.equal(answeredVideoCodec(answer('96 97', ['a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000'])), 'VP8');
  // no rtpmap for the first payload type in the video section (a later section's does not count)
  assert.equal(answeredVideoCodec(answer('106', ['a=rtpmap:96 VP8/90000'])), null);
  assert.equal(answeredVideoCodec('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n'), null);
  assert.equal(answeredVideoCodec(''), null);
});
