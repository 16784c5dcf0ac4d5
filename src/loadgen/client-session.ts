/**
 * One simulated user: a WebRTC peer connection that sends stamped synthetic video on a sendrecv
 * transceiver (plus a data channel, as the web page does), receives the processed video back on
 * the same transceiver, and measures every frame it gets: glass-to-glass latency from the stamp,
 * gaps (freezes), frame-number gaps (lost frames). The WebRTC stack underneath is one of the
 * client kinds of client-media.ts (--engine); everything measured here is the same for both.
 */
import { performance } from 'node:perf_hooks';
import { decodeServerMessage, type SessionInfo } from '../protocol/index.js';
import type { ClientCodec, ClientEngine, ClientMedia, ClientSideStats } from './client-media.js';
import { createClientMedia } from './client-media-factory.js';
import { emptyCounters, type FrameCounters } from './frame-counters.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { answeredVideoCodec, deleteResource, deleteSession, exchangeOffer, RejectedError, type OfferParams, type Protocol } from './signaling.js';
import { readStamp, writeStamp } from './stamp.js';
import { SyntheticVideo } from './synthetic-video.js';
import { WhepViewerPeer } from './whep-viewer.js';

/** What every session of a run shares. */
export interface SessionConfig {
  url: string;
  protocol: Protocol;
  params: OfferParams;
  width: number;
  height: number;
  fps: number;
  /** Offer to first decoded frame must take less than this, or the session counts as an error. */
  connectTimeoutMs: number;
  /** The client's WebRTC stack (absent: libwebrtc, as before --engine existed). */
  engine?: ClientEngine;
  /** The codec offered first (absent: vp8). */
  codec?: ClientCodec;
  /** WHEP viewers per session (rtc-scale and whip servers), started once the session is answered. */
  viewers?: number;
}

/** What a session's WHEP viewers saw. */
export interface ViewerTotals {
  viewers: number;
  /** Viewers that got at least one stamped frame. */
  connected: number;
  /** The first viewer error, if any (a 503 when viewers do not fit, say). */
  error?: string;
  framesDecoded: number;
  /** The session's offer to the first stamped frame at any of its viewers, ms. */
  firstFrameMs: number | null;
  /** Glass to glass at the viewers: stamp written by this session to decoded at a viewer. */
  latencyMs: LatencySummary;
}

/**
 * How a session ended: completed (got video back, then stopped), rejected (503), error, or
 * cancelled (stopped by the run, e.g. a cool-down, before its first frame came back).
 */
export type SessionOutcome = 'completed' | 'rejected' | 'error' | 'cancelled';

/** Frame totals, of one session or summed over a phase. */
export interface FrameTotals {
  framesSent: number;
  framesReceived: number;
  /** Received frames whose stamp decoded (the others count as undecoded, never as a latency). */
  framesDecoded: number;
  framesUndecoded: number;
  /** Stamped frame numbers that never arrived between the first and last one received. */
  framesLost: number;
  freezes: number;
}

/** The per-session result that goes into the report. */
export interface SessionResult extends FrameTotals {
  id: number;
  outcome: SessionOutcome;
  error?: string;
  /** 503 rejections: the server's error code and Retry-After. */
  rejectCode?: string;
  retryAfterS?: number | null;
  serverSessionId?: string;
  /** Offer sent to first decoded frame, ms. */
  connectMs: number | null;
  /** From start() to the end, s. */
  durationS: number;
  freezeMs: number;
  /** Received frames per second while connected. */
  receivedFps: number | null;
  latencyMs: LatencySummary;
  /** The video codec the server's answer put first (e.g. `H264`): what both directions ran; absent before the answer. */
  codec?: string;
  /** Last received frame size (libwebrtc may scale down under load). */
  receivedSize: string | null;
  /** The server's last view of the session (rtc-scale data-channel `stats`), when it sent one. */
  server?: ServerSessionStats;
  /** The client stack's own figures (--engine native), as the session ended. */
  client?: ClientSideStats;
  /** With --viewers: what the session's WHEP viewers saw. */
  viewers?: ViewerTotals;
}

