/**
 * One processing session: a client's peer (any media engine), its frame pipeline, its control
 * channel and its watchdog, wired together. The parts each do one job; this class owns their
 * lifetime and what a session reports.
 */
import { randomUUID } from 'node:crypto';
import { BackendUnavailableError } from '../processing/backend-registry.js';
import { FilterSpecError, makeFilterSpec } from '../processing/filter-spec.js';
import type { FilterSpec } from '../processing/types.js';
import { ConnectionWatchdog, type WatchdogVerdict } from './connection-watchdog.js';
import type { MediaEngineName, MediaPeer, PeerEvents, PeerStats } from './engine.js';
import { FramePipeline, type ProcessorSource } from './frame-pipeline.js';
import type { MediaMetrics } from './media-metrics.js';
import { SessionControl } from './session-control.js';
import { isBackendChoice, type BackendChoice, type SessionInfo, type SessionState } from '../protocol/index.js';

export type { SessionInfo, SessionState };
export type CloseReason = 'deleted' | 'datachannel-closed' | WatchdogVerdict | 'frame-too-large' | 'shutdown' | 'error';

/** A change of filter/backend asked for over PATCH or the data channel. */
export interface SessionSettings {
  filter?: unknown;
  iterations?: unknown;
  /** How anonymize hides faces; absent: kept. */
  style?: unknown;
  backend?: unknown;
}

/**
 * A setting that cannot be applied; `code` is the API error code, the same over HTTP and the data
 * channel (AT_CAPACITY: a switch to a filter that costs more than the node has left).
 */
export class SessionSettingsError extends Error {
  constructor(readonly code: 'UNKNOWN_FILTER' | 'INVALID_PARAMETER' | 'BACKEND_UNAVAILABLE' | 'AT_CAPACITY', message: string) {
    super(message);
    this.name = 'SessionSettingsError';
  }
}

/** The registry as a session uses it. */
export interface SessionProcessors extends ProcessorSource {
  /** Throws BackendUnavailableError when `choice` does not run. */
  get(choice: BackendChoice): unknown;
}

export interface SessionOptions {
  /** The session's id (a random UUID when absent; a server in a cluster makes ids that name their owner). */
  id?: string;
  engine: MediaEngineName;
  processors: SessionProcessors;
  metrics: MediaMetrics;
  filter: FilterSpec;
  backend: BackendChoice;
  maxPixels: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  stallTimeoutMs: number;
  disconnectGraceMs: number;
  onClose: (session: Session, reason: CloseReason) => void;
  /**
   * Asked before the filter changes from `from` to `to` (PATCH, data channel): throws
   * SessionSettingsError('AT_CAPACITY') when the new filter costs more than the node has left.
   */
  admitFilterChange?: (from: FilterSpec, to: FilterSpec) => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** Parse a backend choice a client may ask for. */
export function parseBackendChoice(v: unknown): BackendChoice {
  if (isBackendChoice(v)) return v;
  throw new SessionSettingsError('INVALID_PARAMETER', `backend must be one of auto, cpu, gpu; got ${JSON.stringify(v)}`);
}

const NO_STATS: PeerStats = {
  codec: null, encoder: null, decoder: null, rttMs: null, lossRatio: null, sendBitrateKbps: null, encodeMs: null, decodeMs: null,
};

/** A live processing session. */
export class Session {
  readonly id: string;
  readonly createdAt = new Date();
  private state: SessionState = 'connecting';
  private peer: MediaPeer | null = null;
  private peerStats: PeerStats = NO_STATS;
  private readonly pipeline: FramePipeline;
  private readonly control: SessionControl;
  private readonly watchdog: ConnectionWatchdog;
  private readonly timers: NodeJS.Timeout[] = [];
  private filterChanged = 0;

  constructor(private readonly opts: SessionOptions) {
    this.id = opts.id ?? randomUUID();
    this.pipeline = new FramePipeline({
      processors: opts.processors,
      metrics: opts.metrics,
      filter: opts.filter,
      backend: opts.backend,
      maxPixels: opts.maxPixels,
      output: (frame) => this.peer?.sendFrame(frame),
      onOversize: (w, h) => this.frameTooLarge(w, h),
      log: (level, msg, extra) => opts.log(level, msg, { session: this.id, ...extra }),
    });
    this.control = new SessionControl({
      update: (s) => this.update(s),
      info: () => this.info(),
      errorCode: (err) => (err instanceof SessionSettingsError ? err.code : 'INVALID_PARAMETER'),
      onClose: () => this.close('datachannel-closed'),
    });
    this.watchdog = new ConnectionWatchdog({
      connectTimeoutMs: opts.connectTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
      stallTimeoutMs: opts.stallTimeoutMs,
      disconnectGraceMs: opts.disconnectGraceMs,
      onVerdict: (v) => this.close(v),
    });
    this.timers.push(setInterval(() => this.watchdog.tick(), this.watchdog.intervalMs));
    this.timers.push(setInterval(() => this.pushStats(), 1000));
  }

