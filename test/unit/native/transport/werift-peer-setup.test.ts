/**
 * What the werift answerer and offerer set up alike: header extension ids read from an SDP, the
 * ICE servers as werift takes them, and the feedback both sides negotiate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extensionId, PLAYOUT_DELAY_URI, TRANSPORT_CC_URI, videoFeedback, weriftIceServers } from '../../../../src/media/engines/native/transport/werift-peer-setup.js';

describe('werift peer setup', () => {
  it('reads a header extension id from an SDP, with or without a direction, and null when absent', () => {
    const sdp = ['v=0', `a=extmap:3/sendrecv ${TRANSPORT_CC_URI}`, `a=extmap:12 ${PLAYOUT_DELAY_URI}`, 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid'].join('\r\n');
    assert.equal(extensionId(sdp, TRANSPORT_CC_URI), 3);
    assert.equal(extensionId(sdp, PLAYOUT_DELAY_URI), 12);
    assert.equal(extensionId(sdp.replace(/\r\n/g, '\n'), PLAYOUT_DELAY_URI), 12);
    assert.equal(extensionId('v=0\r\na=extmap:5 http://example.invalid/other', PLAYOUT_DELAY_URI), null);
    // a URI that only starts like the one asked for is another extension
    assert.equal(extensionId(`a=extmap:7 ${PLAYOUT_DELAY_URI}-v2`, PLAYOUT_DELAY_URI), null);
  });

  it('passes TURN credentials to werift only where given', () => {
    assert.deepEqual(weriftIceServers([{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }]),
      [{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }]);
  });

  it('negotiates NACK, PLI, FIR and REMB, and transport-cc only when asked', () => {
    const types = (cc: boolean): string[] => videoFeedback(cc).map((f) => `${f.type}${f.parameter ? ' ' + f.parameter : ''}`);
    assert.deepEqual(types(false), ['nack', 'nack pli', 'ccm fir', 'goog-remb']);
    assert.deepEqual(types(true), ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']);
  });
});
