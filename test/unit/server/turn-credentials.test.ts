import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iceServersFor, turnCredentials, TurnUserIdError } from '../../../src/server/turn-credentials.js';

// Vector computed independently with:
//   echo -n "1700000600:alice" | openssl dgst -sha1 -hmac "s3cret" -binary | base64
test('turnCredentials matches an HMAC-SHA1 vector computed with openssl', () => {
  const c = turnCredentials('s3cret', 600, 'alice', 1_700_000_000_000);
  assert.equal(c.username, '1700000600:alice');
  assert.equal(c.credential, 'bUIJIVaC05oyFgKsQvKAparqg1Q=');
  assert.equal(c.expiresAt, 1_700_000_600);
});

test('turnCredentials rounds the current time down to whole seconds', () => {
  const c = turnCredentials('s3cret', 600, 'alice', 1_700_000_000_999);
  assert.equal(c.username, '1700000600:alice');
});

test('a different secret or user gives a different credential', () => {
  const a = turnCredentials('s3cret', 600, 'alice', 0);
  assert.notEqual(turnCredentials('other', 600, 'alice', 0).credential, a.credential);
  assert.notEqual(turnCredentials('s3cret', 600, 'bob', 0).credential, a.credential);
});

test('turnCredentials refuses user ids that break the username format', () => {
  for (const bad of ['', 'a:b', 'x'.repeat(129), 'new\nline']) {
    assert.throws(() => turnCredentials('s', 60, bad), TurnUserIdError);
  }
});

test('iceServersFor: stun URLs without credentials, turn URLs with fresh ones', () => {
  const servers = iceServersFor(
    { turnUrls: ['stun:stun.example:3478', 'turn:turn.example:3478?transport=udp', 'turns:turn.example:5349'], turnSecret: 's3cret', turnTtlS: 600 },
    'alice',
    1_700_000_000_000,
  );
  assert.deepEqual(servers, [
    { urls: ['stun:stun.example:3478'] },
    {
      urls: ['turn:turn.example:3478?transport=udp', 'turns:turn.example:5349'],
      username: '1700000600:alice',
      credential: 'bUIJIVaC05oyFgKsQvKAparqg1Q=',
    },
  ]);
});

test('iceServersFor leaves TURN out without a secret, and is empty without URLs', () => {
  assert.deepEqual(iceServersFor({ turnUrls: ['stun:s:3478', 'turn:t:3478'], turnSecret: '', turnTtlS: 600 }, 'u'), [
    { urls: ['stun:s:3478'] },
  ]);
  assert.deepEqual(iceServersFor({ turnUrls: [], turnSecret: 'x', turnTtlS: 600 }, 'u'), []);
});
