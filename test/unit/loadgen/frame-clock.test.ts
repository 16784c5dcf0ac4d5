/**
 * The load generator's frame clock: every session at the frame rate, sessions spread over the
 * interval instead of all on one tick, no drift, and no burst after a stall.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameClock } from '../../../src/loadgen/frame-clock.js';

/** Run the clock as the worker does (wake at the next due time) from `from` to `to`; frame times per session. */
function drive(clock: FrameClock, from: number, to: number): Map<number, number[]> {
  const sent = new Map<number, number[]>();
  let now = from;
  for (let guard = 0; now <= to && guard < 100_000; guard++) {
    for (const id of clock.due(now)) {
      const list = sent.get(id) ?? [];
      list.push(now);
      sent.set(id, list);
    }
    now = Math.min(clock.nextDueMs(), now + clock.intervalMs);
  }
  return sent;
}

describe('FrameClock', () => {
  it('sends every session at the frame rate, each on its own phase', () => {
    const clock = new FrameClock(30, 0);
    for (let id = 1; id <= 4; id++) clock.add(id, 0);
    const sent = drive(clock, 0, 1000);
    for (let id = 1; id <= 4; id++) {
      const times = sent.get(id)!;
      assert.ok(times.length >= 29 && times.length <= 31, `session ${id}: ${times.length} frames in 1 s`);
      for (let i = 1; i < times.length; i++) assert.ok(Math.abs(times[i]! - times[i - 1]! - 1000 / 30) < 1e-6, 'evenly spaced');
    }
    // four sessions' first frames fall at four different points of the interval, at least 4 ms apart
    const firsts = [1, 2, 3, 4].map((id) => sent.get(id)![0]! % (1000 / 30)).sort((a, b) => a - b);
    for (let i = 1; i < firsts.length; i++) assert.ok(firsts[i]! - firsts[i - 1]! > 4, `phases ${firsts.map((f) => f.toFixed(1)).join(', ')}`);
  });

  it('spreads any number of sessions over the interval (no two of 8 closer than 2 ms)', () => {
    const clock = new FrameClock(30, 0);
    const phases = Array.from({ length: 8 }, (_, i) => clock.phaseMs(i + 1)).sort((a, b) => a - b);
    for (const p of phases) assert.ok(p >= 0 && p < clock.intervalMs);
    for (let i = 1; i < phases.length; i++) assert.ok(phases[i]! - phases[i - 1]! > 2, `phases ${phases.map((p) => p.toFixed(1)).join(', ')}`);
  });

  it('skips the frames a stalled process missed instead of bursting them', () => {
    const clock = new FrameClock(30, 0);
    clock.add(7, 0);
    const first = clock.nextDueMs();
    assert.deepEqual(clock.due(first), [7]);
    // the process stalls for 200 ms (six frames): one frame now, the next on the grid after now
    const late = first + 200;
    assert.deepEqual(clock.due(late), [7]);
    assert.deepEqual(clock.due(late), [], 'nothing more at the same time');
    const next = clock.nextDueMs();
    assert.ok(next > late && next - late <= clock.intervalMs + 1e-9);
    assert.ok(Math.abs(((next - first) / clock.intervalMs) - Math.round((next - first) / clock.intervalMs)) < 1e-9, 'still on its grid');
  });

  it('starts a session added later on the next point of its own grid, and forgets removed ones', () => {
    const clock = new FrameClock(30, 0);
    clock.add(3, 500);
    const at = clock.nextDueMs();
    assert.ok(at > 500 && at <= 500 + clock.intervalMs);
    assert.ok(Math.abs((at - clock.phaseMs(3)) / clock.intervalMs - Math.round((at - clock.phaseMs(3)) / clock.intervalMs)) < 1e-9);
    clock.remove(3);
    assert.equal(clock.size, 0);
    assert.equal(clock.nextDueMs(), Infinity);
    assert.deepEqual(clock.due(10_000), []);
  });

  it('rejects a frame rate that is not a positive number', () => {
    assert.throws(() => new FrameClock(0, 0), RangeError);
    assert.throws(() => new FrameClock(Number.NaN, 0), RangeError);
  });
});