/** The parts of the server's SessionInfo the report keeps. */
export type ServerSessionStats = Pick<SessionInfo, 'activeBackend' | 'fpsIn' | 'fpsOut' | 'framesDropped' | 'processingMs' | 'serverLatencyMs' | 'codec' | 'encoder' | 'decoder'>;

/** The report's fields of a valid data-channel `stats` message; null for anything else. */
export function parseServerStats(data: unknown): ServerSessionStats | null {
  const decoded = decodeServerMessage(data);
  if (!decoded.ok || decoded.message.type !== 'stats') return null;
  const s = decoded.message.session;
  return {
    activeBackend: s.activeBackend, fpsIn: s.fpsIn, fpsOut: s.fpsOut, framesDropped: s.framesDropped,
    processingMs: s.processingMs, serverLatencyMs: s.serverLatencyMs, codec: s.codec, encoder: s.encoder, decoder: s.decoder,
  };
}

type State = 'new' | 'signaling' | 'connected' | 'ended';

/** One client session. Call start(), sendFrame() at the frame rate, and stop() (idempotent). */
export class ClientSession {
  readonly id: number;
  private readonly config: SessionConfig;
  private readonly video: SyntheticVideo;
  private readonly histogram = new LatencyHistogram();
  private readonly freezeGapMs: number;
  private media: ClientMedia | null = null;
  private state: State = 'new';
  private startedAt = 0;
  private firstFrameAt: number | null = null;
  private lastArrival: number | null = null;
  private lastFrameNumber: number | null = null;
  private frameNumber = 0;
  private receivedSize: string | null = null;
  private serverSessionId: string | undefined;
  /** whip: the session resource, DELETEd at the end (a WHIP session has no data channel to close). */
  private resourceUrl: string | undefined;
  private readonly viewerPeers: WhepViewerPeer[] = [];
  private readonly viewerHistogram = new LatencyHistogram();
  private readonly viewerFirstAt = new Set<WhepViewerPeer>();
  private viewerFramesDecoded = 0;
  private viewerFirstFrameAt: number | null = null;
  private serverStats: ServerSessionStats | null = null;
  private answeredCodec: string | null = null;
  private totals = { sent: 0, received: 0, decoded: 0, undecoded: 0, lost: 0, freezes: 0, freezeMs: 0 };
  private counters = emptyCounters();
  private connectTimer: NodeJS.Timeout | null = null;
  private resolveEnded!: (r: SessionResult) => void;
  /** Resolves once with the result, however the session ends. */
  readonly ended: Promise<SessionResult>;
  /** Called once, when the first stamped frame comes back. */
  onConnected: ((connectMs: number) => void) | null = null;

  constructor(id: number, config: SessionConfig) {
    this.id = id;
    this.config = config;
    this.video = new SyntheticVideo(config.width, config.height, id * 97);
    this.freezeGapMs = (3 * 1000) / config.fps;
    this.ended = new Promise((resolve) => { this.resolveEnded = resolve; });
  }

  /** True while the session is sending video (from the answer until stop). */
  get sending(): boolean {
    return this.state === 'connected';
  }

