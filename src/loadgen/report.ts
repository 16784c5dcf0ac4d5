/**
 * The run report: the JSON document written to --out, the objectives (SLO) verdict, and the
 * summary table printed at the end.
 */
import type { SessionResult } from './client-session.js';
import type { PhaseResult, WebrtcRunResult } from './run-result.js';
import type { Phase } from './profile.js';
import type { ProcessPhaseResult, ProcessRunResult } from './process-mode.js';

/** Settings a run was made with (echoed in the report). */
export interface RunSettings {
  url: string;
  mode: 'webrtc' | 'process';
  protocol: string;
  /** The clients' WebRTC stack (--engine); absent in reports written before it existed. */
  engine?: string;
  /** The codec the clients offered first (--codec); absent in reports written before it existed. */
  codec?: string;
  /** WHEP viewers per session (absent in reports from before WHEP). */
  viewers?: number;
  width: number;
  height: number;
  fps: number;
  filter: string;
  iterations: number;
  /** --style (absent: not given, the server's default). */
  style?: string;
  backend: string | null;
  workers: number;
  spawnRate: number;
  settleS: number;
  connectTimeoutS: number;
  rate: number | null;
  phases: Phase[];
}

/** Objectives given on the command line. */
export interface Objectives {
  p95Ms?: number;
  minFps?: number;
}

/** One objective, checked. */
export interface ObjectiveResult {
  name: string;
  limit: number;
  observed: number | null;
  met: boolean;
}

/** The JSON report. */
export interface LoadReport {
  tool: 'rtc-scale-loadgen';
  version: 1;
  startedAt: string;
  finishedAt: string;
  settings: RunSettings;
  objectives: ObjectiveResult[];
  /** True when every objective was met (and trivially when none was given). */
  objectivesMet: boolean;
  /**
   * With --slo-p95-ms in webrtc mode: the most sessions of a steady phase that reached its target
   * and kept p95 within the objective (null when none did). Run a staircase profile to find it.
   */
  capacity?: { sloP95Ms: number; sessions: number | null; phase: string | null };
  webrtc?: WebrtcRunResult;
  process?: ProcessRunResult;
}

/** Check the objectives against the whole run. A run that measured nothing misses every objective. */
export function evaluateObjectives(objectives: Objectives, run: { webrtc?: WebrtcRunResult; process?: ProcessRunResult }): ObjectiveResult[] {
  const out: ObjectiveResult[] = [];
  if (objectives.p95Ms !== undefined) {
    const observed = run.webrtc ? run.webrtc.overall.latencyMs.p95 : run.process?.overall.latencyMs.p95 ?? null;
    out.push({ name: 'p95 latency (ms)', limit: objectives.p95Ms, observed, met: observed !== null && observed <= objectives.p95Ms });
  }
  if (objectives.minFps !== undefined) {
    const observed = run.webrtc?.overall.fpsPerSession ?? null;
    out.push({ name: 'received fps per session', limit: objectives.minFps, observed, met: observed !== null && observed >= objectives.minFps });
  }
  return out;
}

/** The largest steady phase (target reached) whose p95 met `sloP95Ms`. */
export function capacityUnderSlo(run: WebrtcRunResult, sloP95Ms: number): { sloP95Ms: number; sessions: number | null; phase: string | null } {
  let best: PhaseResult | null = null;
  for (const p of run.phases) {
    if (p.ramp || p.targetSessions === 0 || p.maxActiveSessions < p.targetSessions) continue;
    if (p.latencyMs.p95 === null || p.latencyMs.p95 > sloP95Ms) continue;
    if (!best || p.targetSessions > best.targetSessions) best = p;
  }
  return { sloP95Ms, sessions: best?.targetSessions ?? null, phase: best?.name ?? null };
}

