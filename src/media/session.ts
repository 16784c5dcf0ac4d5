/**
 * One WebRTC processing session: the client's video track in, every decoded frame through the
 * processor (latest frame wins), the result out on a track of the same connection.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BackendRegistry, ServingBackend } from '../processing/backend-registry.js';
import { makeFilterSpec } from '../processing/filter-spec.js';
import type { BackendChoice, FilterSpec, FrameProcessor } from '../processing/types.js';
import type { Metrics } from '../server/metrics.js';
import { LatestFrameSlot } from './latest-frame-slot.js';
import { RateMeter, SampleWindow } from './rolling-stats.js';
import {
  RTCVideoSink, RTCVideoSource, type MediaStreamTrack, type RTCDataChannel, type RTCPeerConnection,
  type RTCVideoFrame, type RTCVideoSink as VideoSink, type RTCVideoSource as VideoSource,
} from './wrtc.js';

export type SessionState = 'connecting' | 'live' | 'closed';
export type CloseReason =
  | 'deleted' | 'datachannel-closed' | 'connection-failed' | 'connection-closed' | 'idle' | 'stalled' | 'shutdown' | 'error';

/** What GET /sessions shows of a session. */
export interface SessionInfo {
  id: string;
  state: SessionState;
  createdAt: string;
  filter: string;
  iterations: number;
  backend: BackendChoice;
  activeBackend: string;
  width: number;
  height: number;
  codec: string | null;
  fpsIn: number;
  fpsOut: number;
  framesReceived: number;
  framesSent: number;
  framesDropped: number;
  processingMs: { p50: number | null; p95: number | null };
  serverLatencyMs: { p50: number | null; p95: number | null };
}

/** A change of filter/backend asked for over PATCH or the data channel. */
export interface SessionSettings {
  filter?: unknown;
  iterations?: unknown;
  backend?: unknown;
}

export interface SessionDeps {
  pc: RTCPeerConnection;
  registry: BackendRegistry;
  metrics: Metrics;
  filter: FilterSpec;
  backend: BackendChoice;
  idleTimeoutMs: number;
  /** Once frames flowed: how long without one before the client is taken for gone. */
  stallTimeoutMs: number;
  /** How long a 'disconnected' connection may stay so before the session ends. */
  disconnectGraceMs: number;
  onClose: (session: Session, reason: CloseReason) => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** Parse a backend choice, or throw RangeError. */
export function parseBackendChoice(v: unknown): ServingBackend {
  if (v === 'auto' || v === 'cpu' || v === 'gpu') return v;
  throw new RangeError(`backend must be one of auto, cpu, gpu; got ${JSON.stringify(v)}`);
}

/** A live processing session. */
export class Session {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  private state: SessionState = 'connecting';
  private filter: FilterSpec;
  private backend: BackendChoice;
  private readonly source: VideoSource;
  private readonly outTrack: MediaStreamTrack;
  private sink: VideoSink | null = null;
  private inTrack: MediaStreamTrack | null = null;
  private channel: RTCDataChannel | null = null;
  private readonly slot = new LatestFrameSlot<RTCVideoFrame>();
  private busy = false;
  private outBuf: Uint8Array = new Uint8Array(0);
  private width = 0;
  private height = 0;
  private codec: string | null = null;
  private activeBackend = '';
  private framesReceived = 0;
  private framesSent = 0;
  private framesFailed = 0;
  private readonly fpsIn = new RateMeter();
  private readonly fpsOut = new RateMeter();
  private readonly processingMs = new SampleWindow();
  private readonly serverLatencyMs = new SampleWindow();
  private lastFrameAt = performance.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private disconnectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: SessionDeps) {
    this.filter = deps.filter;
    this.backend = deps.backend;
    this.activeBackend = deps.registry.getWithFallback(this.backend).name;
    this.source = new RTCVideoSource();
    this.outTrack = this.source.createTrack();
    const pc = deps.pc;
    pc.ontrack = (ev) => {
      if (ev.track.kind === 'video' && this.sink === null) this.attachSink(ev.track);
    };
    pc.ondatachannel = (ev) => this.attachChannel(ev.channel);
    pc.onconnectionstatechange = () => this.onConnectionState();
    // Idle check: a client that stops sending (or vanished) is closed; bounded by the interval.
    this.timers.push(setInterval(() => this.checkIdle(), Math.min(500, deps.idleTimeoutMs, deps.stallTimeoutMs)));
    this.timers.push(setInterval(() => this.pushStats(), 1000));
  }