  /** The callbacks to hand the engine when answering this session's offer. */
  get peerEvents(): PeerEvents {
    return {
      onFrame: (frame) => {
        if (this.state === 'closed') return;
        this.watchdog.frame();
        if (this.state === 'connecting') {
          this.state = 'live';
          void this.refreshStats();
        }
        this.pipeline.push(frame);
      },
      onChannel: (channel) => this.control.attach(channel),
      onConnectionState: (state) => this.watchdog.connectionState(state),
      onOversizeFrame: (w, h) => this.frameTooLarge(w, h),
    };
  }

  /** A frame (decoded, or its header read by the engine) over the pixel limit: it costs its decoder hundreds of MB, so the session ends rather than keep decoding. */
  private frameTooLarge(w: number, h: number): void {
    if (this.state === 'closed') return;
    this.control.sendError('FRAME_TOO_LARGE', `frames of ${w}x${h} exceed the server's limit of ${this.opts.maxPixels} pixels`);
    this.close('frame-too-large');
  }

  /** Attach the answered peer (its frames may already have started). */
  attachPeer(peer: MediaPeer): void {
    if (this.state === 'closed') {
      peer.close();
      return;
    }
    this.peer = peer;
  }

  /** When the filter last changed name (epoch ms; 0: never): its cost shows in the measured load only after that. */
  get filterChangedAt(): number {
    return this.filterChanged;
  }

  /** The filter the session runs now. */
  get filter(): FilterSpec {
    return this.pipeline.filter;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** The session's peer (for trickle candidates and WHEP viewers), null before the answer or after close. */
  get mediaPeer(): MediaPeer | null {
    return this.state === 'closed' ? null : this.peer;
  }

  /** Apply new settings; throws SessionSettingsError on a bad value, changing nothing. */
  update(settings: SessionSettings): SessionInfo {
    const p = this.pipeline;
    const name = settings.filter ?? p.filter.name;
    const iterations = settings.iterations ?? (settings.filter !== undefined ? 1 : p.filter.iterations);
    let filter: FilterSpec;
    try {
      filter = makeFilterSpec(name, iterations, settings.style ?? p.filter.style);
    } catch (err) {
      if (err instanceof FilterSpecError) throw new SessionSettingsError(err.code, err.message);
      throw err;
    }
    const backend = settings.backend === undefined ? p.backend : parseBackendChoice(settings.backend);
    if (backend !== p.backend && backend !== 'auto') {
      try {
        this.opts.processors.get(backend);
      } catch (err) {
        if (err instanceof BackendUnavailableError) throw new SessionSettingsError('BACKEND_UNAVAILABLE', err.message);
        throw err;
      }
    }
    if (filter.name !== p.filter.name) {
      this.opts.admitFilterChange?.(p.filter, filter);
      this.filterChanged = Date.now();
    }
    p.filter = filter;
    p.backend = backend;
    return this.info();
  }

  /** A snapshot of the session's settings and statistics. */
  info(): SessionInfo {
    const p = this.pipeline.stats();
    const s = this.peerStats;
    return {
      id: this.id,
      state: this.state,
      createdAt: this.createdAt.toISOString(),
      engine: this.opts.engine,
      filter: this.pipeline.filter.name,
      iterations: this.pipeline.filter.iterations,
      style: this.pipeline.filter.style ?? null,
      backend: this.pipeline.backend,
      activeBackend: p.activeBackend === 'gpu' ? 'gpu' : 'cpu',
      width: p.width,
      height: p.height,
      codec: s.codec,
      encoder: s.encoder,
      decoder: s.decoder,
      rttMs: round(s.rttMs),
      lossRatio: s.lossRatio === null ? null : Math.round(s.lossRatio * 10_000) / 10_000,
      sendBitrateKbps: round(s.sendBitrateKbps),
      encodeMs: round(s.encodeMs),
      decodeMs: round(s.decodeMs),
      fpsIn: p.fpsIn,
      fpsOut: p.fpsOut,
      framesReceived: p.framesReceived,
      framesSent: p.framesSent,
      framesDropped: p.framesDropped,
      processingMs: p.processingMs,
      serverLatencyMs: p.serverLatencyMs,
      faces: p.faces ?? null,
    };
  }

  /** Engine-level figures (codec, rtt, loss, bitrate, codec times): asynchronous and not free, so refreshed periodically. */
  async refreshStats(): Promise<void> {
    if (this.state === 'closed' || !this.peer) return;
    this.peerStats = await this.peer.stats();
  }

  /** End the session and release peer, pipeline and timers. Idempotent. */
  close(reason: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    this.pipeline.stop();
    this.control.close();
    this.peer?.close();
    this.opts.onClose(this, reason);
  }

  private pushStats(): void {
    if (this.state !== 'live') return;
    void this.refreshStats().then(() => {
      if (this.state === 'live') this.control.send({ type: 'stats', session: this.info() });
    });
  }
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 100) / 100;
}
