/**
 * Admits, creates, finds and ends sessions. Capacity counts sessions still negotiating, so a
 * burst of offers cannot over-admit while answers are being built.
 */
import type { BackendRegistry } from '../processing/backend-registry.js';
import type { BackendChoice, FilterSpec } from '../processing/types.js';
import type { Metrics } from '../server/metrics.js';
import { checkOfferSdp } from './sdp.js';
import { Session, type CloseReason, type SessionInfo } from './session.js';
import { RTCPeerConnection, waitForIceGathering, type RTCConfiguration, type RTCIceServer } from './wrtc.js';

/** Why an offer was not admitted. */
export class AdmissionError extends Error {
  constructor(readonly reason: 'capacity' | 'draining', message: string) {
    super(message);
    this.name = 'AdmissionError';
  }
}

/** libwebrtc refused the offer (it passed our own checks). */
export class NegotiationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NegotiationError';
  }
}

export interface SessionManagerOptions {
  registry: BackendRegistry;
  metrics: Metrics;
  maxSessions: number;
  idleTimeoutMs: number;
  stallTimeoutMs: number;
  disconnectGraceMs?: number;
  /** ICE gathering longer than this answers with what was gathered. */
  iceGatheringTimeoutMs?: number;
  portRange?: { min: number; max: number };
  /** ICE servers for the server's own peer connections. */
  iceServers?: () => RTCIceServer[];
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

/** All sessions of one server. */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private negotiating = 0;
  private draining = false;
  private readonly emptyWaiters: Array<() => void> = [];

  constructor(private readonly opts: SessionManagerOptions) {
    opts.metrics.sessionsMax.set(opts.maxSessions);
  }

  /** Live sessions plus those still negotiating. */
  get count(): number {
    return this.sessions.size + this.negotiating;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Accept an offer: create the session, answer after ICE gathering. */
  async accept(offer: { sdp: unknown; filter: FilterSpec; backend: BackendChoice }): Promise<Answer> {
    const sdp = checkOfferSdp(offer.sdp);
    if (this.draining) {
      this.opts.metrics.sessionsRejected.inc({ reason: 'draining' });
      throw new AdmissionError('draining', 'the server is draining before shutdown; connect to another instance');
    }
    if (this.count >= this.opts.maxSessions) {
      this.opts.metrics.sessionsRejected.inc({ reason: 'capacity' });
      throw new AdmissionError('capacity', `the server is at capacity (${this.opts.maxSessions} sessions)`);
    }
    this.negotiating++;
    const config: RTCConfiguration = { iceServers: this.opts.iceServers?.() ?? [] };
    if (this.opts.portRange) config.portRange = this.opts.portRange;
    const pc = new RTCPeerConnection(config);
    let session: Session | null = null;
    try {
      session = new Session({
        pc,
        registry: this.opts.registry,
        metrics: this.opts.metrics,
        filter: offer.filter,
        backend: offer.backend,
        idleTimeoutMs: this.opts.idleTimeoutMs,
        stallTimeoutMs: this.opts.stallTimeoutMs,
        disconnectGraceMs: this.opts.disconnectGraceMs ?? 3000,
        onClose: (s, reason) => this.onSessionClosed(s, reason),
        log: this.opts.log,
      });
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp });
      } catch (err) {
        throw new NegotiationError(`the offer was refused: ${err instanceof Error ? err.message : String(err)}`);
      }
      // addTrack reuses the offered video transceiver, so processed video goes back on the same m-line.
      pc.addTrack(session.outputTrack);
      try {
        await pc.setLocalDescription(await pc.createAnswer());
      } catch (err) {
        // libwebrtc takes some offers it cannot answer (a=setup:holdconn): the offer's fault, not a 500.
        throw new NegotiationError(`the offer cannot be answered: ${err instanceof Error ? err.message : String(err)}`);
      }
      await waitForIceGathering(pc, this.opts.iceGatheringTimeoutMs ?? 5000);
      const local = pc.localDescription;
      if (!local) throw new NegotiationError('no local description after negotiation');
      if (session.isClosed) throw new NegotiationError('the connection closed during negotiation');
      this.sessions.set(session.id, session);
      this.opts.metrics.sessionsStarted.inc();
      return { sdp: local.sdp, type: 'answer', sessionId: session.id };
    } catch (err) {
      if (session) {
        session.close('error');
      } else {
        pc.close();
      }
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

  /** Refresh the codec of sessions that do not know it yet. */
  async refreshCodecs(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.refreshCodec()));
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

  /** End every session. */
  closeAll(reason: CloseReason): void {
    for (const s of [...this.sessions.values()]) s.close(reason);
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
