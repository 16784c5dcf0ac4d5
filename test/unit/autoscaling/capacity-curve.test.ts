/**
 * The HPA simulator's capacity curve: interpolation, bad files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapacityCurve, CurveError, parseCapacityCurve, readCapacityCurve, CAPACITY_CURVE_FORMAT } from '../../../src/autoscaling/capacity-curve.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SAMPLE_CURVE = path.join(root, 'k8s/autoscaling/capacity-curve.sample.json');

const curveOf = (capacity: number, points: Array<[number, number]>, extra: Record<string, unknown> = {}): CapacityCurve =>
  new CapacityCurve(parseCapacityCurve({ format: CAPACITY_CURVE_FORMAT, podCapacitySessions: capacity, points: points.map(([sessions, p95Ms]) => ({ sessions, p95Ms })), ...extra }));

test('capacity curve: interpolates, holds below the first point, extrapolates the last slope; rejects bad files', () => {
  const c = curveOf(4, [[1, 100], [3, 140], [5, 400]]);
  assert.equal(c.at('p95Ms', 0), 100);
  assert.equal(c.at('p95Ms', 2), 120);
  assert.equal(c.at('p95Ms', 4), 270);
  assert.equal(c.at('p95Ms', 6), 530);
  assert.equal(c.has('gpuUtilizationPercent'), false);
  assert.throws(() => parseCapacityCurve({ format: 'other', podCapacitySessions: 4, points: [{ sessions: 1, p95Ms: 1 }] }), CurveError);
  assert.throws(() => parseCapacityCurve({ format: CAPACITY_CURVE_FORMAT, podCapacitySessions: 4, points: [{ sessions: 2, p95Ms: 1 }, { sessions: 1, p95Ms: 2 }] }), /ascending/);
  assert.throws(() => parseCapacityCurve({ format: CAPACITY_CURVE_FORMAT, podCapacitySessions: 0, points: [{ sessions: 1, p95Ms: 1 }] }), /podCapacitySessions/);
  assert.throws(() => parseCapacityCurve({ format: CAPACITY_CURVE_FORMAT, podCapacitySessions: 4, points: [{ sessions: 1, p95Ms: 1, gpuUtilizationPercent: 3 }, { sessions: 2, p95Ms: 2 }] }), /every point or for none/);
  const sample = readCapacityCurve(SAMPLE_CURVE);
  assert.equal(sample.sample, true, 'the shipped curve says it is a sample');
  assert.match(sample.source, /SAMPLE/);
});
