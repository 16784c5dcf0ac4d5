/**
 * UploadBudget: the byte budget for /process uploads in flight.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UploadBudget } from '../../../src/server/upload-budget.js';

describe('UploadBudget', () => {
  it('reserves up to its capacity and takes back what was released', () => {
    const b = new UploadBudget(100);
    assert.ok(b.tryReserve(60));
    assert.ok(!b.tryReserve(41), 'over the capacity');
    assert.ok(b.tryReserve(40));
    b.release(60);
    assert.equal(b.reserved, 40);
    assert.ok(b.tryReserve(60));
    assert.ok(!b.tryReserve(-1));
  });
});
