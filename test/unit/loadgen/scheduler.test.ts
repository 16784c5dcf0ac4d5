/**
 * The load generator's schedule (src/loadgen/scheduler.ts) with a made-up clock: starts at the
 * spawn rate up to the phase target, ramps, stops the newest sessions first, backs off after
 * rejections and errors as asked, and ends with the profile or on abort.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Phase } from '../../../src/loadgen/profile.js';
import { ERROR_BACKOFF_S, MAX_BACKOFF_S, MIN_BACKOFF_S, Scheduler } from '../../../src/loadgen/scheduler.js';

const phase = (name: string, sessions: number, durationS: number, ramp = false): Phase => ({ name, sessions, durationS, ramp });

/** Drives a scheduler every 100 ms like the coordinator, applying its decisions to a set of live ids. */
class Sim {
  readonly live = new Set<number>();
  readonly started: Array<{ id: number; atS: number }> = [];
  readonly stopped: Array<{ id: number; atS: number }> = [];
  now = 0;
  private nextId = 1;
  done = false;
  canStart = true;

  constructor(readonly s: Scheduler) {}

  /** Tick every 100 ms until `untilS` (or the end); returns the live count then. */
  run(untilS: number, aborted = false): number {
    while (!this.done && this.now <= untilS * 1000 + 1e-6) {
      const d = this.s.tick(this.now, [...this.live].map((id) => ({ id })), this.canStart, aborted);
      if (d.done) {
        this.done = true;
        break;
      }
      for (const id of d.stop) {
        assert.ok(this.live.delete(id), `stop of a session that is not live: ${id}`);
        this.stopped.push({ id, atS: this.now / 1000 });
      }
      for (let k = 0; k < d.start; k++) {
        const id = this.nextId++;
        this.live.add(id);
        this.started.push({ id, atS: this.now / 1000 });
      }
      this.now += 100;
    }
    return this.live.size;
  }
}

test('starts at the spawn rate up to the target, then holds', () => {
  const sim = new Sim(new Scheduler({ phases: [phase('steady', 6, 10)], spawnRate: 2, startMs: 0 }));
  assert.equal(sim.run(0), 1, 'one session at once (a burst of max(1, rate) tokens, one to start with)');
  assert.equal(sim.run(1), 3);
  assert.equal(sim.run(2.5), 6);
  assert.equal(sim.run(9.9), 6, 'no more than the target');
  assert.equal(sim.started.length, 6);
  // Never more than the rate allows over any second after the first.
  for (const a of sim.started) {
    const inWindow = sim.started.filter((b) => b.atS >= a.atS && b.atS < a.atS + 1).length;
    assert.ok(inWindow <= 3, `${inWindow} starts within 1 s of ${a.atS}`);
  }
});

test('a slow spawn rate starts one session every 1/rate seconds', () => {
  const sim = new Sim(new Scheduler({ phases: [phase('p', 10, 10)], spawnRate: 0.5, startMs: 0 }));
  sim.run(9.95);
  assert.deepEqual(sim.started.map((s) => Math.round(s.atS * 10) / 10), [0, 2, 4, 6, 8]);
});

test('a lower target stops the newest sessions first', () => {
  const sim = new Sim(new Scheduler({ phases: [phase('high', 4, 5), phase('low', 1, 5)], spawnRate: 100, startMs: 0 }));
  assert.equal(sim.run(4.9), 4);
  assert.equal(sim.run(5), 1);
  assert.deepEqual([...sim.live], [1], 'the oldest stays');
  assert.deepEqual(sim.stopped.map((s) => s.id), [4, 3, 2]);
  assert.equal(sim.s.phaseIndex, 1);
  assert.equal(sim.s.target, 1);
});

test('a ramp moves the target linearly from the previous phase', () => {
  const s = new Scheduler({ phases: [phase('base', 2, 2), phase('ramp', 12, 10, true)], spawnRate: 1000, startMs: 0 });
  const sim = new Sim(s);
  sim.run(2);
  assert.equal(s.target, 2);
  sim.run(7);
  assert.equal(s.target, 7);
  assert.equal(sim.live.size, 7);
  sim.run(11.9);
  assert.equal(s.target, 12);
});

test('after a rejection no session starts for Retry-After seconds, bounded', () => {
  for (const [retryAfter, expectS] of [[3, 3], [100, MAX_BACKOFF_S], [0, MIN_BACKOFF_S], [null, 1]] as const) {
    const s = new Scheduler({ phases: [phase('p', 5, 60)], spawnRate: 100, startMs: 0 });
    const sim = new Sim(s);
    sim.run(0);
    assert.equal(sim.live.size, 1);
    s.backOffAfterRejection(100, retryAfter);
    sim.run(0.1 + expectS - 0.15);
    assert.equal(sim.live.size, 1, `Retry-After ${retryAfter}: paused`);
    sim.run(0.1 + expectS + 0.1);
    assert.ok(sim.live.size > 1, `Retry-After ${retryAfter}: resumes after ${expectS} s`);
  }
});

test('after an error starts pause for ERROR_BACKOFF_S; a later, shorter pause does not shorten it', () => {
  const s = new Scheduler({ phases: [phase('p', 5, 60)], spawnRate: 100, startMs: 0 });
  const sim = new Sim(s);
  sim.run(0);
  s.backOffAfterRejection(100, 5);
  s.backOffAfterError(100);
  sim.run(4.9);
  assert.equal(sim.live.size, 1);
  const t = new Scheduler({ phases: [phase('p', 5, 60)], spawnRate: 100, startMs: 0 });
  const simT = new Sim(t);
  simT.run(0);
  t.backOffAfterError(100);
  simT.run(0.1 + ERROR_BACKOFF_S - 0.15);
  assert.equal(simT.live.size, 1);
  simT.run(0.1 + ERROR_BACKOFF_S + 0.1);
  assert.equal(simT.live.size, 5);
});

test('no worker to start on: nothing starts, and the allowance does not pile up beyond one burst', () => {
  const sim = new Sim(new Scheduler({ phases: [phase('p', 10, 60)], spawnRate: 2, startMs: 0 }));
  sim.canStart = false;
  sim.run(5);
  assert.equal(sim.live.size, 0);
  sim.canStart = true;
  sim.run(5.1);
  assert.equal(sim.live.size, 2, 'a burst of at most max(1, spawnRate)');
});

test('ends with the profile, or at once when aborted; isOver agrees', () => {
  const s = new Scheduler({ phases: [phase('a', 1, 1), phase('b', 0, 1)], spawnRate: 10, startMs: 1000 });
  assert.equal(s.totalS, 2);
  assert.equal(s.isOver(2999), false);
  assert.equal(s.isOver(3000), true);
  assert.equal(s.isOver(1500, true), true);
  assert.deepEqual(s.tick(3000, [], true), { done: true });
  const sim = new Sim(new Scheduler({ phases: [phase('a', 3, 10)], spawnRate: 10, startMs: 0 }));
  sim.run(0.5);
  sim.run(5, true);
  assert.equal(sim.done, true);
  assert.throws(() => new Scheduler({ phases: [], spawnRate: 1, startMs: 0 }), RangeError);
});
