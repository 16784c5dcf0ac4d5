/**
 * The native engine's receive buffer: frames leave the moment they are complete and in order,
 * gaps are NACKed (bounded retries), a frame that cannot be completed is given up after the
 * timeout and the buffer waits for a key frame; sequence numbers wrap; duplicates, late and
 * malformed packets are counted; memory stays bounded under any input (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ReceiveBuffer } from '../../../../src/media/engines/native/receive/receive-buffer.js';
import type { IncomingRtp } from '../../../../src/media/engines/native/stack-types.js';
import { Vp8Depacketizer, Vp8Packetizer } from '../../../../src/media/engines/native/payload/vp8.js';

const KEY_HEADER = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01];

/** RTP packets of a stream of VP8 frames (frame i: key when i % keyEvery === 0), `size` bytes each. */
function stream(frames: number, size: number, startSeq = 1000, keyEvery = 1000): IncomingRtp[][] {
  const p = new Vp8Packetizer(1200, 0);
  let seq = startSeq;
  const out: IncomingRtp[][] = [];
  for (let i = 0; i < frames; i++) {
    const key = i % keyEvery === 0;
    const data = Buffer.alloc(size, i & 0xff);
    if (key) Buffer.from(KEY_HEADER).copy(data);
    else data[0] = 0x01;
    data[size - 1] = i & 0xff;
    const payloads = p.packetize(data);
    out.push(payloads.map((payload, k) => ({ sequenceNumber: seq++ & 0xffff, timestamp: (i * 3000) >>> 0, marker: k === payloads.length - 1, payload })));
  }
  return out;
}

function frameIds(frames: Array<{ data: Buffer }>): number[] {
  return frames.map((f) => f.data[f.data.length - 1]!);
}

