/**
 * The load run's schedule, as a pure function of time and of the sessions alive: which phase the
 * run is in, its target, how many sessions to start (at most the spawn rate, never while backing
 * off after a rejection or an error) and which to stop (the newest first). No timers and no I/O:
 * the coordinator calls tick() with the clock, and unit tests call it with made-up times.
 */
import { profileDuration, targetAt, type Phase } from './profile.js';

/** Longest pause after a 503, whatever Retry-After says. */
export const MAX_BACKOFF_S = 10;
/** Shortest pause after a 503, so a server that answers Retry-After: 0 is not hammered. */
export const MIN_BACKOFF_S = 0.5;
/** Pause after a session error (no Retry-After to go by). */
export const ERROR_BACKOFF_S = 1;

export interface SchedulerOptions {
  phases: readonly Phase[];
  /** New sessions per second at most (bursts of up to max(1, spawnRate)). */
  spawnRate: number;
  /** Clock value (ms) at the start of the run. */
  startMs: number;
}

/** A session the run still counts (not being stopped). */
export interface LiveSession {
  id: number;
}

/** What to do now. */
export type Decision =
  | { done: true }
  | { done: false; phaseIndex: number; target: number; start: number; stop: number[] };

/** The phase profile turned into start and stop decisions. */
export class Scheduler {
  private readonly phases: readonly Phase[];
  private readonly spawnRate: number;
  private readonly startMs: number;
  private tokens = 1;
  private lastMs: number;
  private pauseUntilMs = Number.NEGATIVE_INFINITY;
  private currentPhase = 0;
  private currentTarget = 0;
  /** Length of the profile, s. */
  readonly totalS: number;

  constructor(opts: SchedulerOptions) {
    if (opts.phases.length === 0) throw new RangeError('a schedule needs at least one phase');
    this.phases = opts.phases;
    this.spawnRate = opts.spawnRate;
    this.startMs = opts.startMs;
    this.lastMs = opts.startMs;
    this.totalS = profileDuration(opts.phases);
  }

  /** The phase of the latest tick (0 before the first). */
  get phaseIndex(): number {
    return this.currentPhase;
  }

  /** The target of the latest tick (0 before the first). */
  get target(): number {
    return this.currentTarget;
  }

  /** Seconds since the start at clock value `nowMs`. */
  elapsedS(nowMs: number): number {
    return (nowMs - this.startMs) / 1000;
  }

  /** Whether the profile is over at `nowMs` (or the run was aborted). */
  isOver(nowMs: number, aborted = false): boolean {
    return aborted || targetAt(this.phases, this.elapsedS(nowMs)) === null;
  }

  /**
   * Decide at `nowMs`, given the sessions not being stopped and whether a worker can take a new
   * one. Call it regularly: the spawn allowance grows with the time between calls.
   */
  tick(nowMs: number, live: readonly LiveSession[], canStart: boolean, aborted = false): Decision {
    const dt = Math.max(0, (nowMs - this.lastMs) / 1000);
    this.lastMs = nowMs;
    const at = aborted ? null : targetAt(this.phases, this.elapsedS(nowMs));
    if (!at) return { done: true };
    this.currentPhase = at.index;
    this.currentTarget = at.sessions;
    if (live.length > at.sessions) {
      // Stop the newest first: the longest-running sessions carry the steady-state picture.
      const stop = live.map((s) => s.id).sort((a, b) => b - a).slice(0, live.length - at.sessions);
      return { done: false, phaseIndex: at.index, target: at.sessions, start: 0, stop };
    }
    const burst = Math.max(1, this.spawnRate);
    this.tokens = Math.min(burst, this.tokens + this.spawnRate * dt);
    let start = 0;
    if (canStart && nowMs >= this.pauseUntilMs) {
      start = Math.min(at.sessions - live.length, Math.floor(this.tokens));
      this.tokens -= start;
    }
    return { done: false, phaseIndex: at.index, target: at.sessions, start, stop: [] };
  }

  /** A session was refused (503/429): pause starts for Retry-After, within MIN..MAX_BACKOFF_S. */
  backOffAfterRejection(nowMs: number, retryAfterS: number | null | undefined): void {
    const wait = Math.min(MAX_BACKOFF_S, Math.max(MIN_BACKOFF_S, retryAfterS ?? 1));
    this.pauseUntilMs = Math.max(this.pauseUntilMs, nowMs + wait * 1000);
  }

  /** A session failed: do not hammer a failing server, pause starts for ERROR_BACKOFF_S. */
  backOffAfterError(nowMs: number): void {
    this.pauseUntilMs = Math.max(this.pauseUntilMs, nowMs + ERROR_BACKOFF_S * 1000);
  }
}
