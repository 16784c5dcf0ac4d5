/**
 * Admits, creates, finds and ends sessions on one media engine. Admission asks three things: is
 * the server draining, is the hard cap (RTC_MAX_SESSIONS) reached, and does one more session fit
 * the measured load (CapacityEstimator). Sessions still negotiating count, so a burst of offers
 * cannot over-admit while answers are being built.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isFaceFilter, type BackendChoice, type CapacityInfo } from '../protocol/index.js';
import type { FilterSpec } from '../processing/types.js';
import type { CapacityEstimator } from './capacity-estimator.js';
import type { MediaEngine, PeerOptions } from './engine.js';
import type { MediaMetrics } from './media-metrics.js';
import { checkOfferSdp, checkStandardOffer } from './sdp.js';
import { Session, SessionSettingsError, type CloseReason, type SessionInfo, type SessionProcessors } from './session.js';
import { Viewer, type ViewerCloseReason, type ViewerInfo } from './viewer.js';

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
  /**
   * Session units a face-filter session (anonymize, faces) counts for in admission and in the
   * per-session measurement: its detector's CPU on top of the codecs (RTC_FACES_SESSION_COST).
   */
  faceSessionCost?: number;
  /** Makes session and viewer ids (random UUIDs when absent; a server in a cluster passes ids that name it as the owner). */
  newId?: () => string;
  /** Called with the live session count whenever it changes (pod-deletion-cost, metrics). */
  onCountChange?: (count: number) => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** A viewer asked for a session that is not live. */
export class UnknownSessionError extends Error {
  constructor(id: string) {
    super(`no live session ${JSON.stringify(id)}`);
    this.name = 'UnknownSessionError';
  }
}

/** What an accepted viewer offer returns. */
export interface ViewerAnswer {
  sdp: string;
  viewerId: string;
  sessionId: string;
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

/**
 * All sessions of one server, and their WHEP viewers. A viewer counts against capacity like a
 * session (on libwebrtc it costs an encode), so both maps together stay under RTC_MAX_SESSIONS.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly viewers = new Map<string, Viewer>();
  private negotiating = 0;
  /** Of `negotiating`, the viewers (they weigh the engine's viewerCost, not a whole session). */
  private negotiatingViewers = 0;
  /** Extra units of the face-filter sessions still negotiating (their cost minus 1 each). */
  private negotiatingUnits = 0;
  private draining = false;
  private readonly emptyWaiters: Array<() => void> = [];
  private readonly fdLimit = openFileLimit();
  private readonly sampler: NodeJS.Timeout;

  constructor(private readonly opts: SessionManagerOptions) {
    opts.metrics.sessionsMax.set(opts.maxSessions);
    this.sampler = setInterval(() => this.sampleCapacity(), 1000);
    this.sampler.unref();
  }

