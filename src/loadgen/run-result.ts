/**
 * What a WebRTC load run produces: the per-second samples, per-phase figures and per-session
 * records that the JSON and HTML reports are made of. Its own module so the report code does not
 * depend on the coordinator that runs the load.
 */
import type { FrameTotals, SessionResult } from './client-session.js';
import type { LatencySummary } from './latency-histogram.js';

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
