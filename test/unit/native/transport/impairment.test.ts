/**
 * Impairment: seeded loss, reorder and duplicates for tests of the native engine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Impairment } from '../../../../src/media/engines/native/transport/impairment.js';

describe('impairment', () => {
  it('is deterministic for a seed and does what its ratios say', () => {
    const run = (): number[] => {
      const imp = new Impairment<number>({ seed: 42, dropRatio: 0.05, reorderRatio: 0.05, duplicateRatio: 0.05 });
      return Array.from({ length: 2000 }, (_, i) => imp.apply(i)).flat();
    };
    const a = run();
    assert.deepEqual(a, run());
    const imp = new Impairment<number>({ seed: 42, dropRatio: 0.05, reorderRatio: 0.05, duplicateRatio: 0.05 });
    for (let i = 0; i < 2000; i++) imp.apply(i);
    for (const k of ['dropped', 'reordered', 'duplicated'] as const) assert.ok(Math.abs(imp.counters[k] - 100) < 40, `${k}: ${imp.counters[k]}`);
    assert.throws(() => new Impairment({ seed: 1, dropRatio: 2 }), RangeError);
  });

});
