/**
 * One benchmark point: a fresh server of one kind, the project's load generator as the one client
 * (one steady phase of N sessions at one resolution), the server's and the client's CPU read from
 * /proc over the steady window, and the load generator's report reduced to the figures that count.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SessionResult } from '../../src/loadgen/client-session.js';
import type { LoadReport } from '../../src/loadgen/report.js';
import type { BenchOptions, ServerKind } from './options.js';
import { CLOCK_TICKS, counterAt, CpuSampler, type CpuReading } from './proc-cpu.js';
import { REPO_ROOT, ServerRefusedError, startServer } from './servers.js';
import { median } from './median.js';

const LOADGEN = path.join(REPO_ROOT, 'dist/src/loadgen/cli.js');
/** The window ends this long before the phase does: sessions are being stopped at the very end. */
const WINDOW_END_MARGIN_MS = 500;

/** What one point asks for. */
export interface PointSpec {
  kind: ServerKind;
  width: number;
  height: number;
  sessions: number;
  round: number;
  /** WHEP viewers per session: the point then publishes over WHIP (--protocol whip --viewers N); absent: the project's /offer. */
  viewers?: number;
}

/** What the WHEP viewers of a point saw (from the load generator's per-session viewer totals). */
export interface ViewerFigures {
  viewers: number;
  connected: number;
  /** Median over sessions of the offer to the first stamped frame at a viewer, ms. */
  firstFrameMs: number | null;
  /** Median of the sessions' viewer p50, and the worst session's viewer p95, ms. */
  p50: number | null;
  p95: number | null;
  error: string | null;
}

/** CPU spent in the steady window. */
export interface CpuFigures {
  /** Server process tree, ms of CPU per second of one session (divided by sessions x seconds). */
  serverMsPerSessionSecond: number | null;
  /**
   * Server ms per frame that came back (per session-second divided by the received fps): the
   * figure to compare where a server kept up with fewer frames than were sent.
   */
  serverMsPerFrameReturned: number | null;
  /** Server cores busy on average over the window. */
  serverCores: number | null;
  /** The load generator's process tree, ms per session-second: the client's own cost. */
  clientMsPerSessionSecond: number | null;
  /** Whole-machine busy fraction (0..1) over the window: near 1, the box was saturated. */
  machineBusy: number | null;
  /** Window used, seconds, and the session-seconds inside it (from the load generator's samples). */
  windowS: number;
  sessionSeconds: number;
}

/** The result of one point. */
export interface PointResult extends PointSpec {
  resolution: string;
  status: 'ok' | 'failed' | 'refused';
  error?: string;
  latencyMs: { p50: number | null; p95: number | null; max: number | null };
  freezes: number | null;
  fpsPerSession: number | null;
  framesDecoded: number | null;
  framesLost: number | null;
  framesUndecoded: number | null;
  sessionsStarted: number | null;
  maxActiveSessions: number | null;
  rejections: number | null;
  errors: number | null;
  /** Sizes the client received (libwebrtc scales down under CPU or bandwidth pressure). */
  receivedSizes: string[];
  /** The video codecs the server's answers put first (e.g. ["H264"]): what the point ran; a server without the codec offered first answers the fallback. */
  codecsAnswered: string[];
  cpu: CpuFigures | null;
  /** With viewers: what they saw. */
  viewerFigures: ViewerFigures | null;
  loadgenExit: number | null;
  /** Where the server log and the load generator's report went. */
  dir: string;
}

function round(v: number | null, digits = 1): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Session-seconds inside [fromS, toS] (loadgen time), from its per-second samples of active sessions. */
export function sessionSecondsIn(samples: Array<{ t: number; activeSessions: number }>, fromS: number, toS: number): number {
  let total = 0;
  let prev = 0;
  for (const s of samples) {
    const a = Math.max(prev, fromS);
    const b = Math.min(s.t, toS);
    if (b > a) total += s.activeSessions * (b - a);
    prev = s.t;
  }
  return total;
}

