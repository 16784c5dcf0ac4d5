/**
 * The load generator against the real server on loopback: a two-phase WebRTC run whose report
 * matches the phases, the objective exit status both ways, 503s counted as rejections, the HTTP
 * mode, and usage errors. Small frames and few sessions: the test machine has two cores.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/loadgen-cli.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { LoadReport } from '../../src/loadgen/report.js';

/** A filter that changes every pixel, so the stamp is read on processed frames. */
const FILTER = process.env.LOADGEN_TEST_FILTER ?? 'invert';

function readReport(dir: string): LoadReport {
  return JSON.parse(readFileSync(path.join(dir, 'loadgen-report.json'), 'utf8')) as LoadReport;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'loadgen-run-'));
let server: TestServer;

before(async () => {
  server = await startTestServer({ env: { RTC_MAX_SESSIONS: '4' } });
});

after(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('a two-phase WebRTC run: report matches the phases, latencies are plausible, objective met', { timeout: 90_000 }, async () => {
  const out = path.join(tmp, 'two-phase');
  const r = await runCli(['--url', server.url, '--phases', 'two:2:10s,one:1:5s', '--resolution', '320x180', '--fps', '15',
    '--filter', FILTER, '--workers', '1', '--spawn-rate', '4', '--out', out, '--slo-p95-ms', '100000', '--quiet']);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const report = readReport(out);
  const run = report.webrtc!;
  assert.deepEqual(run.phases.map((p) => [p.name, p.targetSessions]), [['two', 2], ['one', 1]]);
  assert.equal(run.phases[0]!.maxActiveSessions, 2, 'two sessions received video at once in phase one');
  assert.equal(run.phases[1]!.maxActiveSessions, 1, 'one session in phase two');
  assert.equal(run.phases[0]!.sessionsStarted, 2);
  assert.equal(run.phases[1]!.sessionsStarted, 0, 'the drop to one stops a session and starts none');
  assert.equal(run.sessions.length, 2);
  for (const s of run.sessions) {
    assert.equal(s.outcome, 'completed', JSON.stringify(s));
    assert.ok(s.framesDecoded > 15, `session ${s.id} decoded ${s.framesDecoded}`);
    assert.ok(s.connectMs! > 0 && s.connectMs! < 20_000, `connect ${s.connectMs}`);
    // The server's data-channel stats passed the protocol decoder (src/protocol) and reached the report.
    assert.ok(s.server && (s.server.activeBackend === 'cpu' || s.server.activeBackend === 'gpu') && s.server.fpsIn > 0,
      `server stats of session ${s.id}: ${JSON.stringify(s.server)}`);
  }
  const lat = run.overall.latencyMs;
  assert.ok(lat.count > 50, `latency count ${lat.count}`);
  // Glass to glass on loopback: two VP8 encodes and decodes, so more than a millisecond, and far under ten seconds.
  assert.ok(lat.p50! > 1 && lat.p95! < 10_000 && lat.p50! <= lat.p95! && lat.p95! <= lat.max!, JSON.stringify(lat));
  assert.equal(run.overall.rejections, 0);
  assert.equal(run.overall.errors, 0);
  assert.ok(run.samples.length >= 10 && run.samples.every((s) => s.t > 0));
  assert.deepEqual(report.objectives.map((o) => o.met), [true]);
  const html = readFileSync(path.join(out, 'loadgen-report.html'), 'utf8');
  assert.equal((html.match(/<svg /g) ?? []).length, 5, 'five plots');
  assert.ok((html.match(/data-series="p95"/g) ?? []).length === 1, 'the latency plot has a p95 line');
  assert.match(r.stdout, /^phase\s+target/m, 'summary table printed');
});

test('503s at capacity are counted as rejections, and a missed objective fails the run', { timeout: 60_000 }, async () => {
  const small = await startTestServer({ env: { RTC_MAX_SESSIONS: '1' } });
  try {
    const out = path.join(tmp, 'capacity');
    const r = await runCli(['--url', small.url, '--sessions', '2', '--duration', '5s', '--resolution', '320x180', '--fps', '15',
      '--filter', FILTER, '--workers', '1', '--spawn-rate', '4', '--out', out, '--slo-p95-ms', '0.001', '--quiet']);
    assert.equal(r.code, 1, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const run = readReport(out).webrtc!;
    assert.ok(run.overall.rejections >= 1, `rejections ${run.overall.rejections}`);
    assert.equal(run.overall.maxActiveSessions, 1);
    const rejected = run.sessions.filter((s) => s.outcome === 'rejected');
    assert.equal(rejected.length, run.overall.rejections);
    assert.ok(rejected.every((s) => s.rejectCode === 'AT_CAPACITY'), JSON.stringify(rejected[0]));
    assert.ok(run.sessions.some((s) => s.outcome === 'completed'));
    assert.match(r.stdout, /MISSED/);
  } finally {
    await small.stop();
  }
});

test('process mode drives GET /process and reports throughput', { timeout: 60_000 }, async () => {
  const out = path.join(tmp, 'process');
  const r = await runCli(['--url', server.url, '--mode', 'process', '--phases', 'p:2:3s', '--resolution', '64x64',
    '--iterations', '1', '--filter', FILTER, '--out', out, '--slo-p95-ms', '100000', '--quiet']);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const run = readReport(out).process!;
  assert.ok(run.overall.requests > 5, `requests ${run.overall.requests}`);
  assert.equal(run.overall.non2xx, 0);
  assert.equal(run.overall.errors, 0);
  assert.ok(run.overall.latencyMs.p95! > 0);
  assert.ok(run.samples.length >= 2);
});

test('usage errors exit 2 and --help exits 0 without touching the network', async () => {
  const bad = await runCli(['--url', server.url, '--fps', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fps/);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--slo-p95-ms/);
});

test('--protocol whip with --viewers: WHIP sessions, WHEP viewers measured, all DELETEd at the end', { timeout: 60_000 }, async () => {
  const whipServer = await startTestServer({ env: { RTC_MAX_SESSIONS: '4' } });
  try {
    const out = path.join(tmp, 'whip');
    const r = await runCli(['--url', whipServer.url, '--protocol', 'whip', '--viewers', '1', '--sessions', '1', '--duration', '6s',
      '--resolution', '320x180', '--fps', '15', '--filter', FILTER, '--workers', '1', '--out', out, '--quiet']);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const report = readReport(out);
    assert.equal(report.settings.protocol, 'whip');
    assert.equal(report.settings.viewers, 1);
    const s = report.webrtc!.sessions[0]!;
    assert.equal(s.outcome, 'completed', JSON.stringify(s));
    assert.ok(s.framesDecoded > 20, `${s.framesDecoded} stamped frames back at the publisher`);
    assert.equal(s.viewers?.connected, 1, JSON.stringify(s.viewers));
    assert.ok((s.viewers?.framesDecoded ?? 0) > 20, `${s.viewers?.framesDecoded} stamped frames at the viewer`);
    assert.ok((s.viewers?.latencyMs.p95 ?? Infinity) < 1000, `viewer p95 ${s.viewers?.latencyMs.p95}`);
    assert.match(r.stdout, /viewers: 1 of 1 got video/);
    // The loadgen DELETEd the WHIP session and the viewer.
    const deadline = Date.now() + 10_000;
    let list = { sessions: [1], viewers: [1] } as { sessions: unknown[]; viewers: unknown[] };
    while (Date.now() < deadline && (list.sessions.length > 0 || list.viewers.length > 0)) {
      list = (await (await fetch(`${whipServer.url}/sessions`)).json()) as typeof list;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.deepEqual([list.sessions.length, list.viewers.length], [0, 0]);
  } finally {
    await whipServer.stop();
  }
});
