/**
 * POST /process against hostile uploads (issue 14, items 1, 2, 4, 5, 12), on the real server
 * process: no other request's bytes in an answer, every IHDR checked, no JSON parsing, upload
 * memory bounded before bodies are read, slow bodies timed out, framing errors in the API's shape.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { chunk, ihdr, pngFile, realPng } from '../support/png-inputs.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface ApiErrorBody {
  error: { code: string; message: string };
}

const post = (url: string, body: Uint8Array | string, type: string): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal((JSON.parse(text) as ApiErrorBody).error.code, code, text);
}

/** A raw HTTP exchange: write `chunks` (pausing `pauseMs` between them), collect what comes back until close or `waitMs`. */
function rawExchange(port: number, chunks: Array<string | Buffer>, waitMs: number): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => done(false), waitMs);
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    sock.on('close', () => done(true));
    sock.on('error', () => undefined);
    sock.on('connect', () => { for (const c of chunks) sock.write(c); });
  });
}

/** The JSON error of the first response in raw HTTP output. */
function rawError(text: string): { status: number; body: ApiErrorBody } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
  return { status, body: JSON.parse(text.slice(head.length + 4, head.length + 4 + length)) as ApiErrorBody };
}

/**
 * Poll /healthz back to back while `work` runs: the longest answer is about the longest time
 * the server's event loop was blocked.
 */
