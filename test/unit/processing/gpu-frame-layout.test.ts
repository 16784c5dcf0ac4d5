/**
 * frameLayout: the GPU frame layouts (dispatch grids, padding), without a GPU.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frameLayout } from '../../../src/processing/gpu/frame-layout.js';
import { i420Size } from '../../../src/processing/types.js';

describe('frameLayout', () => {
  test('I420 frames are padded to whole words and fold the grid into two dimensions', () => {
    const l = frameLayout('i420', 7, 3);
    assert.equal(l.bytes, i420Size(7, 3));
    assert.equal(l.bytes, 37);
    assert.equal(l.paddedBytes, 40);
    assert.deepEqual(l.groups, [1, 1]);
    const big = frameLayout('i420', 7680, 4320);
    assert.ok(big.groups[0] <= 65535 && big.groups[1] >= 1);
    assert.ok(big.groups[0] * big.groups[1] * 256 * 4 >= big.bytes);
  });

  test('RGBA frames dispatch 16x16 workgroups, or one per 32x32 block for the fused blur', () => {
    const l = frameLayout('rgba', 1920, 1080);
    assert.equal(l.bytes, 1920 * 1080 * 4);
    assert.deepEqual(l.groups, [120, 68]);
    assert.deepEqual(l.tileGroups, [60, 34]);
  });
});
