/**
 * The native engine's transport-cc feedback (transport-feedback.ts, and its werift serialization):
 * every sequence number in a message is reported, received or not; arrival times rebuilt from the
 * reference time and the deltas match the recorded ones to a tick, with no drift over a message;
 * the first delta counts from the reference time; 16-bit wrap, reordering, duplicates, late
 * packets and gaps over 8 s are handled; messages are bounded and serialize to whole 32-bit words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  STATUS_LARGE_DELTA, STATUS_NOT_RECEIVED, STATUS_SMALL_DELTA, TransportFeedbackRecorder, type FeedbackMessage,
} from '../../../../src/media/engines/native/congestion/transport-feedback.js';
import { weriftTransportFeedback } from '../../../../src/media/engines/native/transport/werift-feedback.js';

/** Expand a message into (sequence number, arrival µs or null) as the client reads it. */
function decode(m: FeedbackMessage): Array<{ seq: number; arrivalUs: number | null }> {
  const statuses = m.runs.flatMap((r) => Array<number>(r.length).fill(r.status));
  assert.equal(statuses.length, m.packetStatusCount, 'the runs cover exactly the status count');
  let ticks = m.referenceTime * 256;
  let d = 0;
  return statuses.map((st, i) => {
    const seq = (m.baseSequenceNumber + i) & 0xffff;
    if (st === STATUS_NOT_RECEIVED) return { seq, arrivalUs: null };
    const delta = m.deltas[d++]!;
    assert.equal(delta.large, st === STATUS_LARGE_DELTA, 'the status says the delta size');
    if (!delta.large) assert.ok(delta.ticks >= 0 && delta.ticks <= 255);
    ticks += delta.ticks;
    return { seq, arrivalUs: ticks * 250 };
  });
}

