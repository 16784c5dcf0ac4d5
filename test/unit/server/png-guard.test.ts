/**
 * The PNG guard: second IHDR, no IDAT, truncation, bytes after IEND, size limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { checkPngHeader, PngGuardError } from '../../../src/server/png-guard.js';
import { chunk, ihdr, pngFile, realPng } from '../../support/png-inputs.js';

const LIMITS = { maxDimension: 7680, maxPixels: 3840 * 2160 };

describe('PNG guard', () => {
  it('passes a real PNG and reports its size', () => {
    assert.deepEqual(checkPngHeader(realPng(17, 5), LIMITS), { width: 17, height: 5, interlaced: false });
  });

  it('refuses a second IHDR, whatever it declares', () => {
    const idat = chunk('IDAT', deflateSync(Buffer.alloc(8 * 33)));
    for (const second of [ihdr(16000, 16000), ihdr(8, 8), ihdr(16000, 16000, 16, 6, 1)]) {
      const file = pngFile([chunk('IHDR', ihdr(8, 8)), chunk('IHDR', second), idat]);
      assert.throws(() => checkPngHeader(file, LIMITS), (e: unknown) => e instanceof PngGuardError && /more than one IHDR/.test(e.message));
    }
  });

  it('refuses a PNG without IDAT', () => {
    assert.throws(() => checkPngHeader(pngFile([chunk('IHDR', ihdr(8, 8))]), LIMITS), /no image data/);
  });

  it('refuses every truncation of a real PNG, and bytes after IEND', () => {
    const good = realPng(12, 9);
    for (let cut = 0; cut < good.length; cut++) {
      assert.throws(() => checkPngHeader(good.subarray(0, cut), LIMITS), PngGuardError, `cut at ${cut}`);
    }
    assert.throws(() => checkPngHeader(Buffer.concat([good, Buffer.from('junk')]), LIMITS), /after its IEND/);
  });

  it('refuses dimensions over the limits as too large', () => {
    const file = pngFile([chunk('IHDR', ihdr(3841, 2160)), chunk('IDAT', deflateSync(Buffer.alloc(1)))]);
    assert.throws(() => checkPngHeader(file, LIMITS), (e: unknown) => e instanceof PngGuardError && e.reason === 'too-large');
  });
});
