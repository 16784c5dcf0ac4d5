/**
 * The load generator's latency histogram.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram } from '../../../src/loadgen/latency-histogram.js';

test('histogram percentiles (HdrHistogram, nearest rank) are within 0.1 % and never understate', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 1000; i++) h.record(i);
  const s = h.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.max, 1000);
  assert.ok(s.p50! >= 500 && s.p50! <= 500.5, `p50 ${s.p50}`);
  assert.ok(s.p95! >= 950 && s.p95! <= 950.95, `p95 ${s.p95}`);
  assert.ok(s.p99! >= 990 && s.p99! <= 991, `p99 ${s.p99}`);
  assert.ok(Math.abs(s.mean! - 500.5) < 1e-9);
  const small = new LatencyHistogram();
  small.recordAll([0.2, 0.4, -1, Number.NaN]);
  assert.equal(small.count, 2);
  assert.ok(small.quantile(0.5)! >= 0.2 && small.quantile(0.5)! <= 0.21);
  const merged = new LatencyHistogram();
  merged.merge(h);
  merged.merge(small);
  assert.equal(merged.count, 1002);
  assert.equal(merged.summary().max, 1000);
  assert.ok(Math.abs(merged.summary().mean! - (500500 + 0.6) / 1002) < 1e-9);
  // Nearest rank on few values: p50 of 4 values is the 2nd, p95 the 4th (the maximum, exactly).
  const four = new LatencyHistogram();
  four.recordAll([40, 10, 30, 20]);
  assert.ok(four.quantile(0.5)! >= 20 && four.quantile(0.5)! <= 20.02, `p50 ${four.quantile(0.5)}`);
  assert.equal(four.quantile(0.95), 40);
  assert.equal(new LatencyHistogram().summary().p95, null);
});