describe('transport-cc feedback', () => {
  it('reports every sequence number, rebuilding arrival times to a tick without drift', () => {
    const r = new TransportFeedbackRecorder();
    const sent: Array<[number, number]> = [];
    // 60 packets 1.1 ms apart (rounding to 250 µs each time would drift 6 ms by the end), #7 and #8 lost
    for (let i = 0; i < 60; i++) if (i !== 7 && i !== 8) sent.push([100 + i, 5_000_123 + i * 1100]);
    for (const [seq, at] of sent) r.onPacket(seq, at);
    const [m, ...rest] = r.take();
    assert.ok(m);
    assert.equal(rest.length, 0);
    assert.equal(m.baseSequenceNumber, 100);
    assert.equal(m.packetStatusCount, 60);
    assert.equal(m.referenceTime, Math.floor(5_000_123 / 64_000), 'the reference time is the first arrival, in 64 ms');
    const got = decode(m);
    assert.deepEqual(got.filter((g) => g.arrivalUs === null).map((g) => g.seq), [107, 108]);
    for (const [seq, at] of sent) {
      const g = got.find((x) => x.seq === seq)!;
      assert.ok(Math.abs(g.arrivalUs! - at) <= 125, `seq ${seq}: ${g.arrivalUs} for ${at}`);
    }
    assert.equal(m.deltas[0]!.ticks, Math.round(5_000_123 / 250) - m.referenceTime * 256, 'the first delta counts from the reference time');
    assert.deepEqual(r.take(), [], 'nothing new, nothing sent');
  });

  it('numbers messages, continues where the last ended, and ignores duplicates and packets already reported', () => {
    const r = new TransportFeedbackRecorder();
    r.onPacket(10, 1000);
    r.onPacket(11, 2000);
    r.onPacket(11, 2500);
    const [a] = r.take();
    r.onPacket(9, 3000); // reported as lost before: too late now
    r.onPacket(13, 4000);
    r.onPacket(12, 4600); // reordered within the next message: fine
    const [b] = r.take();
    assert.equal(a!.fbPktCount, 0);
    assert.equal(b!.fbPktCount, 1);
    assert.equal(a!.packetStatusCount, 2);
    assert.deepEqual(decode(a!).map((x) => x.arrivalUs), [1000, 2000], 'a duplicate keeps its first arrival');
    assert.equal(b!.baseSequenceNumber, 12);
    const db = decode(b!);
    assert.deepEqual(db.map((x) => x.seq), [12, 13]);
    assert.deepEqual(db.map((x) => x.arrivalUs), [4500, 4000], 'to the tick; the packet that came first gets a negative (large) delta');
    assert.equal(b!.runs.some((run) => run.status === STATUS_LARGE_DELTA), true);
  });

  it('handles the 16-bit wrap of transport sequence numbers', () => {
    const r = new TransportFeedbackRecorder();
    for (const [i, seq] of [65533, 65534, 65535, 0, 1, 2].entries()) r.onPacket(seq, 10_000 + i * 500);
    const [m] = r.take();
    assert.equal(m!.baseSequenceNumber, 65533);
    assert.equal(m!.packetStatusCount, 6, 'one message across the wrap, not 65 530 losses');
    assert.deepEqual(decode(m!).map((x) => x.seq), [65533, 65534, 65535, 0, 1, 2]);
  });

  it('splits long ranges into bounded messages and starts a new one where a delta would not fit 16 bits', () => {
    const r = new TransportFeedbackRecorder();
    for (let i = 0; i < 1000; i++) r.onPacket(i, i * 100);
    const ms = r.take();
    assert.ok(ms.length >= 3, `${ms.length} messages`);
    assert.equal(ms.reduce((n, m) => n + m.packetStatusCount, 0), 1000);
    for (const m of ms) assert.ok(m.packetStatusCount <= 400);
    const far = new TransportFeedbackRecorder();
    far.onPacket(1, 0);
    far.onPacket(2, 9_000_000); // 9 s later, in the same interval (a stalled loop)
    const parts = far.take();
    assert.equal(parts.length, 2);
    assert.equal(decode(parts[1]!)[0]!.arrivalUs! - 9_000_000 <= 250, true);
    assert.equal(parts[0]!.runs[0]!.status, STATUS_SMALL_DELTA);
  });

  it('refuses garbage sequence numbers and bounds what waits for a report', () => {
    const r = new TransportFeedbackRecorder();
    r.onPacket(-1, 0);
    r.onPacket(70000, 0);
    r.onPacket(1.5, 0);
    r.onPacket(5, Number.NaN);
    assert.equal(r.packets, 0);
    for (let i = 0; i < 20000; i++) r.onPacket(i & 0xffff, i * 10);
    const ms = r.take();
    const reported = ms.reduce((n, m) => n + m.packetStatusCount, 0);
    assert.ok(reported <= 4096 + 1, `at most the last 4096 are kept: ${reported}`);
  });

  it('serializes through werift to whole 32-bit words, with the P bit only when padding follows', () => {
    for (const arrivals of [[0, 300, 900, 80_000, 80_001], [0, 300, 900, 80_000, 80_001, 80_002]]) {
      const r = new TransportFeedbackRecorder();
      for (const [i, at] of arrivals.entries()) r.onPacket(i, 1_000_000 + at);
      const [m] = r.take();
      const bytes = weriftTransportFeedback(m!, 1, 2).serialize();
      const unpadded = 16 + 2 * m!.runs.length + m!.deltas.reduce((n, d) => n + (d.large ? 2 : 1), 0) + 4;
      assert.equal(bytes.length % 4, 0);
      assert.equal(bytes.readUInt16BE(2), bytes.length / 4 - 1, 'the RTCP length field covers every byte');
      assert.equal(bytes[0]! & 0x1f, 15, 'FMT 15: transport-wide feedback');
      assert.equal(bytes[1], 205);
      const padded = (bytes[0]! & 0x20) !== 0;
      assert.equal(padded, unpadded % 4 !== 0, `${arrivals.length} packets: P bit iff padding`);
      if (padded) assert.equal(bytes[bytes.length - 1], bytes.length - unpadded, 'the last byte counts the padding');
      else assert.equal(bytes.length, unpadded);
      assert.equal(bytes.readUInt16BE(12), 0, 'base sequence number');
      assert.equal(bytes.readUInt16BE(14), arrivals.length, 'status count');
    }
  });
});
