/**
 * Reduces the benchmark's points to the figures issue 11 asks for, per server kind: one-session
 * glass-to-glass latency per resolution, the staircase and its capacity under the p95 objective,
 * server CPU per session-second, the ratios against the aiortc peer, and the goals checked.
 * Over repeated runs every figure is the median of the runs.
 */
import { median } from './median.js';
import type { ServerKind } from './options.js';
import type { PointResult } from './point.js';

export { median };

/** One (kind, resolution, sessions) cell, over the runs. */
export interface StepSummary {
  sessions: number;
  runs: number;
  okRuns: number;
  p50Ms: number | null;
  p95Ms: number | null;
  freezes: number | null;
  fpsPerSession: number | null;
  serverCpuMsPerSessionSecond: number | null;
  serverCpuMsPerFrameReturned: number | null;
  clientCpuMsPerSessionSecond: number | null;
  machineBusy: number | null;
  /** Every run ok and the median p95 within the objective. */
  withinSlo: boolean;
  errors: string[];
}

/** One staircase of one kind. */
export interface StaircaseSummary {
  resolution: string;
  steps: StepSummary[];
  /** The largest session count whose step held the objective; 0 when none did. */
  maxSessionsWithinSlo: number;
  /** The first session count that missed it; null when none did. */
  firstMissAt: number | null;
  /** The top step held: the capacity is at least maxSessionsWithinSlo (run higher steps to find it). */
  capacityIsLowerBound: boolean;
}

/** Everything measured for one kind. */
export interface KindSummary {
  /** One session, filter as run: p50/p95 per resolution ("640x360" → ...). */
  oneSession: Record<string, { p50Ms: number | null; p95Ms: number | null; freezes: number | null; serverCpuMsPerSessionSecond: number | null }>;
  staircases: StaircaseSummary[];
  /** Median over the 640x360 steps that held the objective (step 1 when none did). */
  serverCpuMsPerSessionSecond360p: number | null;
  clientCpuMsPerSessionSecond360p: number | null;
  /** Every codec the kind's answers put first over its points (one entry when it ran the codec asked for, or its fallback). */
  codecsAnswered: string[];
}

/** A goal of issue 11, checked; `met` null when a figure it needs was not measured. */
export interface GoalResult {
  kind: ServerKind;
  goal: string;
  target: string;
  observed: number | null;
  met: boolean | null;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

/** Summarise the runs of one cell. */
export function summarizeStep(sessions: number, runs: PointResult[], sloP95Ms: number): StepSummary {
  const ok = runs.filter((r) => r.status === 'ok');
  const p95 = median(ok.map((r) => r.latencyMs.p95));
  return {
    sessions,
    runs: runs.length,
    okRuns: ok.length,
    p50Ms: median(ok.map((r) => r.latencyMs.p50)),
    p95Ms: p95,
    freezes: median(ok.map((r) => r.freezes)),
    fpsPerSession: median(ok.map((r) => r.fpsPerSession)),
    serverCpuMsPerSessionSecond: median(ok.map((r) => r.cpu?.serverMsPerSessionSecond)),
    serverCpuMsPerFrameReturned: median(ok.map((r) => r.cpu?.serverMsPerFrameReturned), 2),
    clientCpuMsPerSessionSecond: median(ok.map((r) => r.cpu?.clientMsPerSessionSecond)),
    machineBusy: median(ok.map((r) => r.cpu?.machineBusy), 3),
    withinSlo: runs.length > 0 && ok.length === runs.length && p95 !== null && p95 <= sloP95Ms,
    errors: [...new Set(runs.filter((r) => r.error).map((r) => r.error!))],
  };
}

/** Summarise every kind's points. `staircases` gives the resolutions in the order they were planned. */
export function summarizeKind(points: PointResult[], resolutions: string[], sloP95Ms: number): KindSummary {
  const staircases: StaircaseSummary[] = [];
  const oneSession: KindSummary['oneSession'] = {};
  for (const res of resolutions) {
    const atRes = points.filter((p) => p.resolution === res);
    const counts = [...new Set(atRes.map((p) => p.sessions))].sort((a, b) => a - b);
    const steps = counts.map((n) => summarizeStep(n, atRes.filter((p) => p.sessions === n), sloP95Ms));
    const held = steps.filter((s) => s.withinSlo);
    const missed = steps.find((s) => !s.withinSlo);
    staircases.push({
      resolution: res, steps,
      maxSessionsWithinSlo: held.length ? Math.max(...held.map((s) => s.sessions)) : 0,
      firstMissAt: missed?.sessions ?? null,
      capacityIsLowerBound: steps.length > 0 && steps[steps.length - 1]!.withinSlo,
    });
    const one = steps.find((s) => s.sessions === 1);
    if (one) oneSession[res] = { p50Ms: one.p50Ms, p95Ms: one.p95Ms, freezes: one.freezes, serverCpuMsPerSessionSecond: one.serverCpuMsPerSessionSecond };
  }
  const s360 = staircases.find((s) => s.resolution === '640x360');
  const held360 = s360?.steps.filter((s) => s.withinSlo) ?? [];
  const basis = held360.length ? held360 : s360?.steps.slice(0, 1) ?? [];
  return {
    oneSession,
    staircases,
    serverCpuMsPerSessionSecond360p: median(basis.map((s) => s.serverCpuMsPerSessionSecond)),
    clientCpuMsPerSessionSecond360p: median(basis.map((s) => s.clientCpuMsPerSessionSecond)),
    codecsAnswered: [...new Set(points.flatMap((p) => p.codecsAnswered))].sort(),
  };
}

const stepAt = (k: KindSummary | undefined, res: string, n: number): StepSummary | undefined =>
  k?.staircases.find((s) => s.resolution === res)?.steps.find((s) => s.sessions === n);
const capacityAt = (k: KindSummary | undefined, res: string): number | null | undefined =>
  k?.staircases.find((s) => s.resolution === res)?.maxSessionsWithinSlo;
const lowerBound = (k: KindSummary | undefined, res: string): boolean =>
  k?.staircases.find((s) => s.resolution === res)?.capacityIsLowerBound ?? false;

/**
 * Whether capacity `ours` is more than `theirs`, where either may be only a lower bound (its top
 * step held); null when the staircases did not go far enough to tell.
 */
export function moreCapacity(ours: number | null | undefined, oursAtLeast: boolean, theirs: number | null | undefined, theirsAtLeast: boolean): boolean | null {
  if (theirs === undefined || ours === undefined) return null;
  const o = ours ?? 0;
  const t = theirs ?? 0;
  if (o > t) return theirsAtLeast ? null : true;
  return oursAtLeast ? null : false;
}

/** Ratios of an rtc-scale kind against aiortc (below 1: less latency or CPU; above 1: more capacity). */
export function ratiosAgainst(kind: KindSummary, aiortc: KindSummary | undefined): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [res, one] of Object.entries(kind.oneSession)) {
    out[`p50_${res}_1session`] = ratio(one.p50Ms, aiortc?.oneSession[res]?.p50Ms);
    out[`p95_${res}_1session`] = ratio(one.p95Ms, aiortc?.oneSession[res]?.p95Ms);
  }
  out.p95_640x360_4sessions = ratio(stepAt(kind, '640x360', 4)?.p95Ms, stepAt(aiortc, '640x360', 4)?.p95Ms);
  out.serverCpuPerSession_640x360 = ratio(kind.serverCpuMsPerSessionSecond360p, aiortc?.serverCpuMsPerSessionSecond360p);
  for (const s of kind.staircases) out[`capacity_${s.resolution}`] = ratio(s.maxSessionsWithinSlo, capacityAt(aiortc, s.resolution));
  return out;
}

