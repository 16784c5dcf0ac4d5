/**
 * One WHEP viewer: a peer that sends a session's processed output to someone watching. It has no
 * frames of its own, so its liveness is its connection's: it ends when the connection never comes
 * up, fails, closes or stays disconnected, when it is deleted, or when its session ends.
 */
import { randomUUID } from 'node:crypto';
import { ConnectionWatchdog, type WatchdogVerdict } from './connection-watchdog.js';
import type { MediaPeer, PeerConnectionState, ViewerEvents } from './engine.js';
import type { ViewerSummary } from '../protocol/index.js';

export type ViewerCloseReason = 'deleted' | 'session-ended' | WatchdogVerdict | 'shutdown' | 'error';

/** What GET /sessions lists about a viewer (the protocol's ViewerSummary). */
export type ViewerInfo = ViewerSummary;

export interface ViewerOptions {
  /** The viewer's id (a random UUID when absent). */
  id?: string;
  sessionId: string;
  connectTimeoutMs: number;
  disconnectGraceMs: number;
  onClose: (viewer: Viewer, reason: ViewerCloseReason) => void;
}

/** A live WHEP viewer. */
export class Viewer {
  readonly id: string;
  readonly createdAt = new Date();
  private state: ViewerInfo['state'] = 'connecting';
  private peer: MediaPeer | null = null;
  private codec: string | null = null;
  private sendBitrateKbps: number | null = null;
  private rttMs: number | null = null;
  private readonly watchdog: ConnectionWatchdog;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: ViewerOptions) {
    this.id = opts.id ?? randomUUID();
    // A viewer receives no frames, so the frame-based idle and stall checks never apply.
    this.watchdog = new ConnectionWatchdog({
      connectTimeoutMs: opts.connectTimeoutMs,
      idleTimeoutMs: Number.POSITIVE_INFINITY,
      stallTimeoutMs: Number.POSITIVE_INFINITY,
      disconnectGraceMs: opts.disconnectGraceMs,
      onVerdict: (v) => this.close(v),
    });
    this.timer = setInterval(() => this.watchdog.tick(), this.watchdog.intervalMs);
  }

  get sessionId(): string {
    return this.opts.sessionId;
  }

  /** The callbacks to hand the engine when answering this viewer's offer. */
  get events(): ViewerEvents {
    return {
      onConnectionState: (state: PeerConnectionState) => {
        if (this.state === 'closed') return;
        if (state === 'connected') this.state = 'live';
        this.watchdog.connectionState(state);
      },
    };
  }

  /** Attach the answered peer; closes it at once when the viewer already ended. */
  attachPeer(peer: MediaPeer): void {
    if (this.state === 'closed') {
      peer.close();
      return;
    }
    this.peer = peer;
  }

  /** The viewer's peer (for trickle candidates), null before the answer or after close. */
  get mediaPeer(): MediaPeer | null {
    return this.state === 'closed' ? null : this.peer;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Refresh the engine-level figures (before a listing). */
  async refreshStats(): Promise<void> {
    if (this.state === 'closed' || !this.peer) return;
    const s = await this.peer.stats();
    this.codec = s.codec;
    this.sendBitrateKbps = s.sendBitrateKbps === null ? null : Math.round(s.sendBitrateKbps);
    this.rttMs = s.rttMs === null ? null : Math.round(s.rttMs * 100) / 100;
  }

  /** A snapshot for listings. */
  info(): ViewerInfo {
    return {
      id: this.id, sessionId: this.opts.sessionId, state: this.state, createdAt: this.createdAt.toISOString(),
      codec: this.codec, sendBitrateKbps: this.sendBitrateKbps, rttMs: this.rttMs,
    };
  }

  /** End the viewer and release its peer and timer. Idempotent. */
  close(reason: ViewerCloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.timer);
    this.peer?.close();
    this.opts.onClose(this, reason);
  }
}