  /** The track that carries processed frames back; added to the connection before answering. */
  get outputTrack(): MediaStreamTrack {
    return this.outTrack;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Apply new settings; throws RangeError on a bad value, changing nothing. */
  update(settings: SessionSettings): SessionInfo {
    const name = settings.filter ?? this.filter.name;
    const iterations = settings.iterations ?? (settings.filter !== undefined ? 1 : this.filter.iterations);
    const filter = makeFilterSpec(name, iterations);
    const backend = settings.backend === undefined ? this.backend : parseBackendChoice(settings.backend);
    if (backend !== this.backend && backend !== 'auto') this.deps.registry.get(backend); // throws when unavailable
    this.filter = filter;
    this.backend = backend;
    return this.info();
  }

  /** A snapshot of the session's settings and statistics. */
  info(): SessionInfo {
    const now = performance.now();
    const r = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
    return {
      id: this.id,
      state: this.state,
      createdAt: this.createdAt.toISOString(),
      filter: this.filter.name,
      iterations: this.filter.iterations,
      backend: this.backend,
      activeBackend: this.activeBackend,
      width: this.width,
      height: this.height,
      codec: this.codec,
      fpsIn: this.fpsIn.rate(now),
      fpsOut: this.fpsOut.rate(now),
      framesReceived: this.framesReceived,
      framesSent: this.framesSent,
      framesDropped: this.slot.dropped + this.framesFailed,
      processingMs: { p50: r(this.processingMs.percentile(50)), p95: r(this.processingMs.percentile(95)) },
      serverLatencyMs: { p50: r(this.serverLatencyMs.percentile(50)), p95: r(this.serverLatencyMs.percentile(95)) },
    };
  }

  /** Look up the negotiated codec once (getStats is asynchronous and not free). */
  async refreshCodec(): Promise<void> {
    if (this.codec !== null || this.state === 'closed') return;
    try {
      const report = await this.deps.pc.getStats();
      const codecs = new Map<string, string>();
      let inboundCodecId: string | null = null;
      report.forEach((s) => {
        if (s.type === 'codec' && typeof s.mimeType === 'string') codecs.set(s.id, s.mimeType);
        if (s.type === 'inbound-rtp' && s.kind === 'video' && typeof s.codecId === 'string') inboundCodecId = s.codecId;
      });
      if (inboundCodecId !== null) this.codec = codecs.get(inboundCodecId) ?? null;
    } catch {
      // Stats are informational; a closed connection simply has none.
    }
  }

  /** End the session and release tracks, sink, connection and buffers. Idempotent. */
  close(reason: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.slot.clear();
    if (this.sink) {
      this.sink.onframe = null;
      this.sink.stop();
    }
    this.inTrack?.stop();
    this.outTrack.stop();
    if (this.channel) {
      this.channel.onclose = null;
      this.channel.onmessage = null;
      try { this.channel.close(); } catch { /* already closed */ }
    }
    const pc = this.deps.pc;
    pc.ontrack = null;
    pc.ondatachannel = null;
    pc.onconnectionstatechange = null;
    pc.close();
    this.outBuf = new Uint8Array(0);
    this.deps.onClose(this, reason);
  }

  private attachSink(track: MediaStreamTrack): void {
    this.inTrack = track;
    const sink = new RTCVideoSink(track);
    this.sink = sink;
    sink.onframe = ({ frame }) => this.onFrame(frame);
  }

  private onFrame(frame: RTCVideoFrame): void {
    if (this.state === 'closed') return;
    const now = performance.now();
    this.lastFrameAt = now;
    this.framesReceived++;
    this.fpsIn.mark(now);
    this.deps.metrics.framesReceived.inc();
    if (this.state === 'connecting') {
      this.state = 'live';
      void this.refreshCodec();
    }
    if (this.slot.put(frame, now)) this.deps.metrics.framesDropped.inc({ reason: 'superseded' });
    if (!this.busy) void this.pump();
  }

  /** Process waiting frames one at a time until the slot is empty. */
  private async pump(): Promise<void> {
    this.busy = true;
    try {
      for (let p = this.slot.take(); p !== null && !this.isClosed; p = this.slot.take()) {
        const { frame, arrivedAt } = p;
        const started = performance.now();
        this.deps.metrics.frameQueueWaitSeconds.observe((started - arrivedAt) / 1000);
        if (this.outBuf.length !== frame.data.length) this.outBuf = new Uint8Array(frame.data.length);
        this.width = frame.width;
        this.height = frame.height;
        const processor = await this.processWithFallback(frame);
        if (processor === null || this.isClosed) continue;
        const done = performance.now();
        this.source.onFrame({ width: frame.width, height: frame.height, data: this.outBuf });
        this.framesSent++;
        this.fpsOut.mark(done);
        this.processingMs.add(done - started);
        this.serverLatencyMs.add(done - arrivedAt);
        const m = this.deps.metrics;
        m.frameProcessingSeconds.observe({ backend: processor.name, filter: this.filter.name }, (done - started) / 1000);
        m.frameServerLatencySeconds.observe({ backend: processor.name }, (done - arrivedAt) / 1000);
        m.framesSent.inc({ backend: processor.name });
      }
    } finally {
      this.busy = false;
    }
  }

  /** Process one frame; on a failing GPU retry once on CPU. Returns the processor used, or null. */
  private async processWithFallback(frame: RTCVideoFrame): Promise<FrameProcessor | null> {
    const first = this.deps.registry.getWithFallback(this.backend);
    const tryOn = async (p: FrameProcessor): Promise<boolean> => {
      try {
        await p.processI420(frame, this.filter, this.outBuf);
        this.activeBackend = p.name;
        return true;
      } catch (err) {
        this.deps.log('warn', `frame processing failed on ${p.name}`, { session: this.id, err: String(err) });
        return false;
      }
    };
    if (await tryOn(first)) return first;
    if (first.name !== 'cpu') {
      const cpu = this.deps.registry.getWithFallback('cpu');
      if (await tryOn(cpu)) return cpu;
    }
    this.framesFailed++;
    this.deps.metrics.framesDropped.inc({ reason: 'error' });
    return null;
  }

  private attachChannel(channel: RTCDataChannel): void {
    if (this.channel) return;
    this.channel = channel;
    channel.onmessage = (ev) => this.onChannelMessage(ev.data);
    channel.onclose = () => this.close('datachannel-closed');
  }

  private send(msg: unknown): void {
    const ch = this.channel;
    // Skip when the channel is backed up: stats are periodic, a missed one is harmless.
    if (!ch || ch.readyState !== 'open' || ch.bufferedAmount > 256 * 1024) return;
    try { ch.send(JSON.stringify(msg)); } catch { /* closing */ }
  }

  private onChannelMessage(data: string | ArrayBuffer): void {
    if (typeof data !== 'string' || data.length > 4096) {
      this.send({ type: 'error', error: { code: 'INVALID_PARAMETER', message: 'messages must be JSON text under 4 kB' } });
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      this.send({ type: 'error', error: { code: 'INVALID_JSON', message: 'message is not valid JSON' } });
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.send({ type: 'error', error: { code: 'INVALID_PARAMETER', message: 'message must be a JSON object' } });
      return;
    }
    const m = msg as Record<string, unknown>;
    switch (m.type) {
      case 'set':
        try {
          this.send({ type: 'ack', session: this.update({ filter: m.filter, iterations: m.iterations, backend: m.backend }) });
        } catch (err) {
          const code = err instanceof RangeError && /filter/.test(err.message) ? 'UNKNOWN_FILTER' : 'INVALID_PARAMETER';
          this.send({ type: 'error', error: { code, message: err instanceof Error ? err.message : String(err) } });
        }
        return;
      case 'ping':
        this.send({ type: 'pong', t: m.t });
        return;
      case 'stats':
        this.send({ type: 'stats', session: this.info() });
        return;
      default:
        this.send({ type: 'error', error: { code: 'INVALID_PARAMETER', message: `unknown message type ${JSON.stringify(m.type)}` } });
    }
  }

  private pushStats(): void {
    if (this.state === 'live') this.send({ type: 'stats', session: this.info() });
  }

  private checkIdle(): void {
    const quiet = performance.now() - this.lastFrameAt;
    // A client killed without closing sends no DTLS close and ICE takes ~30 s to fail; a live
    // stream that stops is the quicker sign. Before the first frame, allow connection set-up time.
    if (this.state === 'live' && quiet > this.deps.stallTimeoutMs) this.close('stalled');
    else if (this.state === 'connecting' && quiet > this.deps.idleTimeoutMs) this.close('idle');
  }

  private onConnectionState(): void {
    const s = this.deps.pc.connectionState;
    if (s === 'failed') this.close('connection-failed');
    else if (s === 'closed') this.close('connection-closed');
    else if (s === 'disconnected') {
      // Often transient (a lost packet burst); end the session only when it does not recover.
      this.disconnectTimer ??= setTimeout(() => {
        if (this.deps.pc.connectionState !== 'connected') this.close('connection-failed');
        this.disconnectTimer = null;
      }, this.deps.disconnectGraceMs);
    } else if (s === 'connected' && this.disconnectTimer) {
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = null;
    }
  }
}
