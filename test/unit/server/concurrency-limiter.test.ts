import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter, LimiterFullError } from '../../../src/server/concurrency-limiter.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('ConcurrencyLimiter', () => {
  it('runs at most N at once, queues up to Q, refuses the rest', async () => {
    const lim = new ConcurrencyLimiter(2, 1);
    const gates = [deferred(), deferred(), deferred()];
    let peak = 0;
    let now = 0;
    const job = (i: number) => lim.run(async () => {
      now++;
      peak = Math.max(peak, now);
      await gates[i]!.promise;
      now--;
      return i;
    });
    const p0 = job(0);
    const p1 = job(1);
    const p2 = job(2);
    await assert.rejects(lim.run(async () => 99), LimiterFullError);
    assert.equal(lim.active, 2);
    assert.equal(lim.queued, 1);
    gates[0]!.resolve();
    assert.equal(await p0, 0);
    gates[1]!.resolve();
    gates[2]!.resolve();
    assert.deepEqual(await Promise.all([p1, p2]), [1, 2]);
    assert.equal(peak, 2);
    assert.equal(lim.active, 0);
    assert.equal(lim.queued, 0);
  });

  it('frees its place when the job throws', async () => {
    const lim = new ConcurrencyLimiter(1, 0);
    await assert.rejects(lim.run(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await lim.run(async () => 'ok'), 'ok');
  });
});
