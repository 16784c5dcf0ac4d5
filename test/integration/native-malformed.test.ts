/**
 * Malformed input never crashes the native engine: random datagrams (shaped like STUN, DTLS, RTP
 * and RTCP) sent to the server's ICE ports, and random RTP packets (fast-check) pushed into a live
 * peer's receive path are counted and dropped; the session's video keeps coming back afterwards
 * (the buffer resyncs on the next key frame, asked for with PLI).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createNativeEngine, NativePeer } from '../../src/media/engines/native/index.js';
import { RtcClient } from '../support/rtc-client.js';
import { startEchoHarness, type EchoHarness } from '../support/native-echo-harness.js';

/** UDP host candidates of an SDP: [address, port]. */
function hostCandidates(sdp: string): Array<[string, number]> {
  return [...sdp.matchAll(/a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host/g)].map((m) => [m[1]!, Number(m[2])]);
}

/** First bytes that route a datagram to werift's STUN, DTLS, RTP and RTCP parsers (RFC 7983). */
const datagram = fc.tuple(
  fc.constantFrom(0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0xbe),
  fc.integer({ min: 0, max: 255 }),
  fc.uint8Array({ maxLength: 1400 }),
).map(([b0, b1, rest]) => Buffer.from([b0, b1, ...rest]));

describe('native engine under malformed input', () => {
  let harness: EchoHarness;
  let client: RtcClient;
  after(async () => {
    client?.close();
    await harness?.stop();
  });

  it('survives random datagrams on its ICE ports and random RTP in its receive path', async () => {
    harness = await startEchoHarness(createNativeEngine());
    client = await RtcClient.connect(harness.url, { width: 320, height: 240, fps: 30 });
    await client.waitForFrames(15, 20000);
    const peer = harness.peers[0] as NativePeer;

    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const targets = hostCandidates(harness.answers[0]!).filter(([a]) => a === '127.0.0.1');
    assert.ok(targets.length > 0, 'the answer has a loopback host candidate');
    const samples = fc.sample(datagram, { numRuns: 1500, seed: 11 });
    for (const [i, d] of samples.entries()) {
      const [addr, port] = targets[i % targets.length]!;
      sock.send(d, port, addr);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    sock.close();

    const malformedBefore = peer.buffer.counters.malformed;
    const rtp = fc.record({
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      marker: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    });
    for (const p of fc.sample(rtp, { numRuns: 1500, seed: 12 })) peer.onRtp(p);
    assert.ok(peer.buffer.counters.malformed > malformedBefore, 'random payloads are counted as malformed');

    await client.waitForFrames(30, 20000);
    assert.equal(peer.connectionState, 'connected');
    assert.ok(client.received.some((f) => f.frameNumber !== null), 'stamped frames still come back');
  });
});
