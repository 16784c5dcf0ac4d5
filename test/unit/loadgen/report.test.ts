/**
 * The load generator's report: objectives, the summary table, the HTML report, capacity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacityUnderSlo, codecSummaryLine, evaluateObjectives, webrtcSummaryTable, type LoadReport } from '../../../src/loadgen/report.js';
import type { SessionResult } from '../../../src/loadgen/client-session.js';
import { renderHtmlReport } from '../../../src/loadgen/html-report.js';
import type { PhaseResult, Sample, WebrtcRunResult } from '../../../src/loadgen/run-result.js';

function phase(name: string, p95: number | null): PhaseResult {
  return {
    name, targetSessions: 2, durationS: 5, ramp: false, startS: 0, endS: 5, sessionsStarted: 2, maxActiveSessions: 2, rejections: 1,
    errors: 0, framesSent: 300, framesReceived: 290, framesDecoded: 290, framesUndecoded: 0, framesLost: 10, freezes: 1, fpsPerSession: 29,
    latencyMs: { count: p95 === null ? 0 : 290, mean: p95, p50: p95, p95, p99: p95, max: p95 },
    connectMs: { count: 2, mean: 500, p50: 500, p95: 600, p99: 600, max: 600 },
  };
}

function fakeRun(p95: number | null): WebrtcRunResult {
  const samples: Sample[] = [1, 2, 3].map((t) => ({
    t, phase: 'a', targetSessions: 2, activeSessions: 2, connectingSessions: 0, sentFps: 60, receivedFps: 58, fpsPerSession: 29,
    latencyMs: { count: 58, p50: 40, p95: 60, max: 80 }, freezes: 0, lostFrames: 1, undecodedFrames: 0, sessionsStarted: t === 1 ? 2 : 0,
    rejections: t === 2 ? 1 : 0, errors: 0, connectMs: t === 1 ? [500, 600] : [],
  }));
  return { durationS: 3, aborted: false, samples, phases: [phase('a', p95)], overall: phase('overall', p95), sessions: [], workerErrors: [] };
}

test('objectives are met, missed, and missed when nothing was measured', () => {
  assert.deepEqual(evaluateObjectives({ p95Ms: 100 }, { webrtc: fakeRun(60) }).map((o) => o.met), [true]);
  assert.deepEqual(evaluateObjectives({ p95Ms: 50 }, { webrtc: fakeRun(60) }).map((o) => o.met), [false]);
  assert.deepEqual(evaluateObjectives({ p95Ms: 50 }, { webrtc: fakeRun(null) }).map((o) => o.met), [false]);
  assert.deepEqual(evaluateObjectives({ minFps: 30 }, { webrtc: fakeRun(60) }).map((o) => o.met), [false]);
  assert.deepEqual(evaluateObjectives({}, { webrtc: fakeRun(60) }), []);
});

test('summary table and self-contained HTML report with the plots', () => {
  const run = fakeRun(60);
  assert.match(webrtcSummaryTable(run), /^phase\s+target/);
  const report: LoadReport = {
    tool: 'rtc-scale-loadgen', version: 1, startedAt: 'now', finishedAt: 'later',
    settings: { url: 'http://h', mode: 'webrtc', protocol: 'rtc-scale', width: 640, height: 360, fps: 30, filter: 'none', iterations: 1,
      backend: null, workers: 1, spawnRate: 2, settleS: 0, connectTimeoutS: 20, rate: null, phases: [{ name: 'a', sessions: 2, durationS: 3, ramp: false }] },
    objectives: evaluateObjectives({ p95Ms: 100 }, { webrtc: run }), objectivesMet: true, webrtc: run,
  };
  const html = renderHtmlReport(report);
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /<script|<link|<img|\b(?:src|href)=|url\(/, 'no script and no external resource');
  assert.equal((html.match(/<svg /g) ?? []).length, 5);
  for (const t of ['Glass-to-glass latency', 'Received frames per second', 'Connect time', 'Rejections', 'Freezes']) assert.ok(html.includes(t), t);
  assert.ok(html.includes('objective p95 100 ms'));
});

test('capacity: the largest steady phase that reached its target within the objective', () => {
  const step = (name: string, sessions: number, active: number, p95: number | null, ramp = false): PhaseResult =>
    ({ ...phase(name, p95), targetSessions: sessions, maxActiveSessions: active, ramp });
  const run = fakeRun(60);
  run.phases = [step('up', 6, 6, 50, true), step('s1', 1, 1, 90), step('s2', 2, 2, 150), step('s3', 3, 2, 120), step('s4', 4, 4, 260)];
  assert.deepEqual(capacityUnderSlo(run, 200), { sloP95Ms: 200, sessions: 2, phase: 's2' });
  assert.deepEqual(capacityUnderSlo(run, 80), { sloP95Ms: 80, sessions: null, phase: null });
});

test('codecSummaryLine: the codecs the answers put first, most sessions first; null when no session was answered', () => {
  const session = (id: number, codec?: string): SessionResult => ({
    id, outcome: 'completed', connectMs: 1, durationS: 1, framesSent: 1, framesReceived: 1, framesDecoded: 1, framesUndecoded: 0, framesLost: 0,
    freezes: 0, freezeMs: 0, receivedFps: 1, latencyMs: { count: 0, mean: null, p50: null, p95: null, p99: null, max: null }, receivedSize: null,
    ...(codec ? { codec } : {}),
  });
  assert.equal(codecSummaryLine([session(1, 'VP8'), session(2, 'H264'), session(3, 'H264'), session(4)]), 'codecs answered: H264 x2, VP8 x1');
  assert.equal(codecSummaryLine([session(1, 'VP8'), session(2, 'H264')]), 'codecs answered: H264 x1, VP8 x1');
  assert.equal(codecSummaryLine([session(1)]), null);
  assert.equal(codecSummaryLine([]), null);
});
