/**
 * POST /process with the face filters on the real server: a photo with a face comes back with the
 * face covered and everything outside the covered box unchanged (PNG and raw RGBA), `faces` draws,
 * `style=pixelate` works and a bad style is a 400.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { SKIMAGE_DATA } from '../../bench/faces/dataset.js';
import { ASTRONAUT_FACE, astronaut, datasetAvailable, detailRgba } from '../support/face-frames.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { RgbaImage } from '../../src/processing/types.js';

describe('POST /process?filter=anonymize', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let server: TestServer;
  let photo: RgbaImage;
  before(async () => {
    server = await startTestServer({ env: { RTC_BACKEND: 'cpu' } });
    photo = await astronaut();
  });
  after(async () => { await server?.stop(); });

  /** Pixels that changed, and the bounding box of the changes. */
  function changes(a: Uint8Array, b: Uint8Array, w: number): { n: number; x0: number; y0: number; x1: number; y1: number } {
    let n = 0, x0 = w, y0 = Infinity, x1 = -1, y1 = -1;
    for (let i = 0; i < a.length; i += 4) {
      if (a[i] === b[i] && a[i + 1] === b[i + 1] && a[i + 2] === b[i + 2] && a[i + 3] === b[i + 3]) continue;
      const x = (i / 4) % w, y = Math.floor(i / 4 / w);
      n++; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    return { n, x0, y0, x1, y1 };
  }

  test('a PNG: the face is blurred, the rest of the image unchanged', async () => {
    const png = readFileSync(path.join(SKIMAGE_DATA, 'astronaut.png'));
    const res = await fetch(`${server.url}/process?filter=anonymize`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('x-rtc-faces-covered-whole'), '0');
    assert.ok(Number(res.headers.get('x-rtc-faces')) >= 1);
    const { data } = await sharp(Buffer.from(await res.arrayBuffer())).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const out = { ...photo, data: new Uint8Array(data) };
    assert.ok(detailRgba(out, ASTRONAUT_FACE) < 0.3 * detailRgba(photo, ASTRONAUT_FACE));
    const c = changes(photo.data, out.data, photo.width);
    // Only the (padded) face box changed: well under a fifth of the photo, around her face (and,
    // at the third pyramid level, a weak 28 px box at her collar: a false positive, y 198-226).
    assert.ok(c.n < 0.2 * photo.width * photo.height, `${c.n} pixels changed`);
    assert.ok(c.x0 >= 140 && c.x1 <= 320 && c.y0 >= 40 && c.y1 <= 240, JSON.stringify(c));
  });

  test('raw RGBA, pixelated; faces draws; a bad style is refused', async () => {
    const raw = await fetch(`${server.url}/process?filter=anonymize&style=pixelate&width=512&height=512`, {
      method: 'POST', body: photo.data, headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(raw.status, 200);
    const out = { ...photo, data: new Uint8Array(await raw.arrayBuffer()) };
    assert.ok(detailRgba(out, ASTRONAUT_FACE) < 0.5 * detailRgba(photo, ASTRONAUT_FACE));
    const drawn = await fetch(`${server.url}/process?filter=faces&width=512&height=512`, {
      method: 'POST', body: photo.data, headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(drawn.status, 200);
    const d = new Uint8Array(await drawn.arrayBuffer());
    const c = changes(photo.data, d, 512);
    assert.ok(c.n > 0 && c.n < 0.05 * 512 * 512);
    const bad = await fetch(`${server.url}/process?filter=anonymize&style=smudge&width=512&height=512`, {
      method: 'POST', body: photo.data, headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json() as { error: { code: string } }).error.code, 'INVALID_PARAMETER');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /rtc_face_inference_seconds_count\{provider="cpu"\} [1-9]/);
    assert.match(metrics, /rtc_faces_per_frame_count\{filter="anonymize"\} [1-9]/);
  });
});
