/**
 * srtp-index.ts: the SRTP receive index of RFC 3711 §3.3.1 across the 16-bit wrap, with late
 * packets from before the wrap, large jumps under 2^15, and no state change before authentication.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { commitIndex, estimateRoc, newSrtpIndexState } from '../../../../src/media/engines/native/transport/srtp-index.js';

/** Feed authenticated packets in order; returns the ROC each got. */
function feed(seqs: number[]): number[] {
  const s = newSrtpIndexState();
  return seqs.map((q) => {
    const roc = estimateRoc(s, q);
    commitIndex(s, q, roc);
    return roc;
  });
}

describe('SRTP receive index', () => {
  it('wraps once at 65535 -> 0, and a late packet from before the wrap keeps its old ROC', () => {
    assert.deepEqual(feed([65533, 65534, 65535, 0, 1, 65534, 2]), [0, 0, 0, 1, 1, 0, 1]);
  });

  it('a jump of +30000 across the wrap (werift lost its ROC here and the session died)', () => {
    assert.deepEqual(feed([50000, 50001, (50001 + 30000) % 65536, 14466, 14467]), [0, 0, 1, 1, 1]);
  });

  it('a failed packet moves nothing: estimate without commit', () => {
    const s = newSrtpIndexState();
    commitIndex(s, 60000, estimateRoc(s, 60000));
    assert.equal(estimateRoc(s, 100), 1);
    // not authenticated: no commit; the next real packet is still estimated from 60000
    assert.equal(estimateRoc(s, 60001), 0);
    assert.deepEqual(s, { roc: 0, highestSeq: 60000, started: true });
  });

  it('matches the true index for any in-order stream with steps under 2^15 (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 65535 }), fc.array(fc.integer({ min: 1, max: 0x7fff }), { maxLength: 200 }), (start, steps) => {
      let index = start;
      const s = newSrtpIndexState();
      commitIndex(s, start, estimateRoc(s, start));
      for (const step of steps) {
        index += step;
        const seq = index % 65536;
        const roc = estimateRoc(s, seq);
        assert.equal(roc, Math.floor(index / 65536));
        commitIndex(s, seq, roc);
      }
    }), { numRuns: 500, seed: 5 });
  });
});
