/**
 * werift-fixes.ts: once installed, werift parses RTP with the project's parser (an id-15 element no
 * longer garbles the payload; a lying extension length is refused at once) and SRTP keeps its
 * packet index across a +30000 jump over the wrap, where werift's own index lost it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RtcpPacketConverter, RtpHeader, RtpPacket, SrtpSession } from 'werift';
import { dropCounts } from '../../../../src/media/engines/native/transport/packet-drops.js';
import { installWeriftFixes } from '../../../../src/media/engines/native/transport/werift-fixes.js';

const key = Buffer.alloc(16, 7);
const salt = Buffer.alloc(14, 9);
const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };

/** Encrypt with one session and decrypt with another (the two ends of one SRTP stream); null when authentication fails. */
function roundTrip(sender: SrtpSession, receiver: SrtpSession, seq: number): Buffer | null {
  const header = new RtpHeader({ sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0xabc, payloadType: 96 });
  try {
    return receiver.decrypt(sender.encrypt(Buffer.from(`frame ${seq}`), header));
  } catch {
    return null;
  }
}

describe('werift with the project fixes', () => {
  installWeriftFixes();

  it('parses the payload after the whole extension block when an element has id 15', () => {
    const raw = Buffer.concat([
      Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
      Buffer.from([0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0xf3, 0x01, 0x02, 0x03, 0x00, 0x00]),
      Buffer.from('PAYLOAD'),
    ]);
    assert.equal(RtpPacket.deSerialize(raw).payload.toString(), 'PAYLOAD');
  });

  it('refuses a lying extension length at once, and counts it', () => {
    const before = dropCounts()['rtp-extension'] ?? 0;
    const raw = Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 0x10, 0xaa, 0, 0]);
    assert.throws(() => RtpHeader.deSerialize(raw), /rtp-extension/);
    assert.equal(dropCounts()['rtp-extension'], before + 1);
  });

  it('refuses an RTCP compound whose lengths do not add up', () => {
    assert.throws(() => RtcpPacketConverter.deSerialize(Buffer.from([0x80, 201, 0, 9, 0, 0, 0, 1])), /rtcp-length/);
    assert.equal(RtcpPacketConverter.deSerialize(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1])).length, 1);
  });

  it('keeps the SRTP index across a +30000 jump over the wrap, and across a late packet', () => {
    const a = new SrtpSession({ keys, profile: 1 });
    const b = new SrtpSession({ keys, profile: 1 });
    for (const seq of [50000, 50001, 50002]) assert.ok(roundTrip(a, b, seq));
    const jumped = (50002 + 30000) % 65536;
    assert.equal(roundTrip(a, b, jumped)?.subarray(12).toString(), `frame ${jumped}`);
    for (let seq = jumped + 1; seq < jumped + 20; seq++) assert.ok(roundTrip(a, b, seq), `seq ${seq} after the jump`);
    assert.ok(roundTrip(a, b, 65535), 'a late packet from before the wrap');
    assert.ok(roundTrip(a, b, jumped + 20));
  });

  it('a packet with a wrong tag changes nothing for the packets after it', () => {
    const a = new SrtpSession({ keys, profile: 1 });
    const b = new SrtpSession({ keys, profile: 1 });
    assert.ok(roundTrip(a, b, 100));
    // a forger's packet (its own context, so the real sender's index is not moved)
    const forged = new SrtpSession({ keys, profile: 1 }).encrypt(Buffer.from('x'), new RtpHeader({ sequenceNumber: 40000, ssrc: 0xabc, payloadType: 96 }));
    forged[forged.length - 1]! ^= 0xff;
    assert.throws(() => b.decrypt(forged));
    assert.ok(roundTrip(a, b, 101), 'the stream goes on from where it was');
  });
});
