/**
 * The native engine's delay-based estimate from transport-cc feedback.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DelayBasedEstimator } from '../../../../src/media/engines/native/congestion/delay-estimator.js';
import type { FeedbackResult } from '../../../../src/media/engines/native/stack-types.js';

describe('delay-based estimate from transport-cc feedback', () => {
  /** Send at `sendKbps` for `ms` through a bottleneck of `linkKbps` (a FIFO queue), feedback every 100 ms. */
  function simulate(e: DelayBasedEstimator, sendKbps: number, linkKbps: number, ms: number): number[] {
    const size = 1200;
    const interval = (size * 8) / sendKbps; // ms between packets
    let seq = 0;
    let linkFree = 0;
    const pending: FeedbackResult[] = [];
    const estimates: number[] = [];
    for (let t = 0; t < ms; t += interval) {
      e.onPacketSent(seq, size, t);
      const arrival = Math.max(t + 10, linkFree) + (size * 8) / linkKbps;
      linkFree = arrival;
      pending.push({ sequenceNumber: seq, received: true, receivedAtMs: arrival });
      seq = (seq + 1) & 0xffff;
      if (pending.length > 0 && t % 100 < interval) {
        estimates.push(e.onFeedback(pending.splice(0), t));
      }
    }
    return estimates;
  }

  it('grows while delay stays flat, never past 1.5x what arrived', () => {
    const e = new DelayBasedEstimator(500, 100, 5000);
    const est = simulate(e, 1000, 100_000, 4000);
    assert.equal(e.usage, 'normal');
    assert.ok(est[est.length - 1]! > 500, `grew: ${est[est.length - 1]}`);
    assert.ok(est[est.length - 1]! <= 1.5 * 1000 + 20, `capped by the received rate: ${est[est.length - 1]}`);
  });

  it('detects a queue building up and drops below the link rate', () => {
    const e = new DelayBasedEstimator(1000, 100, 5000);
    const est = simulate(e, 1000, 600, 3000);
    assert.equal(e.usage, 'overuse');
    assert.ok(est[est.length - 1]! < 600, `below the 600 kbit/s link: ${est[est.length - 1]}`);
    assert.ok(est[est.length - 1]! >= 100);
  });

  it('ignores feedback for packets it never sent, and stays bounded', () => {
    const e = new DelayBasedEstimator(500, 100, 5000);
    assert.equal(e.onFeedback([{ sequenceNumber: 7, received: true, receivedAtMs: 1 }], 0), 500);
    for (let i = 0; i < 10_000; i++) e.onPacketSent(i, 100, i);
    assert.equal(e.ackedKbps(), null);
  });
});
