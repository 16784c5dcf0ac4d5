/**
 * Filter specs: every filter accepted, iterations bounded, the anonymize style one of the protocol's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FilterSpecError, makeFilterSpec } from '../../../src/processing/filter-spec.js';

describe('filter specs', () => {
  it('accepts every filter and bounds iterations', () => {
    assert.deepEqual(makeFilterSpec('blur', '3'), { name: 'blur', iterations: 3 });
    assert.throws(() => makeFilterSpec('sparkle'), /unknown filter/);
    assert.throws(() => makeFilterSpec('blur', 0), /iterations/);
    assert.throws(() => makeFilterSpec('blur', 51), /iterations/);
    assert.throws(() => makeFilterSpec('blur', 2.5), /iterations/);
  });

  it('carries a style when one is given, and refuses one that is not blur or pixelate', () => {
    assert.deepEqual(makeFilterSpec('anonymize', 1, 'pixelate'), { name: 'anonymize', iterations: 1, style: 'pixelate' });
    assert.deepEqual(makeFilterSpec('anonymize', 1), { name: 'anonymize', iterations: 1 });
    // Other filters accept and ignore it, as they do iterations.
    assert.deepEqual(makeFilterSpec('invert', 1, 'blur'), { name: 'invert', iterations: 1, style: 'blur' });
    for (const bad of ['mosaic', '', null, 3, 'BLUR']) {
      assert.throws(() => makeFilterSpec('anonymize', 1, bad), (err: unknown) =>
        err instanceof FilterSpecError && err.code === 'INVALID_PARAMETER' && /style must be one of blur, pixelate/.test(err.message), String(bad));
    }
  });
});