/** The goals of issue 11 for each rtc-scale kind. */
export function checkGoals(kinds: Partial<Record<ServerKind, KindSummary>>): GoalResult[] {
  const out: GoalResult[] = [];
  const aiortc = kinds.aiortc;
  const libwebrtc = kinds.libwebrtc;
  const goal = (kind: ServerKind, name: string, target: string, observed: number | null | undefined, limit: number | null | undefined, cmp: 'le' | 'lt' | 'gt' | 'ge'): void => {
    const o = observed ?? null;
    const l = limit ?? null;
    const met = o === null || l === null ? null : cmp === 'le' ? o <= l : cmp === 'lt' ? o < l : cmp === 'gt' ? o > l : o >= l;
    out.push({ kind, goal: name, target, observed: o, met });
  };
  for (const kind of ['native', 'libwebrtc'] as const) {
    const k = kinds[kind];
    if (!k) continue;
    goal(kind, '640x360@30, 1 session: p95 glass to glass', '<= 50 ms', k.oneSession['640x360']?.p95Ms, 50, 'le');
    const half = (v: number | null | undefined): number | null => (typeof v === 'number' ? v / 2 : null);
    goal(kind, 'server CPU per 360p session-second vs aiortc', `<= half of aiortc's (${aiortc?.serverCpuMsPerSessionSecond360p ?? '-'} ms)`,
      k.serverCpuMsPerSessionSecond360p, half(aiortc?.serverCpuMsPerSessionSecond360p), 'le');
    if (kind === 'native') {
      goal(kind, 'server CPU per 360p session-second vs libwebrtc', `<= half of libwebrtc's (${libwebrtc?.serverCpuMsPerSessionSecond360p ?? '-'} ms)`,
        k.serverCpuMsPerSessionSecond360p, half(libwebrtc?.serverCpuMsPerSessionSecond360p), 'le');
    }
    goal(kind, '640x360, 4 sessions: p95 vs aiortc', `< half of aiortc's (${stepAt(aiortc, '640x360', 4)?.p95Ms ?? '-'} ms)`,
      stepAt(k, '640x360', 4)?.p95Ms, half(stepAt(aiortc, '640x360', 4)?.p95Ms), 'lt');
    out.push({
      kind, goal: '640x360: sessions at p95 <= objective vs aiortc',
      target: `> aiortc's (${capacityAt(aiortc, '640x360') ?? '-'}${lowerBound(aiortc, '640x360') ? ' or more' : ''})`,
      observed: capacityAt(k, '640x360') ?? null,
      met: aiortc ? moreCapacity(capacityAt(k, '640x360'), lowerBound(k, '640x360'), capacityAt(aiortc, '640x360'), lowerBound(aiortc, '640x360')) : null,
    });
    goal(kind, '1280x720@30: sessions at p95 <= objective', '>= 3', capacityAt(k, '1280x720'), 3, 'ge');
  }
  return out;
}
