/**
 * The load run's aggregation (src/loadgen/aggregator.ts) fed by hand: per-second samples, phase
 * figures that leave out each phase's settle time, overall figures that keep it, and session records.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunAggregator } from '../../../src/loadgen/aggregator.js';
import type { SessionResult } from '../../../src/loadgen/client-session.js';
import type { FrameCounters } from '../../../src/loadgen/frame-counters.js';
import type { Phase } from '../../../src/loadgen/profile.js';
import type { Sample } from '../../../src/loadgen/run-result.js';

const phases: Phase[] = [{ name: 'a', sessions: 2, durationS: 10, ramp: false }, { name: 'b', sessions: 1, durationS: 10, ramp: false }];

function counters(latencies: number[], extra: Partial<FrameCounters> = {}): FrameCounters {
  return { latencies, received: latencies.length, decoded: latencies.length, undecoded: 0, lost: 0, freezes: 0, sent: latencies.length, ...extra };
}

function result(id: number, outcome: SessionResult['outcome']): SessionResult {
  return {
    id, outcome, connectMs: 100, durationS: 5, framesSent: 10, framesReceived: 10, framesDecoded: 10, framesUndecoded: 0, framesLost: 0,
    freezes: 0, freezeMs: 0, receivedFps: 30, latencyMs: { count: 0, mean: null, p50: null, p95: null, p99: null, max: null }, receivedSize: '320x180',
  };
}

test('samples per second, phase figures without the settle time, overall figures with it', () => {
  let now = 0;
  const seen: Sample[] = [];
  const agg = new RunAggregator(phases, 2, () => now, (s) => seen.push(s));
  // Phase a, inside its 2 s settle time: counts overall and in the sample, not in the phase.
  now = 0.5;
  agg.sessionStarted();
  agg.addConnect(120.4);
  agg.addCounters(counters([500, 600]));
  agg.tickActive(1);
  const s1 = agg.sample(1, 2, 1, 1);
  assert.equal(s1.phase, 'a');
  assert.equal(s1.latencyMs.count, 2);
  assert.deepEqual(s1.connectMs, [120]);
  assert.equal(s1.sessionsStarted, 1);
  assert.equal(s1.receivedFps, 2);
  assert.equal(s1.fpsPerSession, 2);
  // Settled: counts in phase a too.
  now = 3.5;
  agg.addCounters(counters([10, 20, 30, 40], { lost: 1 }));
  agg.tickActive(2);
  agg.tickActive(2);
  const s2 = agg.sample(4, 2, 2, 0);
  assert.equal(s2.latencyMs.count, 4);
  assert.equal(s2.fpsPerSession, round3(4 / 3 / 2), 'received / span / mean active');
  // Phase b.
  now = 12.5;
  agg.phaseIndex = 1;
  agg.rejection();
  agg.error();
  agg.addSession(result(2, 'rejected'), 0, 1, 12.3456);
  agg.addSession(result(1, 'completed'), 0, 0, 0.5);
  const s3 = agg.sample(13, 1, 1, 0);
  assert.equal(s3.phase, 'b');
  assert.equal(s3.rejections, 1);
  assert.equal(s3.errors, 1);
  assert.equal(seen.length, 3, 'every sample reaches onSample');

  const r = agg.result(20.0004, false, ['worker 0: oops']);
  assert.equal(r.durationS, 20);
  const [a, b] = r.phases;
  assert.equal(a!.latencyMs.count, 4, 'the settle-time frames are left out of the phase');
  assert.ok(a!.latencyMs.max! === 40 && a!.latencyMs.p50! >= 20 && a!.latencyMs.p50! <= 20.02, JSON.stringify(a!.latencyMs));
  assert.equal(a!.framesLost, 1);
  assert.equal(a!.maxActiveSessions, 2);
  assert.equal(a!.sessionsStarted, 1, 'counted in its phase even while settling');
  assert.equal(r.overall.latencyMs.count, 6, 'overall keeps everything');
  assert.equal(r.overall.latencyMs.max, 600);
  assert.equal(r.overall.connectMs.count, 1);
  assert.equal(b!.rejections, 1);
  assert.equal(b!.errors, 1);
  assert.deepEqual([a!.startS, a!.endS, b!.startS, b!.endS], [0, 10, 10, 20]);
  assert.deepEqual(r.sessions.map((s) => [s.id, s.phase, s.startS]), [[1, 'a', 0.5], [2, 'b', 12.346]]);
  assert.deepEqual(r.workerErrors, ['worker 0: oops']);
  assert.equal(r.overall.targetSessions, 2, 'overall target is the peak');
});

test('a second without frames has no latency and, with no active session, no fps', () => {
  const agg = new RunAggregator(phases, 0, () => 0.5);
  const s = agg.sample(1, 2, 0, 2);
  assert.deepEqual(s.latencyMs, { count: 0, p50: null, p95: null, max: null });
  assert.equal(s.fpsPerSession, null);
  const t = agg.sample(2, 2, 1, 0);
  assert.equal(t.fpsPerSession, 0, 'an active session that received nothing: 0 fps');
});

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