describe('ReceiveBuffer', () => {
  it('hands out each frame on its marker packet, in order, with no waiting', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const s = stream(5, 3000);
    const got: number[] = [];
    for (const f of s) {
      for (const [k, p] of f.entries()) {
        const out = b.push(p, 0);
        if (k < f.length - 1) assert.equal(out.frames.length, 0, 'nothing before the marker');
        got.push(...frameIds(out.frames));
        assert.deepEqual(out.nack, []);
      }
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(b.waitingForKeyframe, false);
    assert.equal(b.heldCount, 0);
  });

  it('puts reordered packets back together without a NACK once the hole fills', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const [f0, f1] = stream(2, 4000);
    for (const p of f0!) b.push(p, 0);
    const [a, c, d, e] = f1!;
    assert.equal(b.push(a!, 1).frames.length, 0);
    const nack = b.push(d!, 2).nack;
    assert.deepEqual(nack, [c!.sequenceNumber], 'the hole is NACKed at once');
    assert.equal(b.push(e!, 3).frames.length, 0);
    const out = b.push(c!, 4);
    assert.deepEqual(frameIds(out.frames), [1]);
    assert.equal(b.counters.recovered, 1);
    assert.equal(b.missingCount, 0);
  });

  it('retries NACKs on the clock, bounded, then gives the frame up and waits for a key frame', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer(), { frameTimeoutMs: 150, maxNackRetries: 4, nackRetryMs: () => 20 });
    const s = stream(4, 3000, 100, 3);
    for (const p of s[0]!) b.push(p, 0);
    const lost = s[1]![1]!;
    for (const p of s[1]!) if (p !== lost) b.push(p, 1);
    for (const p of s[2]!) assert.equal(b.push(p, 2).frames.length, 0, 'frame 2 waits behind incomplete frame 1');
    let nacks = 1;
    for (let t = 10; t <= 140; t += 10) nacks += b.poll(t).nack.length;
    assert.equal(nacks, 4, 'at most maxNackRetries NACKs per packet');
    assert.equal(b.waitingForKeyframe, false);
    const out = b.poll(160);
    assert.deepEqual(out.frames, [], 'frame 2 is a delta frame after the lost one: not decodable');
    assert.equal(b.waitingForKeyframe, true);
    assert.equal(b.counters.framesLost, 1);
    const key = s[3]!;
    const got = key.flatMap((p) => b.push(p, 170).frames);
    assert.deepEqual(frameIds(got), [3], 'resumes at the next key frame');
    assert.equal(got[0]!.keyframe, true);
    assert.equal(b.waitingForKeyframe, false);
  });

  it('skips delta frames at the start until a key frame, and counts them', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const s = stream(6, 2000, 0, 3).slice(1);
    const got = s.flat().flatMap((p) => b.push(p, 0).frames);
    assert.deepEqual(frameIds(got), [3, 4, 5]);
  });

  it('follows the 16-bit sequence number across its wrap', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const s = stream(40, 2500, 65500);
    const got = s.flat().flatMap((p) => b.push(p, 0).frames);
    assert.equal(got.length, 40);
    assert.deepEqual(b.poll(1000).nack, []);
  });

  it('ignores duplicates and late packets, counts malformed ones', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const s = stream(2, 2000);
    for (const p of s[0]!) b.push(p, 0);
    for (const p of s[0]!) b.push(p, 0);
    b.push({ ...s[1]![0]!, payload: Buffer.alloc(0) }, 0);
    b.push(s[1]![0]!, 0);
    b.push(s[1]![0]!, 0);
    assert.equal(b.counters.late, s[0]!.length);
    assert.equal(b.counters.duplicates, 1);
    assert.equal(b.counters.malformed, 1);
    assert.equal(b.counters.framesComplete, 1);
  });

  it('gives up at once on a gap larger than it tracks, and restarts on a jump past the window', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer(), { maxMissing: 16, maxPackets: 256 });
    const s = stream(30, 6000, 0, 10);
    for (const p of s[0]!) b.push(p, 0);
    for (const f of s.slice(5)) for (const p of f) b.push(p, 1);
    assert.equal(b.counters.framesLost, 1);
    assert.equal(b.counters.framesComplete, 1 + 20, 'frames 10..29 after the key frame at 10');
    const far = stream(1, 2000, 20000)[0]!;
    const got = far.flatMap((p) => b.push(p, 2).frames);
    assert.equal(b.counters.resyncs, 1);
    assert.equal(got.length, 1);
  });

  it('a stray packet far from the stream costs one resync, not the stream', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const s = stream(20, 2000, 5000, 10);
    for (const f of s.slice(0, 5)) for (const p of f) b.push(p, 0);
    b.push({ sequenceNumber: 30000, timestamp: 1, marker: true, payload: Buffer.from([0x10, 0x00, 0x00]) }, 1);
    const got = s.slice(5).flat().flatMap((p) => b.push(p, 2).frames);
    assert.equal(b.counters.resyncs, 2, 'away to the stray packet and back');
    assert.deepEqual(frameIds(got), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'back on the next key frame');
  });

  it('estimates the incoming loss ratio before recovery', () => {
    const b = new ReceiveBuffer(new Vp8Depacketizer());
    const s = stream(50, 2500).flat();
    s.forEach((p, i) => { if (i % 10 !== 5) b.push(p, 0); });
    assert.ok(Math.abs(b.lossRatio! - 0.1) < 0.02, `loss ${b.lossRatio}`);
  });

  it('stays bounded and never throws on arbitrary packets', () => {
    fc.assert(fc.property(fc.array(fc.record({
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 10 }),
      marker: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 12 }).map((x) => Buffer.from(x)),
      dt: fc.integer({ min: 0, max: 300 }),
    }), { maxLength: 400 }), (packets) => {
      const b = new ReceiveBuffer(new Vp8Depacketizer(), { maxPackets: 64, maxMissing: 32 });
      let now = 0;
      for (const p of packets) {
        now += p.dt;
        b.push(p, now);
        b.poll(now);
        assert.ok(b.heldCount <= 64 + 1);
        assert.ok(b.missingCount <= 32);
      }
    }), { numRuns: 300 });
  });
});
