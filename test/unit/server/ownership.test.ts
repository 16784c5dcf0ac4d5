/**
 * SessionOwners: who may see a session; the map stays bounded by the live sessions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS } from '../../../src/server/auth.js';
import { SessionOwners } from '../../../src/server/ownership.js';

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