async function longestHealthzDuring<T>(url: string, work: Promise<T>): Promise<{ result: T; maxMs: number }> {
  let finished = false;
  let maxMs = 0;
  const poll = (async () => {
    while (!finished) {
      const t0 = performance.now();
      await fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
      maxMs = Math.max(maxMs, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const result = await work.finally(() => { finished = true; });
  await poll;
  return { result, maxMs };
}

describe('POST /process: decoding untrusted PNGs', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    await srv.stop();
  });

  it('refuses a 1-row PNG whose data inflates to one byte (was 200 with uninitialised memory)', async () => {
    // Fill the server's pools with a recognisable secret first, as other clients would.
    const secret = 'a=ice-pwd:SECRETSECRETSECRET0123';
    for (let i = 0; i < 20; i++) await post(`${srv.url}/process?filter=none`, secret.repeat(2000), 'application/octet-stream');
    for (const width of [3000, 4096, 7680]) {
      const file = pngFile([chunk('IHDR', ihdr(width, 1)), chunk('IDAT', deflateSync(Buffer.from([0])))]);
      const res = await post(`${srv.url}/process?filter=none`, file, 'image/png');
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 400, `width ${width}: ${res.status}`);
      assert.equal((JSON.parse(body.toString()) as ApiErrorBody).error.code, 'INVALID_IMAGE');
      assert.ok(!body.includes('SECRET'), 'no other request leaks into the answer');
    }
  });

  it('refuses a second IHDR at once (was 5-13 s of blocked loop and 3.2 GB)', async () => {
    const idat = chunk('IDAT', deflateSync(Buffer.alloc(8 * 33)));
    for (const second of [ihdr(16000, 16000), ihdr(30000, 30000), ihdr(4000, 4000, 16, 6, 1)]) {
      const file = pngFile([chunk('IHDR', ihdr(8, 8)), chunk('IHDR', second), idat]);
      const t0 = performance.now();
      await expectError(await post(`${srv.url}/process?filter=none`, file, 'image/png'), 400, 'INVALID_IMAGE');
      assert.ok(performance.now() - t0 < 2000, 'answered without decoding');
    }
  });

  it('refuses a PNG without IDAT (was 200) and a truncated one', async () => {
    await expectError(await post(`${srv.url}/process`, pngFile([chunk('IHDR', ihdr(8, 8))]), 'image/png'), 400, 'INVALID_IMAGE');
    const good = realPng(40, 30);
    for (const cut of [good.length - 1, good.length - 12, 60]) {
      await expectError(await post(`${srv.url}/process`, good.subarray(0, cut), 'image/png'), 400, 'INVALID_IMAGE');
    }
  });

  it('takes IMAGE/PNG as image/png (was treated as raw RGBA)', async () => {
    const res = await post(`${srv.url}/process?filter=invert`, realPng(6, 4), 'IMAGE/PNG; charset=binary');
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'image/png');
    const out = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([out.width, out.height], [6, 4]);
  });

  it('never parses JSON on /process (a 38 MiB nested array blocked the loop 9-11 s)', async (t) => {
    // Invalid JSON tells parsing from refusing: parsed, it would be INVALID_JSON.
    await expectError(await post(`${srv.url}/process`, '{"not": json', 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const nested = '['.repeat(4 * 1024 * 1024) + ']'.repeat(4 * 1024 * 1024);
    const { result, maxMs } = await longestHealthzDuring(srv.url, post(`${srv.url}/process`, nested, 'application/json'));
    await expectError(result, 415, 'UNSUPPORTED_MEDIA_TYPE');
    t.diagnostic(`8 MiB nested-array JSON: longest /healthz ${maxMs.toFixed(0)} ms`);
    assert.ok(maxMs < 1000, `the event loop stayed responsive (longest /healthz ${maxMs.toFixed(0)} ms)`);
  });

  it('decodes and encodes a 4K 16-bit interlaced PNG off the event loop (it blocked 1-2.8 s)', async (t) => {
    const w = 3840;
    const h = 2160;
    const px = Buffer.alloc(w * h * 4 * 2);
    for (let i = 0; i < px.length; i += 2) px.writeUInt16LE(((i >> 3) % w) * 17 & 0xffff, i);
    const file = await sharp(px, { raw: { width: w, height: h, channels: 4, premultiplied: false }, limitInputPixels: false })
      .toColourspace('rgb16').png({ progressive: true, compressionLevel: 1 }).toBuffer();
    const { result, maxMs } = await longestHealthzDuring(srv.url, post(`${srv.url}/process?filter=invert`, file, 'image/png'));
    assert.equal(result.status, 200, await result.clone().text());
    const meta = await sharp(Buffer.from(await result.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [w, h]);
    t.diagnostic(`4K 16-bit interlaced PNG (${file.length} bytes): longest /healthz ${maxMs.toFixed(0)} ms`);
    assert.ok(maxMs < 1000, `the event loop stayed responsive (longest /healthz ${maxMs.toFixed(0)} ms)`);
  });

  it('answers framing errors in the API error shape (was fastify\'s {error, message, statusCode})', async () => {
    const bad = rawError((await rawExchange(srv.port, ['GARBAGE / HTTP/1.1\r\n\r\n'], 3000)).text);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'MALFORMED_REQUEST');
    const big = rawError((await rawExchange(srv.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`], 3000)).text);
    assert.equal(big.status, 431);
    assert.equal(big.body.error.code, 'HEADERS_TOO_LARGE');
  });
});

describe('POST /process: upload memory and slow bodies', () => {
  const LIMIT = 1024 * 1024;
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      env: {
        RTC_BODY_LIMIT_BYTES: String(LIMIT),
        RTC_PROCESS_MAX_BUFFERED_BYTES: String(2 * LIMIT),
        RTC_REQUEST_TIMEOUT_S: '2',
      },
    });
  });
  after(async () => {
    await srv.stop();
  });

  const head = (length: number): string =>
    `POST /process?width=512&height=512&filter=none HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

  it('refuses an upload past the buffered-bytes bound before reading it, and times out bodies that stall', async () => {
    // Two uploads that stop one byte short hold the whole budget...
    const stalled = [1, 2].map(() => rawExchange(srv.port, [head(LIMIT), Buffer.alloc(LIMIT - 1)], 8000));
    await new Promise((r) => setTimeout(r, 500));
    // ...so a third is refused at once, with its body unread (was: buffered, 4 GB at 120 of them).
    const third = await rawExchange(srv.port, [head(LIMIT), Buffer.alloc(LIMIT)], 2000);
    const refused = rawError(third.text);
    assert.equal(refused.status, 503, third.text);
    assert.equal(refused.body.error.code, 'SERVER_BUSY');
    assert.match(third.text, /retry-after: 1/i);
    // The stalled ones get 408 after RTC_REQUEST_TIMEOUT_S (was: held for ever) and are closed.
    for (const s of await Promise.all(stalled)) {
      assert.ok(s.closed, 'the connection was closed');
      assert.ok(s.ms < 6000, `within the request timeout (+ the 1 s check interval): ${s.ms} ms`);
      const timedOut = rawError(s.text);
      assert.equal(timedOut.status, 408, s.text);
      assert.equal(timedOut.body.error.code, 'REQUEST_TIMEOUT');
    }
    // Their bytes were given back: a full-size upload is taken again.
    const res = await post(`${srv.url}/process?width=512&height=512&filter=invert`, new Uint8Array(LIMIT), 'application/octet-stream');
    assert.equal(res.status, 200, await res.clone().text());
  });
});