  /** Negotiate with the server. Never throws: failures end the session with an outcome. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'signaling';
    this.startedAt = performance.now();
    this.connectTimer = setTimeout(() => {
      if (this.firstFrameAt === null) this.finish('error', `no stamped frame back within ${this.config.connectTimeoutMs} ms`);
    }, this.config.connectTimeoutMs);
    try {
      // WHIP clients (OBS, GStreamer) open no data channel; the session ends with DELETE instead.
      const media = await createClientMedia(this.config.engine ?? 'libwebrtc', { dataChannel: this.config.protocol !== 'whip', codec: this.config.codec ?? 'vp8' }, {
        onFrame: (data, width, height) => this.onFrame(data, width, height),
        onControlMessage: (data) => {
          const stats = parseServerStats(data);
          if (stats) this.serverStats = stats;
        },
        onFailed: (reason) => this.finish('error', reason),
      });
      this.media = media;
      // stopped while the stack was being built: finish() found nothing to close
      if (this.state !== 'signaling') {
        media.close();
        return;
      }
      const offerSdp = await media.createOffer();
      if (this.state !== 'signaling') return;
      const answer = await exchangeOffer(this.config.url, this.config.protocol, offerSdp, this.config.params,
        Math.max(1000, this.config.connectTimeoutMs - (performance.now() - this.startedAt)));
      if (this.state !== 'signaling') {
        // Stopped while the server was answering: the server session exists but no channel will close it.
        if (answer.sessionId && this.config.protocol === 'rtc-scale') void deleteSession(this.config.url, answer.sessionId, this.config.params.token);
        if (answer.resourceUrl) void deleteResource(answer.resourceUrl, this.config.params.token);
        return;
      }
      this.serverSessionId = answer.sessionId;
      this.resourceUrl = answer.resourceUrl;
      this.answeredCodec = answeredVideoCodec(answer.sdp);
      await media.acceptAnswer(answer.sdp);
      if (this.state === 'signaling') {
        this.state = 'connected';
        this.startViewers();
      }
    } catch (err) {
      if (err instanceof RejectedError) this.finish('rejected', err.message, err);
      else this.finish('error', err instanceof Error ? err.message : String(err));
    }
  }

  /** Start the session's WHEP viewers (none for aiortc, which has no WHEP). */
  private startViewers(): void {
    const n = this.config.viewers ?? 0;
    const sessionId = this.serverSessionId;
    if (n <= 0 || !sessionId || this.config.protocol === 'aiortc') return;
    for (let i = 0; i < n; i++) {
      const v: WhepViewerPeer = new WhepViewerPeer({
        url: this.config.url, sessionId, token: this.config.params.token, timeoutMs: this.config.connectTimeoutMs,
        onFrame: (data, width, height) => this.onViewerFrame(v, data, width, height),
      });
      this.viewerPeers.push(v);
      void v.start();
    }
  }

  private onViewerFrame(v: WhepViewerPeer, data: Uint8Array, width: number, height: number): void {
    if (this.state === 'ended') return;
    const stamp = readStamp(data, width, height);
    if (!stamp) return;
    const now = performance.now();
    const latency = now - stamp.sendTimeMs;
    if (latency < 0 || stamp.frameNumber >= this.frameNumber) return;
    this.viewerFramesDecoded++;
    this.viewerHistogram.record(latency);
    this.viewerFirstAt.add(v);
    this.viewerFirstFrameAt ??= now;
  }

  private viewerTotals(): ViewerTotals | undefined {
    if (this.viewerPeers.length === 0) return undefined;
    const error = this.viewerPeers.find((v) => v.error !== null)?.error;
    return {
      viewers: this.viewerPeers.length,
      connected: this.viewerFirstAt.size,
      ...(error ? { error } : {}),
      framesDecoded: this.viewerFramesDecoded,
      firstFrameMs: this.viewerFirstFrameAt === null ? null : this.viewerFirstFrameAt - this.startedAt,
      latencyMs: this.viewerHistogram.summary(),
    };
  }

  /** Render, stamp and send the next frame (no-op unless connected). */
  sendFrame(): void {
    if (this.state !== 'connected' || !this.media) return;
    const { width, height } = this.config;
    const data = this.video.render(this.frameNumber);
    writeStamp(data, width, height, { frameNumber: this.frameNumber, sendTimeMs: performance.now() });
    this.media.sendFrame(width, height, data);
    this.frameNumber++;
    this.totals.sent++;
    this.counters.sent++;
  }

