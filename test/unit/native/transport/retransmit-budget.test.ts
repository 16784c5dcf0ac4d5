/** retransmit-budget.ts: NACK answers bounded in packets and bytes per second, with a bounded burst. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetransmitBudget } from '../../../../src/media/engines/native/transport/retransmit-budget.js';

describe('RetransmitBudget', () => {
  it('answers a burst up to half a second of budget, then only what refills', () => {
    const b = new RetransmitBudget({ bytesPerSecond: 100_000, packetsPerSecond: 100 });
    let allowed = 0;
    for (let i = 0; i < 200; i++) if (b.allow(100, 0)) allowed++;
    assert.equal(allowed, 50, 'half a second of packets');
    assert.equal(b.counters.refused, 150);
    // 100 ms later: 10 more packets
    let later = 0;
    for (let i = 0; i < 50; i++) if (b.allow(100, 100)) later++;
    assert.equal(later, 10);
  });

  it('bounds bytes as well as packets, and holds the rate over a long flood', () => {
    const b = new RetransmitBudget({ bytesPerSecond: 10_000, packetsPerSecond: 1000 });
    let bytes = 0;
    // a flood of 1200-byte retransmissions every ms for 10 s
    for (let t = 0; t <= 10_000; t++) if (b.allow(1200, t)) bytes += 1200;
    assert.ok(bytes <= 10_000 * 10 + 5_000, `${bytes} bytes in 10 s`);
    assert.ok(bytes >= 10_000 * 9, 'the budget is used, not starved');
  });

  it('does not refill backwards in time, and refuses a non-positive budget', () => {
    const b = new RetransmitBudget({ bytesPerSecond: 1000, packetsPerSecond: 10 });
    for (let i = 0; i < 5; i++) b.allow(1, 1000);
    assert.equal(b.allow(1, 0), false);
    assert.throws(() => new RetransmitBudget({ bytesPerSecond: 0, packetsPerSecond: 1 }), RangeError);
  });
});