  /** Live sessions and viewers plus those still negotiating. */
  get count(): number {
    return this.sessions.size + this.viewers.size + this.negotiating;
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

  /**
   * Accept an offer: create the session, answer after ICE gathering. `standard` (WHIP) adds the
   * checks of checkStandardOffer, so an offer this engine cannot serve is refused (422) instead of
   * answered with its video rejected.
   */
  async accept(offer: { sdp: unknown; filter: FilterSpec; backend: BackendChoice; standard?: boolean }): Promise<Answer> {
    const sdp = checkOfferSdp(offer.sdp);
    if (offer.standard) checkStandardOffer(sdp, 'publish', this.opts.engine.codecs.map((c) => c.mimeType));
    const units = this.unitsOf(offer.filter);
    this.admit(units);
    this.negotiating++;
    this.negotiatingUnits += units - 1;
    const session = new Session({
      ...(this.opts.newId ? { id: this.opts.newId() } : {}),
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
      admitFilterChange: (from, to) => this.admitFilterChange(from, to),
      log: this.opts.log,
    });
    try {
      const { sdp: answerSdp, peer } = await this.opts.engine.answer(sdp, this.peerOptions(), session.peerEvents);
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
      this.negotiatingUnits -= units - 1;
      this.countChanged();
    }
  }

  /**
   * A live session's switch from `from` to `to`: admitted when the units it adds (a face filter's
   * cost minus what the old filter counted) fit the measured load, else SessionSettingsError
   * AT_CAPACITY and the session keeps its filter. A switch that costs less always passes: its
   * units are released at once, since every count reads the filter a session runs now.
   */
  private admitFilterChange(from: FilterSpec, to: FilterSpec): void {
    const extra = this.unitsOf(to) - this.unitsOf(from);
    if (extra <= 0) return;
    if (!this.opts.capacity.admits(this.unmeasured(), extra)) {
      const s = this.opts.capacity.snapshot(this.unmeasured());
      this.opts.log('info', 'filter switch refused: at capacity', { from: from.name, to: to.name });
      throw new SessionSettingsError('AT_CAPACITY',
        `the server is at capacity for ${to.name}: it counts ${this.unitsOf(to)} session units (RTC_FACES_SESSION_COST), `
        + `and the sessions use ${s.processCores} of ${s.cores} cores (target ${s.target}); the session keeps ${from.name}`);
    }
  }

  /** Session units a session with `filter` counts for: 1, or the face filters' cost. */
  private unitsOf(filter: FilterSpec): number {
    return isFaceFilter(filter.name) ? this.opts.faceSessionCost ?? 1 : 1;
  }

  /**
   * Accept a viewer's offer (WHEP) for the live session `sessionId`: admitted like a session,
   * answered by the engine with the session's processed output. Throws UnknownSessionError,
   * InvalidSdpError, UnprocessableOfferError, AdmissionError, NegotiationError.
   */
  async acceptViewer(sessionId: string, offerSdp: unknown): Promise<ViewerAnswer> {
    const sdp = checkOfferSdp(offerSdp);
    const session = this.sessions.get(sessionId);
    const publisher = session?.mediaPeer;
    if (!session || !publisher) throw new UnknownSessionError(sessionId);
    const engine = this.opts.engine;
    checkStandardOffer(sdp, 'view', engine.codecs.map((c) => c.mimeType));
    this.admit(engine.viewerCost);
    this.negotiating++;
    this.negotiatingViewers++;
    const viewer = new Viewer({
      ...(this.opts.newId ? { id: this.opts.newId() } : {}),
      sessionId,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      disconnectGraceMs: this.opts.disconnectGraceMs ?? 3000,
      onClose: (v, reason) => this.onViewerClosed(v, reason),
    });
    try {
      const { sdp: answerSdp, peer } = await engine.answerViewer(sdp, this.peerOptions(), publisher, viewer.events);
      viewer.attachPeer(peer);
      if (viewer.isClosed) throw new NegotiationError('the connection closed during negotiation');
      // The session may have ended while the answer was built: its viewers end with it.
      if (session.isClosed) throw new UnknownSessionError(sessionId);
      this.viewers.set(viewer.id, viewer);
      return { sdp: answerSdp, viewerId: viewer.id, sessionId };
    } catch (err) {
      viewer.close('error');
      // A session that ended while its viewer was being answered is gone, whatever the engine said.
      if (session.isClosed) throw new UnknownSessionError(sessionId);
      throw err;
    } finally {
      this.negotiating--;
      this.negotiatingViewers--;
      this.countChanged();
    }
  }

  /** The session with this id, if live. */
  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** The viewer with this id, if live. */
  getViewer(id: string): Viewer | undefined {
    return this.viewers.get(id);
  }

  /** Every live session's info. */
  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  /** Every live viewer's info. */
  listViewers(): ViewerInfo[] {
    return [...this.viewers.values()].map((v) => v.info());
  }

  /** Refresh the engine-level figures of every session and viewer (before a listing). */
  async refreshStats(): Promise<void> {
    await Promise.all([...this.sessions.values(), ...this.viewers.values()].map((s) => s.refreshStats()));
  }

  /** End a viewer; false when there is none with this id. */
  closeViewer(id: string, reason: ViewerCloseReason): boolean {
    const v = this.viewers.get(id);
    if (!v) return false;
    v.close(reason);
    return true;
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

  /** End every session (and so every viewer) and stop sampling. */
  closeAll(reason: CloseReason): void {
    clearInterval(this.sampler);
    for (const s of [...this.sessions.values()]) s.close(reason);
    for (const v of [...this.viewers.values()]) v.close('shutdown');
  }

  private peerOptions(): PeerOptions {
    return {
      // Host candidates only: clients reach the server directly or through their own TURN relay.
      iceServers: [],
      ...(this.opts.portRange ? { portRange: this.opts.portRange } : {}),
      iceGatheringTimeoutMs: this.opts.iceGatheringTimeoutMs ?? 5000,
    };
  }

  /** Throw AdmissionError unless one more session (`units` of one: a viewer weighs less on native) may start now. */
  private admit(units = 1): void {
    const m = this.opts.metrics;
    if (this.draining) {
      m.sessionsRejected.inc({ reason: 'draining' });
      throw new AdmissionError('draining', 'the server is draining before shutdown; connect to another instance');
    }
    if (this.count >= this.opts.maxSessions) {
      m.sessionsRejected.inc({ reason: 'capacity' });
      throw new AdmissionError('capacity', `the server is at capacity (${this.opts.maxSessions} sessions, RTC_MAX_SESSIONS)`);
    }
    if (!this.opts.capacity.admits(this.unmeasured(), units)) {
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

  /** Sessions and viewers (weighted by the engine's viewerCost) that are still warming up, and how many are past it. */
  private warmth(): { young: number; mature: number } {
    const now = Date.now();
    const w = this.opts.engine.viewerCost;
    let young = 0;
    let mature = 0;
    for (const s of this.sessions.values()) {
      const u = this.unitsOf(s.filter);
      // A session that changed filter warms up again: the new filter's cost is not measured yet.
      const since = Math.max(s.createdAt.getTime(), s.filterChangedAt);
      if (now - since < WARMUP_MS) young += u; else mature += u;
    }
    for (const v of this.viewers.values()) if (now - v.createdAt.getTime() < WARMUP_MS) young += w; else mature += w;
    return { young, mature };
  }

  /** Session units whose cost the estimator has not seen yet: negotiating, or still warming up. */
  private unmeasured(): number {
    const negotiating = this.negotiating - this.negotiatingViewers + this.negotiatingViewers * this.opts.engine.viewerCost + this.negotiatingUnits;
    return negotiating + this.warmth().young;
  }

  private sampleCapacity(): void {
    // The measured load is divided among session units: a viewer is the engine's viewerCost of
    // one (1 on libwebrtc, which encodes per viewer; a fraction on native, which shares the encode).
    this.opts.capacity.sample(this.warmth().mature);
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
    // Its viewers watch nothing any more (also those of a session that never got admitted).
    for (const v of [...this.viewers.values()]) if (v.sessionId === s.id) v.close('session-ended');
    if (!this.sessions.delete(s.id)) return; // never admitted (failed negotiation)
    this.opts.metrics.sessionsClosed.inc({ reason });
    this.opts.log('info', 'session closed', { session: s.id, reason });
    this.countChanged();
  }

  private onViewerClosed(v: Viewer, reason: ViewerCloseReason): void {
    if (!this.viewers.delete(v.id)) return; // never admitted
    this.opts.log('info', 'viewer closed', { viewer: v.id, session: v.sessionId, reason });
    this.countChanged();
  }

  private countChanged(): void {
    this.opts.metrics.sessionsActive.set(this.sessions.size);
    // Viewers count for the pod-deletion cost too: a scale-down should not cut someone watching.
    this.opts.onCountChange?.(this.sessions.size + this.viewers.size);
    if (this.count === 0) {
      for (const w of this.emptyWaiters.splice(0)) w();
    }
  }
}
