/**
 * The sharp PNG decoder: no uninitialised memory, corrupt data, the pixel limit, interlacing, every
 * colour type, lossless encoding.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { decodePng, encodePng, PngDecodeError } from '../../../src/server/png-codec.js';
import { checkPngHeader } from '../../../src/server/png-guard.js';
import { chunk, ihdr, pngFile, realPng } from '../../support/png-inputs.js';

const LIMITS = { maxDimension: 7680, maxPixels: 3840 * 2160 };

/** A 1-row RGBA image `width` wide whose IDAT inflates to a single (filter) byte. */
const oneByteRow = (width: number): Buffer => pngFile([chunk('IHDR', ihdr(width, 1)), chunk('IDAT', deflateSync(Buffer.from([0])))]);

describe('PNG decoder', () => {
  it('refuses image data that inflates to less than the image (pngjs handed out uninitialised memory here)', async () => {
    for (const width of [1, 3000, 4000, 7680]) {
      const file = oneByteRow(width);
      checkPngHeader(file, LIMITS); // structurally complete: only the decoder can tell
      await assert.rejects(decodePng(file, LIMITS.maxPixels), PngDecodeError, `width ${width}`);
    }
  });

  it('refuses a corrupt zlib stream and a bad CRC', async () => {
    const bad = pngFile([chunk('IHDR', ihdr(8, 8)), chunk('IDAT', Buffer.from('not zlib at all'))]);
    await assert.rejects(decodePng(bad, LIMITS.maxPixels), PngDecodeError);
    const crc = pngFile([chunk('IHDR', ihdr(8, 8)), chunk('IDAT', deflateSync(Buffer.alloc(8 * 33)), true)]);
    await assert.rejects(decodePng(crc, LIMITS.maxPixels), PngDecodeError);
  });

  it('refuses more pixels than the limit itself', async () => {
    await assert.rejects(decodePng(realPng(64, 64), 64 * 63), PngDecodeError);
  });

  it('inflates no more of an interlaced image than its size needs', async () => {
    // 128 kB of zlib that inflates to 128 MiB, behind a 1000x1000 interlaced 16-bit IHDR (8 MB):
    // libpng stops at the last row (the old guard inflated it all on the event loop to check).
    const bomb = deflateSync(Buffer.alloc(128 * 1024 * 1024), { level: 9 });
    const file = pngFile([chunk('IHDR', ihdr(1000, 1000, 16, 6, 1)), chunk('IDAT', bomb)]);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const out = await decodePng(file, LIMITS.maxPixels).catch((e: unknown) => (e instanceof PngDecodeError ? e : null));
    assert.ok(out !== null, 'no other error');
    assert.ok(out instanceof PngDecodeError || out.data.length === 1000 * 1000 * 4, 'refused, or decoded to its declared size');
    assert.ok(process.memoryUsage().rss - rss0 < 100 * 1024 * 1024, 'decoding stayed near the image size');
    assert.ok(performance.now() - t0 < 5000, 'and did not inflate the whole stream');
  });

  it('decodes grey, grey+alpha, RGB, RGBA and 16-bit PNGs to the same RGBA as pngjs', async () => {
    const kinds: Array<{ colorType: 0 | 2 | 4 | 6; bitDepth: 8 | 16 }> = [
      { colorType: 0, bitDepth: 8 }, { colorType: 4, bitDepth: 8 }, { colorType: 2, bitDepth: 8 },
      { colorType: 6, bitDepth: 8 }, { colorType: 6, bitDepth: 16 }, { colorType: 2, bitDepth: 16 },
    ];
    for (const k of kinds) {
      const file = realPng(33, 7, k);
      const ours = await decodePng(file, LIMITS.maxPixels);
      const theirs = PNG.sync.read(file);
      assert.equal(ours.width, 33);
      assert.equal(ours.height, 7);
      // 16-bit channels: libvips scales to 8 bits with rounding, pngjs truncates (at most 1 apart).
      const maxDiff = ours.data.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs.data[i]!)), 0);
      assert.ok(maxDiff <= (k.bitDepth === 16 ? 1 : 0), `${JSON.stringify(k)}: differs by ${maxDiff}`);
    }
  });

  it('decodes an interlaced PNG', async () => {
    const rgba = Buffer.alloc(21 * 13 * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 7) & 255;
    const file = await sharp(rgba, { raw: { width: 21, height: 13, channels: 4 } }).png({ progressive: true }).toBuffer();
    assert.equal(checkPngHeader(file, LIMITS).interlaced, true);
    assert.deepEqual(Buffer.from((await decodePng(file, LIMITS.maxPixels)).data), rgba);
  });

  it('encodes RGBA losslessly', async () => {
    const rgba = new Uint8Array(19 * 11 * 4).map((_, i) => (i * 13) & 255);
    const png = await encodePng(rgba, 19, 11);
    assert.deepEqual(PNG.sync.read(png).data, Buffer.from(rgba));
  });
});
