/**
 * The WebRTC load run: forks worker processes, follows the phase profile (starting sessions at the
 * spawn rate, stopping the newest ones when the target drops), backs off after 503s as the
 * server's Retry-After asks, and merges what the workers report into a per-second timeline, per-
 * phase figures and per-session results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { FrameTotals, SessionConfig, SessionResult } from './client-session.js';
import { addCounts, type FrameCounters } from './frame-counters.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { profileDuration, targetAt, type Phase } from './profile.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/** What the coordinator needs beyond the session config. */
export interface WebrtcRunOptions {
  session: SessionConfig;
  phases: Phase[];
  workers: number;
  /** New sessions per second at most. */
  spawnRate: number;
  /**
   * Seconds at the start of each phase whose frames count in the timeline and the overall
   * figures but not in the phase's latency, fps, freeze and loss figures (connection transients).
   */
  settleS?: number;
  /** Called with every per-second sample, as it is made. */
  onSample?: (sample: Sample) => void;
  /** Resolves when the run should stop early (Ctrl-C). */
  abort?: AbortSignal;
}

/** One second of the run. */
export interface Sample {
  /** Seconds since the start, at the end of this sample. */
  t: number;
  phase: string;
  targetSessions: number;
  /** Sessions receiving video. */
  activeSessions: number;
  /** Sessions negotiating or waiting for their first frame. */
  connectingSessions: number;
  sentFps: number;
  receivedFps: number;
  /** Received frames per second per active session. */
  fpsPerSession: number | null;
  latencyMs: { count: number; p50: number | null; p95: number | null; max: number | null };
  freezes: number;
  lostFrames: number;
  undecodedFrames: number;
  sessionsStarted: number;
  rejections: number;
  errors: number;
  /** Connect times (offer to first frame) of the sessions that connected in this second. */
  connectMs: number[];
}

/** Figures of one phase (or of the whole run). */
export interface PhaseResult extends FrameTotals {
  name: string;
  targetSessions: number;
  durationS: number;
  ramp: boolean;
  startS: number;
  endS: number;
  sessionsStarted: number;
  /** Most sessions receiving video at once (per-second samples). */
  maxActiveSessions: number;
  rejections: number;
  errors: number;
  /** Mean of the per-second received fps per active session. */
  fpsPerSession: number | null;
  latencyMs: LatencySummary;
  connectMs: LatencySummary;
}

/** A session result with where it ran and when it started. */
export interface SessionRecord extends SessionResult {
  worker: number;
  phase: string;
  startS: number;
}

/** Everything a WebRTC run produced. */
export interface WebrtcRunResult {
  durationS: number;
  aborted: boolean;
  samples: Sample[];
  phases: PhaseResult[];
  overall: PhaseResult;
  sessions: SessionRecord[];
  workerErrors: string[];
}

