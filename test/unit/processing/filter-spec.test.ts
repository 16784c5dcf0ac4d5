/**
 * Filter specs: every filter accepted, iterations bounded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeFilterSpec } from '../../../src/processing/filter-spec.js';

describe('filter specs', () => {
  it('accepts every filter and bounds iterations', () => {
    assert.deepEqual(makeFilterSpec('blur', '3'), { name: 'blur', iterations: 3 });
    assert.throws(() => makeFilterSpec('sparkle'), /unknown filter/);
    assert.throws(() => makeFilterSpec('blur', 0), /iterations/);
    assert.throws(() => makeFilterSpec('blur', 51), /iterations/);
    assert.throws(() => makeFilterSpec('blur', 2.5), /iterations/);
  });
});
