/**
 * Admits, creates, finds and ends sessions on one media engine. Admission asks three things: is
 * the server draining, is the hard cap (RTC_MAX_SESSIONS) reached, and does one more session fit
 * the measured load (CapacityEstimator). Sessions still negotiating count, so a burst of offers
 * cannot over-admit while answers are being built.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { BackendChoice, CapacityInfo } from '../protocol/index.js';
import type { FilterSpec } from '../processing/types.js';
import type { CapacityEstimator } from './capacity-estimator.js';
import type { MediaEngine } from './engine.js';
import type { MediaMetrics } from './media-metrics.js';
import { checkOfferSdp } from './sdp.js';
import { Session, type CloseReason, type SessionInfo, type SessionProcessors } from './session.js';

import { NegotiationError } from './engine.js';

export { NegotiationError };

/** Why an offer was not admitted. */
export class AdmissionError extends Error {
  constructor(readonly reason: 'capacity' | 'draining' | 'resources', message: string) {
    super(message);
    this.name = 'AdmissionError';
  }
}

export interface SessionManagerOptions {
  engine: MediaEngine;
  registry: SessionProcessors;
  metrics: MediaMetrics;
  capacity: CapacityEstimator;
  maxSessions: number;
  maxPixels: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  stallTimeoutMs: number;
  disconnectGraceMs?: number;
  /** ICE gathering longer than this answers with what was gathered. */
  iceGatheringTimeoutMs?: number;
  portRange?: { min: number; max: number };
  /** Called with the live session count whenever it changes (pod-deletion-cost, metrics). */
  onCountChange?: (count: number) => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** What an accepted offer returns. */
export interface Answer {
  sdp: string;
  type: 'answer';
  sessionId: string;
}

/** A session's media warms up (first keyframe, encoder ramp) before its CPU cost shows. */
const WARMUP_MS = 4000;
/** File descriptors kept free for HTTP, logs and the next session's sockets. */
const FD_RESERVE = 256;

/** The soft limit on open files of this process, or null where /proc is not there. */
function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function openFileCount(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/** All sessions of one server. */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private negotiating = 0;
  private draining = false;
  private readonly emptyWaiters: Array<() => void> = [];
  private readonly fdLimit = openFileLimit();
  private readonly sampler: NodeJS.Timeout;

  constructor(private readonly opts: SessionManagerOptions) {
    opts.metrics.sessionsMax.set(opts.maxSessions);
    this.sampler = setInterval(() => this.sampleCapacity(), 1000);
    this.sampler.unref();
  }

  /** Live sessions plus those still negotiating. */
  get count(): number {
    return this.sessions.size + this.negotiating;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The engine sessions run on. */
  get engineName(): string {
    return this.opts.engine.name;
  }

  /** The load estimate, with sessions not yet measured counted at the per-session estimate. */
  capacity(): CapacityInfo {
    const snap = this.opts.capacity.snapshot(this.unmeasured());
    const bySessions = this.opts.maxSessions === 0 ? 1 : this.count / this.opts.maxSessions;
    return { ...snap, utilization: Math.max(snap.utilization, bySessions), sessions: this.count, maxSessions: this.opts.maxSessions };
  }

  /** Accept an offer: create the session, answer after ICE gathering. */
  async accept(offer: { sdp: unknown; filter: FilterSpec; backend: BackendChoice }): Promise<Answer> {
    const sdp = checkOfferSdp(offer.sdp);
    this.admit();
    this.negotiating++;
    const session = new Session({
      engine: this.opts.engine.name,
      processors: this.opts.registry,
      metrics: this.opts.metrics,
      filter: offer.filter,
      backend: offer.backend,
      maxPixels: this.opts.maxPixels,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      stallTimeoutMs: this.opts.stallTimeoutMs,
      disconnectGraceMs: this.opts.disconnectGraceMs ?? 3000,
      onClose: (s, reason) => this.onSessionClosed(s, reason),
      log: this.opts.log,
    });
    try {
      const { sdp: answerSdp, peer } = await this.opts.engine.answer(sdp, {
        // Host candidates only: clients reach the server directly or through their own TURN relay.
        iceServers: [],
        ...(this.opts.portRange ? { portRange: this.opts.portRange } : {}),
        iceGatheringTimeoutMs: this.opts.iceGatheringTimeoutMs ?? 5000,
      }, session.peerEvents);
      session.attachPeer(peer);
      if (session.isClosed) throw new NegotiationError('the connection closed during negotiation');
      this.sessions.set(session.id, session);
      this.opts.metrics.sessionsStarted.inc();
      return { sdp: answerSdp, type: 'answer', sessionId: session.id };
    } catch (err) {
      session.close('error');
      throw err;
    } finally {
      this.negotiating--;
      this.countChanged();
    }
  }

  /** The session with this id, if live. */
  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Every live session's info. */
  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  /** Refresh the engine-level figures of every session (before a listing). */
  async refreshStats(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.refreshStats()));
  }