/** Thrown when workers cannot be started. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));
const TICK_MS = 100;
const MAX_BACKOFF_S = 10;

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

interface WorkerHandle {
  index: number;
  child: ChildProcess;
  live: Set<number>;
  exited: Promise<void>;
}

interface Tracked {
  worker: WorkerHandle;
  state: 'connecting' | 'active' | 'stopping';
  phaseIndex: number;
  startS: number;
}

async function startWorkers(count: number, session: SessionConfig, onMessage: (w: WorkerHandle, m: FromWorker) => void): Promise<WorkerHandle[]> {
  const handles: WorkerHandle[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    // MALLOC_ARENA_MAX=2 keeps libwebrtc's many threads from fragmenting memory (seen in a trial).
    const child = fork(WORKER_PATH, [], {
      env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const handle: WorkerHandle = {
      index: i, child, live: new Set(),
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    handles.push(handle);
    ready.push(new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WorkerStartError(`worker ${i} not ready within 15 s`)), 15_000);
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
        onMessage(handle, m);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new WorkerStartError(`worker ${i} exited (${code ?? signal}) before it was ready`));
      });
    }));
    const msg: ToWorker = { type: 'config', config: session };
    child.send(msg);
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    for (const h of handles) h.child.kill('SIGKILL');
    throw err;
  }
  return handles;
}

/** Run the profile against the server and return the merged results. */
export async function runWebrtcLoad(opts: WebrtcRunOptions): Promise<WebrtcRunResult> {
  const { phases } = opts;
  const total = profileDuration(phases);
  const samples: Sample[] = [];
  const sessionRecords: SessionRecord[] = [];
  const workerErrors: string[] = [];
  const tracked = new Map<number, Tracked>();
  const phaseAcc = phases.map(() => new Accumulator());
  const overall = new Accumulator();
  let bucket = new Accumulator();
  let bucketConnect: number[] = [];
  // Active sessions summed over the ticks of the current second, for an fps per session that
  // does not jump when sessions stop mid-second.
  let bucketActiveSum = 0;
  let bucketTicks = 0;
  let phaseIndex = 0;
  let nextId = 1;
  let pauseUntil = 0;
  let tokens = 1;
  let ended = false;
  const t0 = performance.now();
  const elapsedS = (): number => (performance.now() - t0) / 1000;
  const accs = (): Accumulator[] => [bucket, phaseAcc[phaseIndex]!, overall];
  const phaseStarts = phases.map((_, i) => phases.slice(0, i).reduce((s, p) => s + p.durationS, 0));
  const settled = (): boolean => elapsedS() - phaseStarts[phaseIndex]! >= (opts.settleS ?? 0);

  const onMessage = (w: WorkerHandle, m: FromWorker): void => {
    switch (m.type) {
      case 'counters':
        for (const a of [bucket, overall]) a.addCounters(m.counters);
        if (settled()) phaseAcc[phaseIndex]!.addCounters(m.counters);
        return;
      case 'connected': {
        const t = tracked.get(m.id);
        if (t && t.state === 'connecting') t.state = 'active';
        for (const a of accs()) a.connect.record(m.connectMs);
        bucketConnect.push(Math.round(m.connectMs));
        return;
      }
      case 'ended': {
        const r = m.result;
        const t = tracked.get(r.id);
        tracked.delete(r.id);
        w.live.delete(r.id);
        sessionRecords.push({ ...r, worker: w.index, phase: phases[t?.phaseIndex ?? phaseIndex]!.name, startS: round3(t?.startS ?? 0) });
        if (r.outcome === 'rejected') {
          for (const a of accs()) a.rejections++;
          const wait = Math.min(MAX_BACKOFF_S, Math.max(0.5, r.retryAfterS ?? 1));
          pauseUntil = Math.max(pauseUntil, performance.now() + wait * 1000);
        } else if (r.outcome === 'error') {
          for (const a of accs()) a.errors++;
          // Do not hammer a failing server: one second before the next start.
          pauseUntil = Math.max(pauseUntil, performance.now() + 1000);
        }
        return;
      }
      case 'fatal':
        workerErrors.push(`worker ${w.index}: ${m.message}`);
        return;
      case 'ready':
      case 'bye':
        return;
    }
  };

  const workers = await startWorkers(Math.max(1, opts.workers), opts.session, onMessage);
  for (const w of workers) {
    void w.exited.then(() => {
      if (!ended) workerErrors.push(`worker ${w.index} exited during the run (code ${w.child.exitCode ?? w.child.signalCode})`);
      // Its sessions are gone: forget them so the coordinator can start replacements elsewhere.
      for (const id of w.live) {
        tracked.delete(id);
        for (const a of accs()) a.errors++;
      }
      w.live.clear();
    });
  }
  const aliveWorkers = (): WorkerHandle[] => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  const sendTo = (w: WorkerHandle, msg: ToWorker): void => {
    if (w.child.connected) w.child.send(msg);
  };

  const startOne = (t: number): void => {
    const candidates = aliveWorkers();
    if (candidates.length === 0) return;
    const w = candidates.reduce((a, b) => (b.live.size < a.live.size ? b : a));
    const id = nextId++;
    tracked.set(id, { worker: w, state: 'connecting', phaseIndex, startS: t });
    w.live.add(id);
    for (const a of accs()) a.sessionsStarted++;
    sendTo(w, { type: 'start', id });
  };

  const makeSample = (t: number, target: number): void => {
    const active = [...tracked.values()].filter((s) => s.state === 'active').length;
    const connecting = [...tracked.values()].filter((s) => s.state === 'connecting').length;
    const span = Math.max(0.001, t - (samples.at(-1)?.t ?? 0));
    const lat = bucket.latency.summary();
    const meanActive = bucketTicks > 0 ? bucketActiveSum / bucketTicks : active;
    const fpsPerSession = meanActive > 0 && bucket.received > 0 ? bucket.received / span / meanActive : active > 0 ? 0 : null;
    const sample: Sample = {
      t: round3(t),
      phase: phases[phaseIndex]!.name,
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
      connectMs: bucketConnect,
    };
    samples.push(sample);
    for (const a of settled() ? [phaseAcc[phaseIndex]!, overall] : [overall]) {
      a.maxActive = Math.max(a.maxActive, active);
      if (fpsPerSession !== null) {
        a.fpsSum += fpsPerSession;
        a.fpsCount++;
      }
    }
    bucket = new Accumulator();
    bucketConnect = [];
    bucketActiveSum = 0;
    bucketTicks = 0;
    opts.onSample?.(sample);
  };

  let aborted = false;
  let lastTarget = 0;
  let nextSampleAt = 1;
  let lastTick = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const t = elapsedS();
      const dt = (now - lastTick) / 1000;
      lastTick = now;
      for (const s of tracked.values()) if (s.state === 'active') bucketActiveSum++;
      bucketTicks++;
      if (opts.abort?.aborted) aborted = true;
      const target = aborted ? null : targetAt(phases, t);
      if (t >= nextSampleAt || !target) {
        makeSample(Math.min(t, total), lastTarget);
        nextSampleAt = Math.floor(t) + 1;
      }
      if (!target) return resolve();
      if (target.index !== phaseIndex) phaseIndex = target.index;
      lastTarget = target.sessions;
      const live = [...tracked.entries()].filter(([, s]) => s.state !== 'stopping');
      if (live.length > target.sessions) {
        // Stop the newest first: the longest-running sessions carry the steady-state picture.
        for (const [id, s] of live.sort((a, b) => b[0] - a[0]).slice(0, live.length - target.sessions)) {
          s.state = 'stopping';
          sendTo(s.worker, { type: 'stop', id });
        }
      } else {
        tokens = Math.min(Math.max(1, opts.spawnRate), tokens + opts.spawnRate * dt);
        let missing = target.sessions - live.length;
        while (missing > 0 && tokens >= 1 && now >= pauseUntil && aliveWorkers().length > 0) {
          startOne(t);
          tokens -= 1;
          missing--;
        }
      }
      setTimeout(tick, TICK_MS);
    };
    tick();
  });

  // Wind down: stop every session, collect their results, let the workers exit by themselves.
  const durationS = elapsedS();
  for (const [id, s] of tracked) {
    s.state = 'stopping';
    sendTo(s.worker, { type: 'stop', id });
  }
  const deadline = performance.now() + 10_000;
  while (tracked.size > 0 && performance.now() < deadline && aliveWorkers().length > 0) {
    await new Promise((r) => setTimeout(r, 50));
  }
  ended = true;
  for (const w of workers) sendTo(w, { type: 'shutdown' });
  await Promise.race([Promise.all(workers.map((w) => w.exited)), new Promise((r) => setTimeout(r, 10_000))]);
  for (const w of aliveWorkers()) {
    workerErrors.push(`worker ${w.index} did not exit; killed`);
    w.child.kill('SIGKILL');
  }
  // Counters that arrived after the last sample still count for the phase totals (already added).
  let start = 0;
  const phaseResults = phases.map((p, i) => {
    const r = phaseAcc[i]!.result(p.name, p.sessions, p.durationS, p.ramp, round3(start), round3(Math.min(start + p.durationS, durationS)));
    start += p.durationS;
    return r;
  });
  const peak = Math.max(...phases.map((p) => p.sessions));
  return {
    durationS: round3(durationS),
    aborted,
    samples,
    phases: phaseResults,
    overall: overall.result('overall', peak, total, false, 0, round3(durationS)),
    sessions: sessionRecords.sort((a, b) => a.id - b.id),
    workerErrors,
  };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function round3n(v: number | null): number | null {
  return v === null ? null : round3(v);
}
