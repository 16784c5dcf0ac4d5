/**
 * The small parts behind issue 14's fixes: the upload byte budget, the session owner map (it
 * must stay bounded by the live sessions), and the new settings' validation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { ANONYMOUS } from '../../src/server/auth.js';
import { SessionOwners } from '../../src/server/ownership.js';
import { UploadBudget } from '../../src/server/upload-budget.js';

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

describe('SessionOwners', () => {
  it('lets the owner and operators in, and forgets ended sessions', () => {
    const live = new Set<string>();
    const owners = new SessionOwners((id) => live.has(id));
    const alice = { id: 'jwt:alice', operator: false };
    const bob = { id: 'jwt:bob', operator: false };
    for (let i = 0; i < 1000; i++) {
      live.add(`s${i}`);
      owners.record(`s${i}`, i % 2 === 0 ? alice : bob);
      if (i >= 3) live.delete(`s${i - 3}`); // sessions end; no hook tells the map
    }
    assert.ok(owners.size <= 4, `bounded by the live sessions and one more: ${owners.size}`);
    assert.ok(owners.mayAccess('s998', alice));
    assert.ok(!owners.mayAccess('s998', bob));
    assert.ok(owners.mayAccess('s998', { id: 'token:x', operator: true }));
    assert.ok(owners.mayAccess('s999', ANONYMOUS), 'access control off: everyone sees all');
  });
});

describe('hardening settings', () => {
  it('defaults the upload budget to three bodies and refuses one smaller than a body', () => {
    const c = loadConfig({ RTC_BODY_LIMIT_BYTES: '1048576' });
    assert.equal(c.processMaxBufferedBytes, 3 * 1048576);
    assert.equal(c.requestTimeoutS, 60);
    assert.equal(c.authJwtMaxTtlS, 86_400);
    assert.throws(() => loadConfig({ RTC_BODY_LIMIT_BYTES: '1048576', RTC_PROCESS_MAX_BUFFERED_BYTES: '1000000' }), ConfigError);
    assert.throws(() => loadConfig({ RTC_AUTH_OPERATOR_TOKENS: 'short' }), ConfigError);
    assert.throws(() => loadConfig({ RTC_REQUEST_TIMEOUT_S: '0' }), ConfigError);
  });
});