  /** End a session; false when there is none with this id. */
  close(id: string, reason: CloseReason): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.close(reason);
    return true;
  }

  /** Stop admitting sessions (SIGTERM): live ones continue. */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolve when no session is live, or after `timeoutMs`; returns whether it emptied. */
  waitUntilEmpty(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.emptyWaiters.indexOf(done);
        if (i >= 0) this.emptyWaiters.splice(i, 1);
        resolve(this.count === 0);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.emptyWaiters.push(done);
    });
  }

  /** End every session and stop sampling. */
  closeAll(reason: CloseReason): void {
    clearInterval(this.sampler);
    for (const s of [...this.sessions.values()]) s.close(reason);
  }

  /** Throw AdmissionError unless one more session may start now. */
  private admit(): void {
    const m = this.opts.metrics;
    if (this.draining) {
      m.sessionsRejected.inc({ reason: 'draining' });
      throw new AdmissionError('draining', 'the server is draining before shutdown; connect to another instance');
    }
    if (this.count >= this.opts.maxSessions) {
      m.sessionsRejected.inc({ reason: 'capacity' });
      throw new AdmissionError('capacity', `the server is at capacity (${this.opts.maxSessions} sessions, RTC_MAX_SESSIONS)`);
    }
    if (!this.opts.capacity.admits(this.unmeasured())) {
      m.sessionsRejected.inc({ reason: 'load' });
      const s = this.opts.capacity.snapshot(this.unmeasured());
      throw new AdmissionError('capacity',
        `the server is at capacity: its sessions use ${s.processCores} of ${s.cores} cores (target ${s.target}), one more needs about ${s.sessionCores}`);
    }
    const open = openFileCount();
    if (this.fdLimit !== null && open !== null && open + FD_RESERVE > this.fdLimit) {
      m.sessionsRejected.inc({ reason: 'resources' });
      throw new AdmissionError('resources', `the server is out of file descriptors (${open} of ${this.fdLimit} open)`);
    }
  }

  /** Sessions whose cost the estimator has not seen yet: negotiating, or still warming up. */
  private unmeasured(): number {
    const now = Date.now();
    let young = 0;
    for (const s of this.sessions.values()) if (now - s.createdAt.getTime() < WARMUP_MS) young++;
    return this.negotiating + young;
  }

  private sampleCapacity(): void {
    const mature = this.sessions.size - (this.unmeasured() - this.negotiating);
    this.opts.capacity.sample(mature);
    const m = this.opts.metrics;
    m.capacityUtilization.set(this.capacity().utilization);
    const byCodec = new Map<string, { codec: string; encoder: string; n: number }>();
    for (const s of this.sessions.values()) {
      const i = s.info();
      const codec = i.codec ?? 'unknown';
      const encoder = i.encoder ?? 'unknown';
      const key = `${codec}|${encoder}`;
      const e = byCodec.get(key) ?? { codec, encoder, n: 0 };
      e.n++;
      byCodec.set(key, e);
    }
    m.sessionsByCodec.reset();
    for (const e of byCodec.values()) m.sessionsByCodec.set({ engine: this.opts.engine.name, codec: e.codec, encoder: e.encoder }, e.n);
  }

  private onSessionClosed(s: Session, reason: CloseReason): void {
    if (!this.sessions.delete(s.id)) return; // never admitted (failed negotiation)
    this.opts.metrics.sessionsClosed.inc({ reason });
    this.opts.log('info', 'session closed', { session: s.id, reason });
    this.countChanged();
  }

  private countChanged(): void {
    this.opts.metrics.sessionsActive.set(this.sessions.size);
    this.opts.onCountChange?.(this.sessions.size);
    if (this.count === 0) {
      for (const w of this.emptyWaiters.splice(0)) w();
    }
  }
}
