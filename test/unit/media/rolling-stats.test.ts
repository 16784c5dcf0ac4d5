/**
 * Rolling statistics: RateMeter and SampleWindow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateMeter, SampleWindow } from '../../../src/media/rolling-stats.js';

describe('rolling statistics', () => {
  it('measures a steady 30 fps rate', () => {
    const m = new RateMeter(2000);
    for (let i = 0; i <= 60; i++) m.mark(i * (1000 / 30));
    assert.ok(Math.abs(m.rate(2000) - 30) < 0.5, `rate ${m.rate(2000)}`);
    assert.equal(m.rate(10_000), 0, 'nothing in the window long after');
  });

  it('gives nearest-rank percentiles of the last samples only', () => {
    const w = new SampleWindow(100);
    assert.equal(w.percentile(50), null);
    for (let i = 1; i <= 100; i++) w.add(i);
    assert.equal(w.percentile(50), 50);
    assert.equal(w.percentile(95), 95);
    for (let i = 0; i < 100; i++) w.add(1000);
    assert.equal(w.percentile(50), 1000, 'old samples roll out');
    assert.equal(w.size, 100);
  });
});
