/**
 * The media benchmark's own arithmetic: options and presets, CPU windows read from /proc, the
 * staircase capacity (with its lower-bound case), the ratios and goals against aiortc, and the
 * engine check that skips an engine a server does not run, and the client and codec every point
 * asks for (H264 only with the native client) with the codecs the answers named.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseBenchOptions, parseStaircase } from '../../../bench/media/options.js';
import { UsageError } from '../../../src/toolkit/args.js';
import { cpuInWindow, sessionSecondsIn, type PointResult } from '../../../bench/media/point.js';
import { CLOCK_TICKS, counterAt, readProcStat, treeCpuTicks, type CpuReading } from '../../../bench/media/proc-cpu.js';
import { engineCheck } from '../../../bench/media/servers.js';
import { checkGoals, median, moreCapacity, ratiosAgainst, summarizeKind } from '../../../bench/media/summary.js';

function point(kind: PointResult['kind'], resolution: string, sessions: number, p95: number | null, cpu: number, status: PointResult['status'] = 'ok', codecsAnswered = ['VP8']): PointResult {
  const [w, h] = resolution.split('x').map(Number) as [number, number];
  return {
    kind, width: w, height: h, sessions, round: 1, resolution, status,
    latencyMs: { p50: p95 === null ? null : p95 - 10, p95, max: p95 }, freezes: 0, fpsPerSession: 30, framesDecoded: 100,
    framesLost: 0, framesUndecoded: 0, sessionsStarted: sessions, maxActiveSessions: sessions, rejections: 0, errors: 0,
    receivedSizes: [resolution], codecsAnswered,
    cpu: { serverMsPerSessionSecond: cpu, serverMsPerFrameReturned: cpu / 30, serverCores: null, clientMsPerSessionSecond: cpu, machineBusy: 0.5, windowS: 10, sessionSeconds: 10 * sessions },
    viewerFigures: null, loadgenExit: 0, dir: '',
  };
}

describe('bench:media options', () => {
  it('defaults to the quick preset with every kind', () => {
    const o = parseBenchOptions([])!;
    assert.equal(o.preset, 'quick');
    assert.deepEqual(o.kinds, ['libwebrtc', 'native', 'aiortc']);
    assert.deepEqual(o.staircases.map((s) => `${s.width}x${s.height}:${s.steps.join(',')}`), ['640x360:1,2,4', '1280x720:1']);
    assert.equal(o.filter, 'none');
    assert.equal(o.pastFailure, 0);
    assert.equal(o.client, 'libwebrtc');
    assert.equal(o.codec, 'vp8');
  });

  it('--codec h264 runs the native client (the libwebrtc client has no H264); --client picks it for vp8 too', () => {
    const h = parseBenchOptions(['--kinds', 'native,aiortc', '--codec', 'h264', '--quick'])!;
    assert.deepEqual([h.client, h.codec], ['native', 'h264']);
    assert.deepEqual([parseBenchOptions(['--client', 'native', '--codec', 'h264'])!.client, parseBenchOptions(['--client', 'native'])!.codec], ['native', 'vp8']);
    assert.deepEqual([parseBenchOptions(['--codec', 'vp8'])!.client, parseBenchOptions(['--client', 'native', '--codec', 'vp8'])!.client], ['libwebrtc', 'native']);
    assert.throws(() => parseBenchOptions(['--client', 'libwebrtc', '--codec', 'h264']), /--codec h264 needs --client native/);
    for (const argv of [['--codec', 'vp9'], ['--codec', 'H264'], ['--client', 'chrome'], ['--codec']]) {
      assert.throws(() => parseBenchOptions(argv), UsageError, argv.join(' '));
    }
  });

  it('takes the full preset, kinds and staircases', () => {
    const o = parseBenchOptions(['--full', '--kinds', 'aiortc,libwebrtc', '--staircase', '640x360:1,3', '--past-failure', '0', '--settle', '0'])!;
    assert.equal(o.durationS, 20);
    assert.equal(o.settleS, 0);
    assert.deepEqual(o.kinds, ['aiortc', 'libwebrtc']);
    assert.deepEqual(o.staircases, [{ width: 640, height: 360, steps: [1, 3] }]);
    assert.equal(parseBenchOptions(['--help']), null);
  });

  it('refuses bad input with a usage error', () => {
    for (const argv of [['--kinds', 'gstreamer'], ['--quick', '--full'], ['--duration', '4', '--settle', '3'], ['--repeat', '0'], ['--bogus']]) {
      assert.throws(() => parseBenchOptions(argv), UsageError, argv.join(' '));
    }
    for (const s of ['640x360', '641x360:1', '640x360:2,1', '640x360:0', '100x100:1']) assert.throws(() => parseStaircase(s), UsageError, s);
  });
});

describe('bench:media CPU windows', () => {
  it('reads this process and counts a busy child in its tree', async () => {
    const self = readProcStat(process.pid);
    assert.ok(self && self.cpuTicks >= 0 && self.ppid > 0);
    assert.equal(readProcStat(2 ** 30), null);
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 600; while (Date.now() < end);'], { stdio: 'ignore' });
    const before = treeCpuTicks(process.pid)!;
    await new Promise((r) => setTimeout(r, 450));
    const during = treeCpuTicks(process.pid)!;
    await new Promise((r) => child.once('exit', r));
    // The child spins ~0.45 s in that time: well over a tenth of a second of ticks must show.
    assert.ok((during - before) / CLOCK_TICKS > 0.1, `tree grew by ${during - before} ticks`);
  });

  it('interpolates counters and divides by session-seconds', () => {
    const readings: CpuReading[] = [
      { atMs: 0, server: 0, client: null, machineBusy: 0, machineTotal: 0 },
      { atMs: 1000, server: 100, client: 50, machineBusy: 100, machineTotal: 200 },
      { atMs: 3000, server: 300, client: 150, machineBusy: 300, machineTotal: 600 },
    ];
    assert.equal(counterAt(readings, 'server', 500), 50);
    assert.equal(counterAt(readings, 'server', 2000), 200);
    assert.equal(counterAt(readings, 'server', 4000), null);
    assert.equal(counterAt(readings, 'client', 500), null);
    // 1000..3000 ms: 200 ticks = 2 s of CPU (at 100 ticks/s) over 2 sessions x 2 s.
    const c = cpuInWindow(readings, 1000, 3000, 4);
    assert.equal(c.serverMsPerSessionSecond, (200 * 1000) / CLOCK_TICKS / 4);
    assert.equal(c.machineBusy, 0.5);
    // Samples at t = 1..4 s with 1, 2, 2, 2 sessions; window 1.5..3.5 s.
    const samples = [1, 2, 3, 4].map((t) => ({ t, activeSessions: t === 1 ? 1 : 2 }));
    assert.equal(sessionSecondsIn(samples, 1.5, 3.5), 4);
    assert.equal(sessionSecondsIn(samples, 0, 1), 1);
  });
});

describe('bench:media summary', () => {
  const aiortc = [point('aiortc', '640x360', 1, 60, 200), point('aiortc', '640x360', 2, 70, 180), point('aiortc', '640x360', 4, 90, 170),
    point('aiortc', '1280x720', 1, 400, 600)];
  const ours = [point('native', '640x360', 1, 40, 80), point('native', '640x360', 2, 45, 70), point('native', '640x360', 4, 250, 60),
    point('native', '1280x720', 1, 150, 200)];

  it('finds the capacity and marks a staircase whose top step held', () => {
    const a = summarizeKind(aiortc, ['640x360', '1280x720'], 200);
    const s = a.staircases[0]!;
    assert.equal(s.maxSessionsWithinSlo, 4);
    assert.equal(s.capacityIsLowerBound, true);
    assert.equal(a.staircases[1]!.maxSessionsWithinSlo, 0);
    assert.equal(a.staircases[1]!.firstMissAt, 1);
    const n = summarizeKind(ours, ['640x360', '1280x720'], 200);
    assert.equal(n.staircases[0]!.maxSessionsWithinSlo, 2);
    assert.equal(n.staircases[0]!.firstMissAt, 4);
    assert.equal(n.staircases[0]!.capacityIsLowerBound, false);
    // CPU headline: median over the 360p steps that held (80 and 70).
    assert.equal(n.serverCpuMsPerSessionSecond360p, 75);
    assert.equal(n.oneSession['640x360']!.p95Ms, 40);
  });

  it('does not count a failed run as within the objective', () => {
    const k = summarizeKind([point('aiortc', '640x360', 1, 60, 200), point('aiortc', '640x360', 2, null, 0, 'failed')], ['640x360'], 200);
    assert.equal(k.staircases[0]!.maxSessionsWithinSlo, 1);
    assert.equal(k.staircases[0]!.steps[1]!.withinSlo, false);
  });

  it('gives ratios and goals against aiortc', () => {
    const a = summarizeKind(aiortc, ['640x360', '1280x720'], 200);
    const n = summarizeKind(ours, ['640x360', '1280x720'], 200);
    const r = ratiosAgainst(n, a);
    assert.equal(r.p95_640x360_1session, 0.67);
    assert.equal(r.serverCpuPerSession_640x360, 0.42);
    const goals = checkGoals({ native: n, aiortc: a });
    const byName = (g: string): boolean | null => goals.find((x) => x.goal.startsWith(g))!.met;
    assert.equal(byName('640x360@30, 1 session'), true);
    assert.equal(byName('server CPU per 360p session-second vs aiortc'), true);
    assert.equal(byName('server CPU per 360p session-second vs libwebrtc'), null);
    assert.equal(byName('640x360, 4 sessions'), false);
    assert.equal(byName('640x360: sessions'), false);
    assert.equal(byName('1280x720@30'), false);
  });

  it('compares capacities that may be lower bounds', () => {
    assert.equal(moreCapacity(6, false, 4, false), true);
    assert.equal(moreCapacity(4, true, 4, true), null);
    assert.equal(moreCapacity(6, false, 4, true), null);
    assert.equal(moreCapacity(3, false, 4, true), false);
    assert.equal(moreCapacity(null, false, 2, false), false);
    assert.equal(median([3, null, 1, 2]), 2);
    assert.equal(median([]), null);
  });

  it('skips an engine the server does not run', () => {
    assert.equal(engineCheck('libwebrtc', { status: 'ok' }), null);
    assert.match(engineCheck('native', { status: 'ok' })!, /does not report/);
    assert.equal(engineCheck('native', { mediaEngine: 'native' }), null);
    assert.match(engineCheck('native', { mediaEngine: 'libwebrtc' })!, /runs libwebrtc/);
    assert.equal(engineCheck('aiortc', { server: 'aiortc' }), null);
    assert.notEqual(engineCheck('aiortc', { status: 'ok' }), null);
  });
});

describe('bench:media codecs answered', () => {
  it('a kind lists every codec its answers named, so a fallback to VP8 shows', () => {
    const h264 = summarizeKind([point('native', '640x360', 1, 40, 100, 'ok', ['H264']), point('native', '640x360', 2, 50, 100, 'ok', ['H264'])], ['640x360'], 200);
    assert.deepEqual(h264.codecsAnswered, ['H264']);
    const mixed = summarizeKind([point('libwebrtc', '640x360', 1, 40, 100, 'ok', ['VP8']), point('libwebrtc', '640x360', 2, 50, 100, 'failed', [])], ['640x360'], 200);
    assert.deepEqual(mixed.codecsAnswered, ['VP8']);
    assert.deepEqual(summarizeKind([point('aiortc', '640x360', 1, 40, 100, 'ok', ['VP8', 'H264'])], ['640x360'], 200).codecsAnswered, ['H264', 'VP8']);
  });
});