/** CPU figures for the window [startMs, endMs] (wall clock). */
export function cpuInWindow(readings: CpuReading[], startMs: number, endMs: number, sessionSeconds: number): Omit<CpuFigures, 'windowS' | 'sessionSeconds' | 'serverMsPerFrameReturned'> {
  const delta = (key: 'server' | 'client' | 'machineBusy' | 'machineTotal'): number | null => {
    const a = counterAt(readings, key, startMs);
    const b = counterAt(readings, key, endMs);
    return a === null || b === null ? null : b - a;
  };
  const seconds = (endMs - startMs) / 1000;
  const toMs = (ticks: number | null): number | null => (ticks === null ? null : (ticks * 1000) / CLOCK_TICKS);
  const server = toMs(delta('server'));
  const client = toMs(delta('client'));
  const busy = delta('machineBusy');
  const total = delta('machineTotal');
  return {
    serverMsPerSessionSecond: server !== null && sessionSeconds > 0 ? round(server / sessionSeconds) : null,
    serverCores: server !== null && seconds > 0 ? round(server / 1000 / seconds, 3) : null,
    clientMsPerSessionSecond: client !== null && sessionSeconds > 0 ? round(client / sessionSeconds) : null,
    machineBusy: busy !== null && total !== null && total > 0 ? round(busy / total, 3) : null,
  };
}

function emptyResult(spec: PointSpec, dir: string, status: PointResult['status'], error: string): PointResult {
  return {
    ...spec, resolution: `${spec.width}x${spec.height}`, status, error,
    latencyMs: { p50: null, p95: null, max: null }, freezes: null, fpsPerSession: null, framesDecoded: null, framesLost: null,
    framesUndecoded: null, sessionsStarted: null, maxActiveSessions: null, rejections: null, errors: null, receivedSizes: [], codecsAnswered: [],
    cpu: null, viewerFigures: null, loadgenExit: null, dir: path.relative(REPO_ROOT, dir),
  };
}

function runLoadgen(args: string[], onSpawn: (pid: number) => void, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LOADGEN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer): void => { output = (output + c.toString()).slice(-8000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    if (child.pid !== undefined) onSpawn(child.pid);
    // The load generator bounds itself (profile + a minute); this is the last resort.
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { output += `\n${err.message}`; });
    child.once('close', (code) => { clearTimeout(t); resolve({ code, output }); });
  });
}

