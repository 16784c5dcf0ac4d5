/**
 * Aggregation of a load run: folds what the workers report (frame counters every 250 ms, connect
 * times, session results) into a per-second timeline, per-phase figures and the overall figures.
 * Latencies merge into HdrHistograms (latency-histogram.ts). The first `settleS` seconds of each
 * phase count in the timeline and the overall figures but not in the phase's own figures
 * (connection transients).
 */
import type { SessionResult } from './client-session.js';
import { addCounts, type FrameCounters } from './frame-counters.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { Phase } from './profile.js';
import type { PhaseResult, Sample, SessionRecord, WebrtcRunResult } from './run-result.js';

/** Running totals of one span: a second, a phase or the whole run. */
class Accumulator {
  readonly latency = new LatencyHistogram();
  readonly connect = new LatencyHistogram();
  sessionsStarted = 0;
  rejections = 0;
  errors = 0;
  sent = 0;
  received = 0;
  decoded = 0;
  undecoded = 0;
  lost = 0;
  freezes = 0;
  maxActive = 0;
  fpsSum = 0;
  fpsCount = 0;

  addCounters(c: FrameCounters): void {
    this.latency.recordAll(c.latencies);
    addCounts(this, c);
  }

  result(name: string, targetSessions: number, durationS: number, ramp: boolean, startS: number, endS: number): PhaseResult {
    return {
      name, targetSessions, durationS, ramp, startS, endS,
      sessionsStarted: this.sessionsStarted,
      maxActiveSessions: this.maxActive,
      rejections: this.rejections,
      errors: this.errors,
      framesSent: this.sent,
      framesReceived: this.received,
      framesDecoded: this.decoded,
      framesUndecoded: this.undecoded,
      framesLost: this.lost,
      freezes: this.freezes,
      fpsPerSession: this.fpsCount ? this.fpsSum / this.fpsCount : null,
      latencyMs: this.latency.summary(),
      connectMs: this.connect.summary(),
    };
  }
}

/** Rounded to the millisecond, as the report shows times. */
export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function round3n(v: number | null): number | null {
  return v === null ? null : round3(v);
}

/** The figures of one run, fed event by event. */
export class RunAggregator {
  private readonly phaseAcc: Accumulator[];
  private readonly overall = new Accumulator();
  private bucket = new Accumulator();
  private bucketConnect: number[] = [];
  // Active sessions summed over the ticks of the current second, for an fps per session that
  // does not jump when sessions stop mid-second.
  private bucketActiveSum = 0;
  private bucketTicks = 0;
  private readonly samples: Sample[] = [];
  private readonly sessions: SessionRecord[] = [];
  private readonly phaseStarts: number[];
  /** The phase events are counted in; the coordinator moves it along with the schedule. */
  phaseIndex = 0;

  constructor(
    private readonly phases: readonly Phase[],
    private readonly settleS: number,
    /** Seconds since the start of the run. */
    private readonly elapsedS: () => number,
    private readonly onSample?: (sample: Sample) => void,
  ) {
    this.phaseAcc = phases.map(() => new Accumulator());
    this.phaseStarts = phases.map((_, i) => phases.slice(0, i).reduce((s, p) => s + p.durationS, 0));
  }

  private get phase(): Accumulator {
    return this.phaseAcc[this.phaseIndex]!;
  }

  private all(): Accumulator[] {
    return [this.bucket, this.phase, this.overall];
  }

  private settled(): boolean {
    return this.elapsedS() - this.phaseStarts[this.phaseIndex]! >= this.settleS;
  }

  /** Frame counters from a worker. */
  addCounters(c: FrameCounters): void {
    this.bucket.addCounters(c);
    this.overall.addCounters(c);
    if (this.settled()) this.phase.addCounters(c);
  }

  /** A session got its first frame back `connectMs` after its offer. */
  addConnect(connectMs: number): void {
    for (const a of this.all()) a.connect.record(connectMs);
    this.bucketConnect.push(Math.round(connectMs));
  }

  sessionStarted(): void {
    for (const a of this.all()) a.sessionsStarted++;
  }

  rejection(): void {
    for (const a of this.all()) a.rejections++;
  }

  error(): void {
    for (const a of this.all()) a.errors++;
  }

  /** A session's final result, with where and when it ran. */
  addSession(result: SessionResult, worker: number, phaseIndex: number, startS: number): void {
    this.sessions.push({ ...result, worker, phase: this.phases[phaseIndex]!.name, startS: round3(startS) });
  }

  /** Once per scheduler tick: how many sessions were receiving video. */
  tickActive(active: number): void {
    this.bucketActiveSum += active;
    this.bucketTicks++;
  }

  /** Close the current second as a sample ending at `t` s. */
  sample(t: number, target: number, active: number, connecting: number): Sample {
    const bucket = this.bucket;
    const span = Math.max(0.001, t - (this.samples.at(-1)?.t ?? 0));
    const lat = bucket.latency.summary();
    const meanActive = this.bucketTicks > 0 ? this.bucketActiveSum / this.bucketTicks : active;
    const fpsPerSession = meanActive > 0 && bucket.received > 0 ? bucket.received / span / meanActive : active > 0 ? 0 : null;
    const sample: Sample = {
      t: round3(t),
      phase: this.phases[this.phaseIndex]!.name,
      targetSessions: target,
      activeSessions: active,
      connectingSessions: connecting,
      sentFps: round3(bucket.sent / span),
      receivedFps: round3(bucket.received / span),
      fpsPerSession: fpsPerSession === null ? null : round3(fpsPerSession),
      latencyMs: { count: lat.count, p50: round3n(lat.p50), p95: round3n(lat.p95), max: round3n(lat.max) },
      freezes: bucket.freezes,
      lostFrames: bucket.lost,
      undecodedFrames: bucket.undecoded,
      sessionsStarted: bucket.sessionsStarted,
      rejections: bucket.rejections,
      errors: bucket.errors,
      connectMs: this.bucketConnect,
    };
    this.samples.push(sample);
    for (const a of this.settled() ? [this.phase, this.overall] : [this.overall]) {
      a.maxActive = Math.max(a.maxActive, active);
      if (fpsPerSession !== null) {
        a.fpsSum += fpsPerSession;
        a.fpsCount++;
      }
    }
    this.bucket = new Accumulator();
    this.bucketConnect = [];
    this.bucketActiveSum = 0;
    this.bucketTicks = 0;
    this.onSample?.(sample);
    return sample;
  }

  /** The run's result; counters that arrived after the last sample still count for the phase totals. */
  result(durationS: number, aborted: boolean, workerErrors: string[]): WebrtcRunResult {
    let start = 0;
    const phases = this.phases.map((p, i) => {
      const r = this.phaseAcc[i]!.result(p.name, p.sessions, p.durationS, p.ramp, round3(start), round3(Math.min(start + p.durationS, durationS)));
      start += p.durationS;
      return r;
    });
    const peak = Math.max(...this.phases.map((p) => p.sessions));
    const total = this.phases.reduce((s, p) => s + p.durationS, 0);
    return {
      durationS: round3(durationS),
      aborted,
      samples: this.samples,
      phases,
      overall: this.overall.result('overall', peak, total, false, 0, round3(durationS)),
      sessions: [...this.sessions].sort((a, b) => a.id - b.id),
      workerErrors,
    };
  }
}
