/**
 * Messages between the coordinator and its worker processes (child_process.fork IPC).
 * Workers run the sessions; the coordinator decides how many there are and merges what they report.
 */
import type { SessionConfig, SessionResult } from './client-session.js';
import type { FrameCounters } from './frame-counters.js';

/** Coordinator → worker. */
export type ToWorker =
  | { type: 'config'; config: SessionConfig }
  | { type: 'start'; id: number }
  | { type: 'stop'; id: number }
  | { type: 'shutdown' };

/** Worker → coordinator. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'counters'; counters: FrameCounters }
  | { type: 'connected'; id: number; connectMs: number }
  | { type: 'ended'; result: SessionResult }
  | { type: 'fatal'; message: string }
  | { type: 'bye' };

/** How often workers report frame counters, ms. */
export const COUNTER_INTERVAL_MS = 250;
