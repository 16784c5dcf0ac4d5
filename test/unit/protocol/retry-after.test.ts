/**
 * src/protocol: parseRetryAfter.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRetryAfter } from '../../../src/protocol/index.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T10:00:00.000Z');
  test('delay-seconds as given', () => {
    assert.equal(parseRetryAfter('5', now), 5);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('1.5', now), 1.5);
  });
  test('an HTTP-date, rounded up to whole seconds and never negative', () => {
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 10:00:05 GMT', now), 5);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 10:00:05 GMT', now + 200), 5, '4.8 s rounds up: never retry early');
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 09:59:00 GMT', now), 0);
  });
  test('absent, empty or unreadable values are null', () => {
    for (const v of [null, undefined, '', '   ', '-5', '1e3', '0x10', 'soon', 'Infinity']) assert.equal(parseRetryAfter(v, now), null, String(v));
  });
});
