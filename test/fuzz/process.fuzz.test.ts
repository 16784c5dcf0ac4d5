/**
 * Fuzzing /process against the real server: GET query strings, POST bodies (damaged real PNGs,
 * forged headers declaring huge images, raw RGBA of the wrong size, wrong content types).
 * Property: a 2xx of the right shape or a 4xx/503 JSON error, never another 5xx; afterwards the
 * server is alive and its peak memory has not jumped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  FUZZ_SERVER_ENV, assertClientError, assertServerHealthy, describeOutcome, fuzzParams, isSuccess, outcome, postBody, procFigures,
} from '../support/fuzz/harness.js';
import { SEED_PNGS, chunk, damagedPng, forgedHeaderPng, ihdr, pngFile, realPng } from '../support/png-inputs.js';

/** Small enough that any accepted request is cheap on a busy 2-core machine. */
const MAX_WORK = 64 * 64 * 4;

/** Peak resident memory a batch may add: far below what a decoded huge image would take. */
const MAX_PEAK_GROWTH_KB = 150 * 1024;

const NAMES = ['width', 'height', 'iterations', 'filter', 'backend', 'video_transform', 'x', ''];

/** A query value: plausible numbers, names, and anything else. */
const queryValue = fc.oneof(
  fc.integer({ min: -5, max: 80 }).map(String),
  fc.constantFrom('0', '-1', '1.5', '1e2', '0x10', 'NaN', 'Infinity', '', ' 8', '8 ', '99999999999999999999', '7680', '7681', '3840', '2160'),
  fc.constantFrom('none', 'invert', 'grayscale', 'blur', 'edges', 'sharpen', 'auto', 'cpu', 'gpu', 'reference', 'BLUR', '__proto__', 'constructor'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** A raw query string: encoded pairs (keys may repeat), or raw bytes with broken escapes. */
const queryString = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.tuple(fc.constantFrom(...NAMES), queryValue), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => s.replace(/[#\s]/g, '')) },
  { weight: 1, arbitrary: fc.constantFrom('width=%zz', 'width=%', 'width[]=8', 'width[a]=8&height=8', '%00=1', 'a=1&&&&b', '=&=&=', 'width=8&width=9&height=8') },
);

/** Sizes of accepted requests stay small: keep the width x height of plausible cases down. */
function cheapQuery(q: string): string {
  return q.includes('width') || q.includes('height') ? q : `${q}${q === '' ? '' : '&'}width=16&height=16`;
}

describe('fuzz /process', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      env: { ...FUZZ_SERVER_ENV, RTC_PROCESS_MAX_WORK: String(MAX_WORK), RTC_PROCESS_CONCURRENCY: '2', RTC_PROCESS_QUEUE: '2' },
    });
  });
  after(async () => {
    await srv?.stop();
  });

  it('GET /process with arbitrary query strings answers 200 with a result or a JSON 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(queryString, async (q) => {
        const o = await outcome(await fetch(`${srv.url}/process?${cheapQuery(q)}`));
        if (isSuccess(o)) {
          const b = o.json as { width: number; height: number; checksum: string };
          assert.equal(o.status, 200, describeOutcome(o));
          assert.ok(b.width * b.height > 0 && /^[0-9a-f]{64}$/.test(b.checksum), describeOutcome(o));
        } else {
          assertClientError(o, `GET ?${q}`);
        }
      }),
      fuzzParams(1000),
    );
    await assertServerHealthy(srv);
  });

  it('POST /process with damaged real PNGs: 200 with a PNG of the declared size, or INVALID_IMAGE/INVALID_PARAMETER', async () => {
    await fc.assert(
      fc.asyncProperty(damagedPng, fc.constantFrom('none', 'invert', 'blur'), async (png, filter) => {
        const o = await outcome(await postBody(`${srv.url}/process?filter=${filter}`, png, 'image/png'));
        if (isSuccess(o)) {
          assert.match(o.contentType, /^image\/png/, describeOutcome(o));
        } else {
          const code = assertClientError(o, `PNG of ${png.length} bytes`);
          assert.ok(['INVALID_IMAGE', 'INVALID_PARAMETER', 'SERVER_BUSY'].includes(code), describeOutcome(o));
        }
      }),
      fuzzParams(800),
    );
    await assertServerHealthy(srv);
  });

  it('POST /process with headers declaring huge images is refused without decoding them', async () => {
    const before = await procFigures(srv.pid);
    await fc.assert(
      fc.asyncProperty(forgedHeaderPng, async (png) => {
        const o = await outcome(await postBody(`${srv.url}/process?filter=none`, png, 'image/png'));
        if (!isSuccess(o)) assertClientError(o, `forged PNG ${png.subarray(16, 29).toString('hex')}`);
      }),
      fuzzParams(400),
    );
    await assertServerHealthy(srv);
    const afterFigures = await procFigures(srv.pid);
    assert.ok(afterFigures.hwmKb - before.hwmKb < MAX_PEAK_GROWTH_KB,
      `peak RSS grew from ${before.hwmKb} kB to ${afterFigures.hwmKb} kB over forged-header PNGs`);
  });

  it('POST /process raw RGBA with arbitrary sizes and content types', async () => {
    const contentType = fc.constantFrom(
      'application/octet-stream', 'image/png', 'text/plain', 'application/json', 'multipart/form-data; boundary=x',
      'application/octet-stream; charset=utf-8', 'IMAGE/PNG', 'image/png;;', 'application/x-www-form-urlencoded', '', null,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: -8, max: 8 }), contentType, fc.boolean(),
        async (w, h, delta, type, asPng) => {
          const len = Math.max(0, w * h * 4 + delta);
          const body = asPng && w > 0 && h > 0 ? realPng(w, h) : new Uint8Array(len).fill(7);
          const o = await outcome(await postBody(`${srv.url}/process?width=${w}&height=${h}&filter=invert`, body, type));
          if (isSuccess(o)) {
            assert.ok(o.text.length > 0, describeOutcome(o));
          } else {
            assertClientError(o, `raw ${w}x${h} +${delta} as ${String(type)}`);
          }
        },
      ),
      fuzzParams(300),
    );
    await assertServerHealthy(srv);
  });

  it('the seed PNGs themselves are processed (so the mutations start from valid input)', async () => {
    for (const png of SEED_PNGS) {
      const o = await fetch(`${srv.url}/process?filter=invert`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
      assert.equal(o.status, 200);
      const out = PNG.sync.read(Buffer.from(await o.arrayBuffer()));
      const inp = PNG.sync.read(png);
      assert.deepEqual([out.width, out.height], [inp.width, inp.height]);
    }
  });
});