/** Run one point in `dir` (created). Never throws: failures are a status with the reason. */
export async function runPoint(spec: PointSpec, opts: BenchOptions, dir: string): Promise<PointResult> {
  mkdirSync(dir, { recursive: true });
  let server;
  try {
    server = await startServer(spec.kind, { python: opts.python, rtcServer: opts.rtcServer, logFile: path.join(dir, 'server.log') });
  } catch (err) {
    return emptyResult(spec, dir, err instanceof ServerRefusedError ? 'refused' : 'failed', (err as Error).message);
  }
  const sampler = new CpuSampler(server.pid);
  sampler.start();
  try {
    const args = [
      '--url', server.url, ...(spec.viewers === undefined ? ['--protocol', 'rtc-scale'] : ['--protocol', 'whip', '--viewers', String(spec.viewers)]), '--sessions', String(spec.sessions), '--duration', String(opts.durationS),
      '--settle', String(opts.settleS), '--resolution', `${spec.width}x${spec.height}`, '--fps', String(opts.fps),
      '--filter', opts.filter, '--iterations', String(opts.iterations), '--spawn-rate', String(opts.spawnRate),
      '--engine', opts.client, '--codec', opts.codec,
      '--connect-timeout', String(Math.max(10, opts.durationS)), '--quiet', '--out', dir,
      ...(opts.loadgenWorkers ? ['--workers', String(opts.loadgenWorkers)] : []),
    ];
    const run = await runLoadgen(args, (pid) => sampler.setClient(pid), (opts.durationS + 90) * 1000);
    sampler.stop();
    let report: LoadReport;
    try {
      report = JSON.parse(readFileSync(path.join(dir, 'loadgen-report.json'), 'utf8')) as LoadReport;
    } catch {
      return { ...emptyResult(spec, dir, 'failed', `load generator exited ${run.code} without a report: ${run.output.trim().slice(-600)}`), loadgenExit: run.code };
    }
    const w = report.webrtc;
    const phase = w?.phases[0];
    if (!w || !phase) {
      return { ...emptyResult(spec, dir, 'failed', `load generator report has no WebRTC phase (exit ${run.code})`), loadgenExit: run.code };
    }
    const t0 = Date.parse(report.startedAt);
    const fromS = opts.settleS;
    const toS = Math.min(opts.durationS, w.durationS) - WINDOW_END_MARGIN_MS / 1000;
    const sessionSeconds = sessionSecondsIn(w.samples, fromS, toS);
    const inWindow = cpuInWindow(sampler.readings, t0 + fromS * 1000, t0 + toS * 1000, sessionSeconds);
    const cpu: CpuFigures = {
      ...inWindow,
      serverMsPerFrameReturned: inWindow.serverMsPerSessionSecond !== null && phase.fpsPerSession
        ? round(inWindow.serverMsPerSessionSecond / phase.fpsPerSession, 2) : null,
      windowS: round(toS - fromS, 2) ?? 0,
      sessionSeconds: round(sessionSeconds, 1) ?? 0,
    };
    const sizes = [...new Set(w.sessions.map((s) => s.receivedSize).filter((s): s is string => s !== null))].sort();
    const codecs = [...new Set(w.sessions.map((s) => s.codec).filter((c): c is string => typeof c === 'string'))].sort();
    const problems: string[] = [];
    if (phase.maxActiveSessions < spec.sessions) problems.push(`only ${phase.maxActiveSessions} of ${spec.sessions} sessions got video back`);
    if (phase.latencyMs.p95 === null) problems.push('no stamped frame came back');
    if (w.workerErrors.length) problems.push(`load generator: ${w.workerErrors.join('; ')}`);
    const viewerFigures = spec.viewers === undefined ? null : viewersOf(w.sessions, spec.viewers * spec.sessions);
    if (viewerFigures && viewerFigures.connected < viewerFigures.viewers) problems.push(`only ${viewerFigures.connected} of ${viewerFigures.viewers} viewers got video`);
    return {
      ...spec,
      resolution: `${spec.width}x${spec.height}`,
      status: problems.length ? 'failed' : 'ok',
      ...(problems.length ? { error: problems.join('; ') } : {}),
      latencyMs: { p50: round(phase.latencyMs.p50), p95: round(phase.latencyMs.p95), max: round(phase.latencyMs.max) },
      freezes: phase.freezes,
      fpsPerSession: round(phase.fpsPerSession),
      framesDecoded: phase.framesDecoded,
      framesLost: phase.framesLost,
      framesUndecoded: phase.framesUndecoded,
      sessionsStarted: phase.sessionsStarted,
      maxActiveSessions: phase.maxActiveSessions,
      rejections: phase.rejections,
      errors: phase.errors,
      receivedSizes: sizes,
      codecsAnswered: codecs,
      cpu,
      viewerFigures,
      loadgenExit: run.code,
      dir: path.relative(REPO_ROOT, dir),
    };
  } finally {
    sampler.stop();
    await server.stop();
  }
}

/** The viewers' figures over a point's sessions. */
function viewersOf(sessions: readonly SessionResult[], expected: number): ViewerFigures {
  const totals = sessions.map((s) => s.viewers).filter((v) => v !== undefined);
  const p95s = totals.map((v) => v.latencyMs.p95).filter((x): x is number => typeof x === 'number');
  return {
    viewers: expected,
    connected: totals.reduce((n, v) => n + v.connected, 0),
    firstFrameMs: median(totals.map((v) => v.firstFrameMs)),
    p50: median(totals.map((v) => v.latencyMs.p50)),
    p95: p95s.length ? round(Math.max(...p95s)) : null,
    error: totals.find((v) => v.error)?.error ?? null,
  };
}
