/**
 * Decides when a session's client is gone: it never connected (connect timeout), connected but
 * never sent a frame (idle), stopped sending (stall), or its connection stayed 'disconnected'.
 * A stall of the server's own event loop is not blamed on the client: time the loop spent blocked
 * is not counted as the client's silence.
 */
import { performance } from 'node:perf_hooks';
import type { PeerConnectionState } from './engine.js';

export type WatchdogVerdict = 'connect-timeout' | 'idle' | 'stalled' | 'connection-failed' | 'connection-closed';

export interface WatchdogOptions {
  /** From the answer until the connection is up. */
  connectTimeoutMs: number;
  /** From the answer until the first frame. */
  idleTimeoutMs: number;
  /** Once frames flowed: how long without one before the client is taken for gone. */
  stallTimeoutMs: number;
  /** How long a 'disconnected' connection may stay so. */
  disconnectGraceMs: number;
  onVerdict: (verdict: WatchdogVerdict) => void;
  /** performance.now by default; tests pass a clock they drive. */
  now?: () => number;
}

/** A tick later than this past its interval means the event loop itself was blocked. */
const LOOP_STALL_SLACK_MS = 250;

/** One session's liveness checks; tick() is called on a fixed interval (see `intervalMs`). */
export class ConnectionWatchdog {
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastFrameAt: number | null = null;
  private connected = false;
  private lastTick: number;
  private disconnectedSince: number | null = null;
  /** Time the server's own loop spent blocked, not counted against the client. */
  private shiftedBy = 0;
  private done = false;

  constructor(private readonly opts: WatchdogOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.lastTick = this.startedAt;
    this.intervalMs = Math.max(50, Math.min(500, opts.idleTimeoutMs, opts.stallTimeoutMs, opts.connectTimeoutMs));
  }

  /** A frame arrived from the client. */
  frame(): void {
    this.lastFrameAt = this.now();
    this.connected = true; // media flows, whatever the engine's state events said
  }

  /** The transport's state changed. */
  connectionState(state: PeerConnectionState): void {
    const now = this.now();
    if (state === 'connected') {
      this.connected = true;
      this.disconnectedSince = null;
    } else if (state === 'failed') {
      this.finish('connection-failed');
    } else if (state === 'closed') {
      this.finish('connection-closed');
    } else if (state === 'disconnected') {
      // Often transient (a lost packet burst); end the session only when it does not recover.
      this.disconnectedSince ??= now;
    }
  }

  /** Periodic check. */
  tick(): void {
    if (this.done) return;
    const now = this.now();
    const late = now - this.lastTick - this.intervalMs;
    this.lastTick = now;
    if (late > LOOP_STALL_SLACK_MS) {
      // The loop was blocked (a long parse, GC, a slow native call): frames may be queued behind
      // this timer. Shift every clock by the blocked time instead of closing live sessions.
      if (this.lastFrameAt !== null) this.lastFrameAt += late;
      if (this.disconnectedSince !== null) this.disconnectedSince += late;
      this.shiftedBy += late;
      return;
    }
    const sinceStart = now - this.startedAt - this.shiftedBy;
    if (this.disconnectedSince !== null && now - this.disconnectedSince > this.opts.disconnectGraceMs) {
      return this.finish('connection-failed');
    }
    if (!this.connected && sinceStart > this.opts.connectTimeoutMs) return this.finish('connect-timeout');
    if (this.lastFrameAt === null) {
      if (sinceStart > this.opts.idleTimeoutMs) this.finish('idle');
      return;
    }
    if (now - this.lastFrameAt > this.opts.stallTimeoutMs) this.finish('stalled');
  }

  private finish(verdict: WatchdogVerdict): void {
    if (this.done) return;
    this.done = true;
    this.opts.onVerdict(verdict);
  }
}
