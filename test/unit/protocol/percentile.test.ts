/**
 * src/protocol: the nearest-rank percentile definition.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nearestRankIndex, percentile, percentileSorted, summarize } from '../../../src/protocol/index.js';

describe('percentile (nearest rank)', () => {
  test('the value of rank ceil(p/100 · n), always a measured value', () => {
    assert.equal(percentile([40, 10, 30, 20], 50), 20);
    assert.equal(percentile([40, 10, 30, 20], 51), 30);
    assert.equal(percentile([40, 10, 30, 20], 95), 40);
    assert.equal(percentile([40, 10, 30, 20], 0), 10);
    assert.equal(percentile([40, 10, 30, 20], 100), 40);
    assert.equal(percentile([7], 95), 7);
    assert.equal(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 95), 950);
    assert.equal(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 99.9), 999);
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([Number.NaN, 3], 50), 3);
    assert.equal(percentileSorted(new Float64Array([1, 2, 3]), 200), 3, 'p is clamped to 0..100');
  });
  test('index and summary agree with the definition', () => {
    for (let n = 1; n <= 50; n++) {
      for (const p of [1, 25, 50, 90, 95, 99]) {
        const i = nearestRankIndex(n, p);
        assert.ok((i + 1) / n >= p / 100 - 1e-12 && (i === 0 || i / n < p / 100), `n=${n} p=${p} index ${i}`);
      }
    }
    assert.deepEqual(summarize([3, 1, 2]), { p50: 2, p95: 3, count: 3 });
  });
});