  private onFrame(data: Uint8Array, width: number, height: number): void {
    if (this.state === 'ended') return;
    const now = performance.now();
    this.totals.received++;
    this.counters.received++;
    this.receivedSize = `${width}x${height}`;
    if (this.lastArrival !== null && now - this.lastArrival > this.freezeGapMs) {
      this.totals.freezes++;
      this.totals.freezeMs += now - this.lastArrival;
      this.counters.freezes++;
    }
    this.lastArrival = now;
    const stamp = readStamp(data, width, height);
    if (!stamp) {
      this.totals.undecoded++;
      this.counters.undecoded++;
      return;
    }
    // The stamp holds floor(performance.now()) mod 2^32; a process lives far less than 49 days.
    const latency = now - stamp.sendTimeMs;
    if (latency < 0 || stamp.frameNumber >= this.frameNumber) {
      // Cannot be one of ours (the check word makes this all but impossible); never count it.
      this.totals.undecoded++;
      this.counters.undecoded++;
      return;
    }
    this.totals.decoded++;
    this.counters.decoded++;
    this.histogram.record(latency);
    this.counters.latencies.push(latency);
    if (this.lastFrameNumber !== null && stamp.frameNumber > this.lastFrameNumber + 1) {
      const lost = stamp.frameNumber - this.lastFrameNumber - 1;
      this.totals.lost += lost;
      this.counters.lost += lost;
    }
    if (this.lastFrameNumber === null || stamp.frameNumber > this.lastFrameNumber) this.lastFrameNumber = stamp.frameNumber;
    if (this.firstFrameAt === null) {
      this.firstFrameAt = now;
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.onConnected?.(now - this.startedAt);
    }
  }

  /** Counters since the previous call. */
  drainCounters(): FrameCounters {
    const c = this.counters;
    this.counters = emptyCounters();
    return c;
  }

  /** End the session normally (the run or the phase is over). */
  stop(): void {
    this.finish('completed');
  }

  private finish(outcome: SessionOutcome, error?: string, rejected?: RejectedError): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (this.connectTimer) clearTimeout(this.connectTimer);
    // A session stopped before any frame came back did not complete; it did not fail either.
    const finalOutcome: SessionOutcome = outcome === 'completed' && this.firstFrameAt === null ? 'cancelled' : outcome;
    const finalError = error;
    // Closing the data channel ends the server session, but only once it has opened.
    if (this.serverSessionId && this.config.protocol === 'rtc-scale' && this.media?.controlChannelOpen !== true) {
      void deleteSession(this.config.url, this.serverSessionId, this.config.params.token);
    }
    for (const v of this.viewerPeers) v.stop();
    if (this.resourceUrl) void deleteResource(this.resourceUrl, this.config.params.token);
    const clientStats = this.media?.sideStats?.() ?? null;
    this.media?.close();
    const end = performance.now();
    const connectedFor = this.firstFrameAt !== null ? (end - this.firstFrameAt) / 1000 : 0;
    const result: SessionResult = {
      id: this.id,
      outcome: finalOutcome,
      ...(finalError ? { error: finalError } : {}),
      ...(rejected ? { rejectCode: rejected.code, retryAfterS: rejected.retryAfterS } : {}),
      ...(this.serverSessionId ? { serverSessionId: this.serverSessionId } : {}),
      connectMs: this.firstFrameAt !== null ? this.firstFrameAt - this.startedAt : null,
      durationS: this.startedAt > 0 ? (end - this.startedAt) / 1000 : 0,
      framesSent: this.totals.sent,
      framesReceived: this.totals.received,
      framesDecoded: this.totals.decoded,
      framesUndecoded: this.totals.undecoded,
      framesLost: this.totals.lost,
      freezes: this.totals.freezes,
      freezeMs: Math.round(this.totals.freezeMs),
      receivedFps: connectedFor > 0.5 ? this.totals.received / connectedFor : null,
      latencyMs: this.histogram.summary(),
      receivedSize: this.receivedSize,
      ...(this.answeredCodec ? { codec: this.answeredCodec } : {}),
      ...(this.serverStats ? { server: this.serverStats } : {}),
      ...(clientStats ? { client: clientStats } : {}),
    };
    const viewers = this.viewerTotals();
    if (viewers) result.viewers = viewers;
    this.resolveEnded(result);
  }
}