function num(v: number | null | undefined, digits = 0): string {
  return v === null || v === undefined ? '-' : v.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function lostPercent(p: PhaseResult): string {
  const base = p.framesDecoded + p.framesLost;
  return base ? ((100 * p.framesLost) / base).toFixed(1) : '-';
}

/** The WebRTC summary table, one row per phase and one for the whole run. */
export function webrtcSummaryTable(run: WebrtcRunResult): string {
  const header = ['phase', 'target', 'active max', 'started', 'rejected', 'errors', 'fps/session', 'p50 ms', 'p95 ms', 'max ms', 'freezes', 'lost %', 'connect p50 ms'];
  const row = (p: PhaseResult): string[] => [
    p.name, String(p.targetSessions), String(p.maxActiveSessions), String(p.sessionsStarted), String(p.rejections), String(p.errors),
    num(p.fpsPerSession, 1), num(p.latencyMs.p50), num(p.latencyMs.p95), num(p.latencyMs.max), String(p.freezes), lostPercent(p),
    num(p.connectMs.p50),
  ];
  return table(header, [...run.phases.map(row), row(run.overall)]);
}

/** The HTTP-mode summary table. */
export function processSummaryTable(run: ProcessRunResult): string {
  const header = ['phase', 'connections', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors'];
  const row = (p: ProcessPhaseResult): string[] => [
    p.name, String(p.connections), String(p.requests), num(p.rps, 1), num(p.latencyMs.p50, 1), num(p.latencyMs.p95, 1),
    num(p.latencyMs.p99, 1), num(p.latencyMs.max, 1), String(p.non2xx), String(p.errors),
  ];
  return table(header, [...run.phases.map(row), row(run.overall)]);
}

/** Lines saying how each objective fared. */
export function objectiveLines(results: ObjectiveResult[]): string[] {
  return results.map((o) => `objective ${o.name}: ${o.name.startsWith('received') ? '>=' : '<='} ${o.limit}, observed ${num(o.observed, 1)} → ${o.met ? 'MET' : 'MISSED'}`);
}

/**
 * One line on the codecs the servers answered (`codecs answered: H264 x4`), most sessions first;
 * null when no session got an answer. A server that cannot send the codec offered first answers
 * the fallback (VP8), and this line says so.
 */
export function codecSummaryLine(sessions: readonly SessionResult[]): string | null {
  const counts = new Map<string, number>();
  for (const s of sessions) if (s.codec) counts.set(s.codec, (counts.get(s.codec) ?? 0) + 1);
  if (counts.size === 0) return null;
  return `codecs answered: ${[...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c, n]) => `${c} x${n}`).join(', ')}`;
}

/**
 * One line on the WHEP viewers of a run (--viewers): how many got video, the session's offer to
 * the first frame at a viewer (median), and the viewers' glass to glass (median of the per-session
 * p50s, worst per-session p95). Null when the run had no viewers.
 */
export function viewerSummaryLine(sessions: readonly SessionResult[]): string | null {
  const withViewers = sessions.filter((s) => s.viewers !== undefined);
  if (withViewers.length === 0) return null;
  const viewers = withViewers.reduce((n, s) => n + (s.viewers?.viewers ?? 0), 0);
  const connected = withViewers.reduce((n, s) => n + (s.viewers?.connected ?? 0), 0);
  const median = (v: number[]): number | null => {
    const sorted = [...v].sort((a, b) => a - b);
    return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
  };
  const first = median(withViewers.map((s) => s.viewers?.firstFrameMs).filter((v): v is number => typeof v === 'number'));
  const p50 = median(withViewers.map((s) => s.viewers?.latencyMs.p50).filter((v): v is number => typeof v === 'number'));
  const p95s = withViewers.map((s) => s.viewers?.latencyMs.p95).filter((v): v is number => typeof v === 'number');
  const worst = p95s.length ? Math.max(...p95s) : null;
  const error = withViewers.find((s) => s.viewers?.error)?.viewers?.error;
  const f = (v: number | null): string => (v === null ? '-' : v.toFixed(0));
  return `viewers: ${connected} of ${viewers} got video; offer to first viewer frame p50 ${f(first)} ms; `
    + `viewer glass-to-glass p50 ${f(p50)} ms, worst session p95 ${f(worst)} ms${error ? `; first viewer error: ${error}` : ''}`;
}
