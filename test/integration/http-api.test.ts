/**
 * The HTTP API against the real server process: the /process workload and its checksum, image
 * upload, and every kind of bad input answered with a JSON error and the right status.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { startTestServer, type TestServer } from '../support/server.js';

interface ErrorJson { error: { code: string; message: string } }

/** The /process workload written out from the spec, independently of src/processing. */
function specBlurChecksum(w: number, h: number, iterations: number): string {
  let img = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 4; c++) {
    img[(y * w + x) * 4 + c] = (x * 7 + y * 13 + c * 29 + (x ^ y) * 3) & 255;
  }
  const k = [1, 2, 1, 2, 4, 2, 1, 2, 1];
  for (let it = 0; it < iterations; it++) {
    const out = new Uint8Array(img.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const yy = Math.min(h - 1, Math.max(0, y + dy));
        const xx = Math.min(w - 1, Math.max(0, x + dx));
        sum += k[(dy + 1) * 3 + dx + 1]! * img[(yy * w + xx) * 4 + c]!;
      }
      out[(y * w + x) * 4 + c] = (sum + 8) >> 4;
    }
    img = out;
  }
  return createHash('sha256').update(img).digest('hex');
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  const text = await res.text();
  assert.equal(res.status, status, `status for ${res.url}: ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as ErrorJson;
  assert.equal(body.error.code, code, text);
  assert.ok(body.error.message.length > 0);
  return body;
}

const OFFER_SKELETON = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\n';

function post(url: string, body: string | Buffer, type = 'application/json'): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
}

describe('HTTP API', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_BODY_LIMIT_BYTES: '200000', RTC_MAX_PIXELS: '4000000' } });
  });
  after(async () => {
    await srv.stop();
  });

  it('serves health, readiness and backends', async () => {
    const h = (await (await fetch(`${srv.url}/healthz`)).json()) as Record<string, unknown>;
    assert.equal(h.status, 'ok');
    assert.equal(h.backend, 'cpu');
    assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
    const b = (await (await fetch(`${srv.url}/backends`)).json()) as { default: string; backends: Array<{ name: string; available: boolean; reason: string | null }> };
    assert.equal(b.default, 'cpu');
    const cpu = b.backends.find((x) => x.name === 'cpu');
    assert.equal(cpu?.available, true);
    const gpu = b.backends.find((x) => x.name === 'gpu');
    assert.equal(gpu?.available, false);
    assert.ok(gpu?.reason, 'an unavailable backend says why');
  });

  it('GET /process returns the checksum the spec defines', async () => {
    for (const [w, h, n] of [[7, 5, 2], [33, 17, 10], [64, 48, 1]] as const) {
      const res = await fetch(`${srv.url}/process?width=${w}&height=${h}&iterations=${n}&filter=blur&backend=cpu`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.checksum, specBlurChecksum(w, h, n));
      assert.equal(body.backend, 'cpu');
      assert.equal(body.width, w);
      assert.equal(body.iterations, n);
      const t = body.timings as Record<string, number>;
      for (const k of ['upload', 'compute', 'download', 'total']) assert.equal(typeof t[k], 'number');
      assert.ok(t.total! >= t.compute!);
    }
  });

  it('GET /process refuses bad parameters with 400 and a code', async () => {
    const cases: Array<[string, string]> = [
      ['width=0', 'INVALID_PARAMETER'],
      ['width=abc', 'INVALID_PARAMETER'],
      ['width=99999', 'INVALID_PARAMETER'],
      ['width=4000&height=4000', 'INVALID_PARAMETER'],
      ['iterations=0', 'INVALID_PARAMETER'],
      ['iterations=51', 'INVALID_PARAMETER'],
      ['iterations=1e3', 'INVALID_PARAMETER'],
      ['filter=sparkle', 'UNKNOWN_FILTER'],
      ['backend=tpu', 'INVALID_PARAMETER'],
    ];
    for (const [q, code] of cases) await expectError(await fetch(`${srv.url}/process?${q}`), 400, code);
    await expectError(await fetch(`${srv.url}/process?backend=gpu&width=8&height=8`), 503, 'BACKEND_UNAVAILABLE');
  });

  it('POST /process filters a PNG and raw RGBA', async () => {
    const png = new PNG({ width: 5, height: 3 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) & 255;
    const res = await post(`${srv.url}/process?filter=invert`, PNG.sync.write(png), 'image/png');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.match(res.headers.get('server-timing') ?? '', /total;dur=/);
    const out = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    assert.equal(out.width, 5);
    for (let i = 0; i < out.data.length; i++) {
      assert.equal(out.data[i], i % 4 === 3 ? png.data[i] : 255 - png.data[i]!, `byte ${i}`);
    }

    const raw = Buffer.alloc(4 * 3 * 4, 200);
    const r2 = await post(`${srv.url}/process?filter=invert&width=4&height=3`, raw, 'application/octet-stream');
    assert.equal(r2.status, 200);
    const bytes = Buffer.from(await r2.arrayBuffer());
    assert.equal(bytes.length, raw.length);
    assert.equal(bytes[0], 55);
    assert.equal(bytes[3], 200, 'alpha is kept');
  });

  it('POST /process refuses bad images and bodies', async () => {
    const png = new PNG({ width: 4, height: 4 });
    const good = PNG.sync.write(png);
    await expectError(await post(`${srv.url}/process`, good.subarray(0, good.length - 10), 'image/png'), 400, 'INVALID_IMAGE');
    await expectError(await post(`${srv.url}/process`, Buffer.from('not a png at all'), 'image/png'), 400, 'INVALID_IMAGE');
    await expectError(await post(`${srv.url}/process?width=4&height=4`, Buffer.alloc(10), 'application/octet-stream'), 400, 'INVALID_IMAGE');
    await expectError(await post(`${srv.url}/process`, Buffer.alloc(64), 'application/octet-stream'), 400, 'INVALID_PARAMETER');
    await expectError(await post(`${srv.url}/process`, Buffer.alloc(300_000), 'image/png'), 413, 'BODY_TOO_LARGE');
    await expectError(await post(`${srv.url}/process`, 'hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('POST /offer refuses bad JSON, bad SDP and unknown filters', async () => {
    const url = `${srv.url}/offer`;
    await expectError(await post(url, '{"sdp": '), 400, 'INVALID_JSON');
    await expectError(await post(url, '[1,2]'), 400, 'INVALID_PARAMETER');
    await expectError(await post(url, JSON.stringify({ sdp: OFFER_SKELETON, type: 'answer' })), 400, 'INVALID_SDP');
    await expectError(await post(url, JSON.stringify({ type: 'offer' })), 400, 'INVALID_SDP');
    await expectError(await post(url, JSON.stringify({ sdp: OFFER_SKELETON.replace('m=video', 'm=audio'), type: 'offer' })), 400, 'INVALID_SDP');
    await expectError(await post(url, JSON.stringify({ sdp: OFFER_SKELETON, type: 'offer', filter: 'sparkle' })), 400, 'UNKNOWN_FILTER');
    await expectError(await post(url, JSON.stringify({ sdp: OFFER_SKELETON, type: 'offer', video_transform: 'sparkle' })), 400, 'UNKNOWN_FILTER');
    await expectError(await post(url, JSON.stringify({ sdp: OFFER_SKELETON, type: 'offer', backend: 'gpu' })), 503, 'BACKEND_UNAVAILABLE');
    // Passes the quick checks, but libwebrtc cannot parse it.
    await expectError(await post(url, JSON.stringify({ sdp: OFFER_SKELETON, type: 'offer' })), 400, 'INVALID_SDP');
    await expectError(await post(url, JSON.stringify({ sdp: 'x'.repeat(300_000), type: 'offer' })), 413, 'BODY_TOO_LARGE');
    const list = (await (await fetch(`${srv.url}/sessions`)).json()) as { sessions: unknown[] };
    assert.deepEqual(list.sessions, [], 'no session leaked from refused offers');
  });

  it('answers unknown routes and sessions with JSON 404s, and is still alive', async () => {
    await expectError(await fetch(`${srv.url}/nope`), 404, 'NOT_FOUND');
    await expectError(await fetch(`${srv.url}/sessions/123`, { method: 'DELETE' }), 404, 'SESSION_NOT_FOUND');
    await expectError(await fetch(`${srv.url}/sessions/123`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}',
    }), 404, 'SESSION_NOT_FOUND');
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });
});

describe('HTTP API at capacity', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { RTC_MAX_SESSIONS: '0' } });
  });
  after(async () => {
    await srv.stop();
  });

  it('answers 503 AT_CAPACITY with Retry-After', async () => {
    const res = await post(`${srv.url}/offer`, JSON.stringify({ sdp: OFFER_SKELETON, type: 'offer' }));
    await expectError(res, 503, 'AT_CAPACITY');
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /rtc_sessions_rejected_total\{reason="capacity"\} 1/);
  });
});

describe('invalid configuration', () => {
  it('exits 1 with a message naming the variable', async () => {
    await assert.rejects(startTestServer({ env: { RTC_MAX_SESSIONS: 'lots' } }), (err: Error) => {
      assert.match(err.message, /exited with 1/);
      assert.match(err.message, /RTC_MAX_SESSIONS/);
      return true;
    });
  });
});
