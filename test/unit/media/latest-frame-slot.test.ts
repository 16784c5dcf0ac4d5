/**
 * LatestFrameSlot: one frame held, the newest wins.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestFrameSlot } from '../../../src/media/latest-frame-slot.js';

describe('LatestFrameSlot', () => {
  it('keeps only the newest frame and counts the ones it replaced', () => {
    const slot = new LatestFrameSlot<string>();
    assert.equal(slot.take(), null);
    assert.equal(slot.put('a', 1), false);
    assert.equal(slot.put('b', 2), true);
    assert.equal(slot.put('c', 3), true);
    assert.equal(slot.dropped, 2);
    assert.deepEqual(slot.take(), { frame: 'c', arrivedAt: 3 });
    assert.equal(slot.hasFrame, false);
    assert.equal(slot.put('d', 4), false, 'an empty slot drops nothing');
    slot.clear();
    assert.equal(slot.take(), null);
    assert.equal(slot.dropped, 2);
  });

  it('stays bounded whatever the producer does', () => {
    const slot = new LatestFrameSlot<Uint8Array>();
    for (let i = 0; i < 10_000; i++) slot.put(new Uint8Array(16), i);
    assert.equal(slot.dropped, 9_999);
    assert.ok(slot.take() !== null);
    assert.equal(slot.take(), null);
  });
});
