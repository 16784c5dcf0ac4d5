/** ssrc-follower.ts: a restarted client stream (new SSRC, same MID) is followed; strangers are not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SsrcFollower } from '../../../../src/media/engines/native/transport/ssrc-follower.js';

describe('SsrcFollower', () => {
  const opts = { mid: '0', payloadType: 96, rtxPayloadType: 97 };

  it('follows a new media SSRC with our MID, then its RTX; the old ones are no longer known', () => {
    const f = new SsrcFollower(opts);
    f.announce(1111, 2222);
    assert.equal(f.route(1111, 96, null, 0), 'known');
    assert.equal(f.route(3333, 96, '0', 1000), 'media-restart');
    assert.equal(f.mediaSsrc, 3333);
    assert.equal(f.route(4444, 97, '0', 1000), 'rtx-restart');
    assert.equal(f.route(1111, 96, null, 1001), 'unknown', 'the old SSRC is dropped after the switch');
  });

  it('refuses another MID, an unknown payload type, RTX before media, and switches faster than the bound', () => {
    const f = new SsrcFollower(opts);
    assert.equal(f.route(5, 97, '0', 0), 'unknown', 'RTX for no stream');
    assert.equal(f.route(5, 96, '1', 0), 'unknown', 'another section');
    assert.equal(f.route(5, 100, '0', 0), 'unknown', 'another payload type');
    assert.equal(f.route(5, 96, '0', 0), 'media-restart', 'the first stream of an offer without SSRCs');
    assert.equal(f.route(6, 96, '0', 100), 'too-soon');
    assert.equal(f.route(6, 96, '0', 300), 'media-restart');
  });
});
