/**
 * BusyTracker: the GPU busy-ratio arithmetic, without a GPU.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BusyTracker } from '../../../src/processing/gpu/busy-tracker.js';

describe('BusyTracker', () => {
  test('overlapping submissions count once; the window restarts at each take', () => {
    let now = 0;
    const b = new BusyTracker(() => now);
    now = 10; b.begin();
    now = 15; b.begin();
    now = 20; b.end();
    now = 30; b.end();  // busy 10..30
    now = 100;
    assert.equal(b.take(), 0.2);
    now = 110; b.begin();
    now = 150;           // still in flight at take: counted up to now
    assert.equal(b.take(), 0.8);
    now = 200; b.end();  // busy 150..200 of 150..250
    now = 250;
    assert.equal(b.take(), 0.5);
    b.end();             // unmatched end is ignored
    now = 300;
    assert.equal(b.take(), 0);
  });
});