describe('regression: PNG headers are checked before decoding', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: FUZZ_SERVER_ENV });
  });
  after(async () => {
    await srv?.stop();
  });

  it('a 69-byte PNG declaring 7680x4320 is a 400 and costs no large allocation', async () => {
    const before = await procFigures(srv.pid);
    const png = pngFile([chunk('IHDR', ihdr(7680, 4320)), chunk('IDAT', Buffer.alloc(0))]);
    const o = await outcome(await postBody(`${srv.url}/process`, png, 'image/png'));
    const code = assertClientError(o);
    assert.ok(code === 'INVALID_PARAMETER' || code === 'INVALID_IMAGE', describeOutcome(o));
    const afterFigures = await procFigures(srv.pid);
    // Decoding it would allocate 7680*4320*4 bytes (127 MiB) at least twice.
    assert.ok(afterFigures.hwmKb - before.hwmKb < 64 * 1024, `peak RSS ${before.hwmKb} -> ${afterFigures.hwmKb} kB`);
  });

  it('an interlaced PNG whose data inflates far beyond its declared size is answered without inflating it all', async () => {
    const before = await procFigures(srv.pid);
    const { deflateSync } = await import('node:zlib');
    // 64x64 RGBA interlaced needs about 17 kB of inflated data; this inflates to 128 MiB.
    // libpng (src/server/png-codec.ts) stops at the last row: the image is decoded at its declared
    // size or refused, and the rest of the stream is never inflated.
    const png = pngFile([chunk('IHDR', ihdr(64, 64, 8, 6, 1)), chunk('IDAT', deflateSync(Buffer.alloc(128 * 1024 * 1024)))]);
    const o = await outcome(await postBody(`${srv.url}/process`, png, 'image/png'));
    if (isSuccess(o)) {
      assert.equal(o.contentType, 'image/png', describeOutcome(o));
    } else {
      assert.equal(assertClientError(o), 'INVALID_IMAGE', describeOutcome(o));
    }
    const afterFigures = await procFigures(srv.pid);
    assert.ok(afterFigures.hwmKb - before.hwmKb < 64 * 1024, `peak RSS ${before.hwmKb} -> ${afterFigures.hwmKb} kB`);
  });
});
