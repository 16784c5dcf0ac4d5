/**
 * "Live camera": camera → stamped canvas → WebRTC → server filter → processed video back, side by
 * side with what was sent, with per-second stats, a latency chart and clear connection states.
 */
import { ANONYMIZE_STYLES, FILTER_NAMES, percentile, type AnonymizeStyle, type BackendChoice, type BackendInfo, type FilterName, type SessionInfo } from '../protocol/index.js';
import { ApiRequestError } from './api.js';
import { LatencyChart } from './charts.js';
import { byId, fmtMs, h } from './dom.js';
import { LiveSession, type LiveSettings } from './live-session.js';
import { RtcStatsSampler, type RtcSnapshot } from './rtc-stats.js';
import { StampReader } from './stamp-reader.js';
import { StampedSource } from './stamped-source.js';

export type LiveState = 'idle' | 'starting-camera' | 'connecting' | 'live' | 'capacity' | 'camera-denied' | 'camera-missing' | 'lost' | 'error';

export const CAMERA_SIZES: Record<string, [number, number]> = {
  '240p': [320, 240],
  '360p': [640, 360],
  '480p': [640, 480],
  '720p': [1280, 720],
};

/** Used when a 503 comes without Retry-After. */
const DEFAULT_RETRY_S = 5;

/** A camera error the page explains differently from a generic failure. */
export class CameraError extends Error {
  constructor(readonly kind: 'denied' | 'missing' | 'other', message: string) {
    super(message);
    this.name = 'CameraError';
  }
}

async function openCamera(size: [number, number]): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError('missing', 'This browser offers no camera access here (it needs HTTPS or localhost).');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: size[0] }, height: { ideal: size[1] }, frameRate: { ideal: 30 } },
    });
  } catch (e) {
    const name = e instanceof DOMException ? e.name : '';
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      throw new CameraError('denied', 'Camera access was denied. Allow the camera for this site in the browser (icon in the address bar), then press Start camera again.');
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') {
      throw new CameraError('missing', name === 'NotReadableError'
        ? 'The camera is in use by another application or could not be started.'
        : 'No camera was found. Connect one and press Start camera again.');
    }
    throw new CameraError('other', e instanceof Error ? e.message : String(e));
  }
}

export class LivePanel {
  state: LiveState = 'idle';
  session: LiveSession | null = null;
  /** The last per-second figures, for the test hook. */
  lastRtc: RtcSnapshot | null = null;
  lastServer: SessionInfo | null = null;
  readonly latency: LatencyChart;

  private source: StampedSource | null = null;
  /** Reads stamps off the processed video (public for the "stamps readable" figure and tests). */
  reader: StampReader | null = null;
  private camera: MediaStream | null = null;
  private sampler: RtcStatsSampler | null = null;
  private statsTimer = 0;
  private countdownTimer = 0;
  private channelRtt: number | null = null;
  private readings: number[] = [];
  private minuteReadings: { t: number; ms: number }[] = [];
  private generation = 0;

  private readonly root = byId('live', HTMLElement);
  private readonly banner = byId('live-state', HTMLDivElement);
  private readonly startBtn = byId('live-start', HTMLButtonElement);
  private readonly stopBtn = byId('live-stop', HTMLButtonElement);
  private readonly reconnectBtn = byId('live-reconnect', HTMLButtonElement);
  private readonly filterSel = byId('live-filter', HTMLSelectElement);
  private readonly iterInput = byId('live-iterations', HTMLInputElement);
  /** How anonymize hides faces (the filter's `style` parameter). */
  private readonly styleSel = byId('live-style', HTMLSelectElement);
  private readonly backendSel = byId('live-backend', HTMLSelectElement);
  private readonly sizeSel = byId('live-size', HTMLSelectElement);
  /** JSON /offer, or WHIP to publish and WHEP to watch; applies from the next connect. */
  private readonly signallingSel = byId('live-signalling', HTMLSelectElement);
  private readonly cameraVideo = byId('camera-video', HTMLVideoElement);
  private readonly localCanvas = byId('local-canvas', HTMLCanvasElement);
  private readonly remoteVideo = byId('remote-video', HTMLVideoElement);
  private readonly metrics = byId('live-metrics', HTMLDivElement);

  constructor() {
    for (const f of FILTER_NAMES) this.filterSel.append(h('option', f === 'invert' ? { value: f, selected: '' } : { value: f }, f));
    for (const s of ANONYMIZE_STYLES) this.styleSel.append(h('option', s === 'blur' ? { value: s, selected: '' } : { value: s }, s));
    this.latency = new LatencyChart(byId('latency-chart', HTMLDivElement));
    this.startBtn.addEventListener('click', () => void this.start());
    this.stopBtn.addEventListener('click', () => this.stop());
    this.reconnectBtn.addEventListener('click', () => void this.connect());
    const apply = () => this.applySettings();
    this.filterSel.addEventListener('change', apply);
    this.iterInput.addEventListener('change', apply);
    this.styleSel.addEventListener('change', apply);
    this.backendSel.addEventListener('change', apply);
    window.addEventListener('pagehide', () => this.session?.close());
    this.dimUnused(this.settings());
    this.render('idle', 'Press Start camera: your camera is sent to the server, filtered there, and shown back here.');
  }

  /** Offer "auto" plus every backend the server has, greyed out with the reason when unavailable. */
  setBackends(backends: BackendInfo[]): void {
    const opts = [h('option', { value: 'auto', selected: '' }, 'auto')];
    for (const b of backends) {
      const attrs: Record<string, string> = { value: b.name };
      if (!b.available) attrs.disabled = '';
      opts.push(h('option', attrs, b.available ? b.name : `${b.name} (not available: ${b.reason ?? 'unknown'})`));
    }
    this.backendSel.replaceChildren(...opts);
  }

  /** The filter, iterations and backend currently chosen in the controls. */
  settings(): LiveSettings {
    return {
      filter: this.filterSel.value as FilterName,
      iterations: Math.min(50, Math.max(1, Math.round(Number(this.iterInput.value) || 1))),
      style: this.styleSel.value as AnonymizeStyle,
      backend: this.backendSel.value as BackendChoice,
    };
  }

  /** Open the camera (if needed) and connect. */
  async start(): Promise<void> {
    const gen = ++this.generation;
    if (!this.camera) {
      this.render('starting-camera', 'Asking for the camera…');
      try {
        this.camera = await openCamera(CAMERA_SIZES[this.sizeSel.value] ?? [640, 480]);
      } catch (e) {
        if (gen !== this.generation) return;
        const ce = e instanceof CameraError ? e : new CameraError('other', String(e));
        this.render(ce.kind === 'denied' ? 'camera-denied' : ce.kind === 'missing' ? 'camera-missing' : 'error', ce.message);
        return;
      }
      if (gen !== this.generation) return;
      this.cameraVideo.srcObject = this.camera;
      await this.cameraVideo.play().catch(() => undefined);
      await new Promise<void>((resolve) => {
        if (this.cameraVideo.videoWidth > 0) resolve();
        else this.cameraVideo.addEventListener('loadedmetadata', () => resolve(), { once: true });
      });
      this.source = new StampedSource(this.cameraVideo, this.localCanvas);
    }
    await this.connect();
  }

  /** (Re)negotiate a session with the current settings; retries by itself when the server is full. */
  async connect(): Promise<void> {
    if (!this.source) return this.start();
    const gen = ++this.generation;
    this.teardownSession();
    this.render('connecting', 'Connecting to the server…');
    try {
      const session = await LiveSession.start(this.source.track, this.source.stream, this.settings(), {
        onRemoteStream: (stream) => this.showRemote(stream),
        onConnected: () => {
          if (gen === this.generation) this.render('live', 'Live: the right picture is your camera after the server’s filter.');
        },
        onLost: (reason) => {
          if (gen !== this.generation) return;
          this.stopStats();
          this.reader?.stop();
          this.reader = null;
          this.remoteVideo.srcObject = null; // a dead stream would freeze on its last frame
          this.render('lost', `Connection lost: ${reason}.`);
        },
        onServerInfo: (info) => {
          this.lastServer = info;
        },
        onServerError: (message) => this.flash(`Server refused the change: ${message}`),
        onChannelRtt: (ms) => {
          this.channelRtt = ms;
        },
      }, this.signallingSel.value === 'whip' ? 'whip' : 'offer');
      if (gen !== this.generation) {
        session.close();
        return;
      }
      this.session = session;
      this.sampler = new RtcStatsSampler(session.pc, session.viewerPc ?? session.pc);
      this.startStats();
    } catch (e) {
      if (gen !== this.generation) return;
      if (e instanceof ApiRequestError && (e.atCapacity || e.retryable)) {
        this.capacityCountdown(e.retryAfterS ?? DEFAULT_RETRY_S, gen, e.code);
      } else {
        const msg = e instanceof ApiRequestError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
        this.render('error', `Could not connect: ${msg}`);
      }
    }
  }

  /** End the session and release the camera. */
  stop(): void {
    this.generation++;
    this.teardownSession();
    this.source?.stop();
    this.source = null;
    this.camera?.getTracks().forEach((t) => t.stop());
    this.camera = null;
    this.cameraVideo.srcObject = null;
    this.render('idle', 'Stopped. Press Start camera to go again.');
  }

  /** The server said "later" (503 AT_CAPACITY or DRAINING, 429): count down its Retry-After, then offer again. */
  private capacityCountdown(seconds: number, gen: number, code: string): void {
    let left = Math.max(1, Math.ceil(seconds));
    const why = code === 'DRAINING'
      ? 'The server is shutting down (draining) and takes no new sessions.'
      : code === 'TOO_MANY_REQUESTS'
        ? 'Too many requests from this browser for now.'
        : 'The server is at capacity (all session slots are in use).';
    const tick = () => {
      if (gen !== this.generation) return;
      if (left <= 0) {
        void this.connect();
        return;
      }
      this.render('capacity', `${why} Trying again in ${left} s…`);
      left--;
      this.countdownTimer = window.setTimeout(tick, 1000);
    };
    tick();
  }

  /** Grey out the parameters the chosen filter ignores (iterations: blur, sharpen; style: anonymize). */
  private dimUnused(s: LiveSettings): void {
    this.iterInput.closest('label')?.classList.toggle('is-dimmed', s.filter !== 'blur' && s.filter !== 'sharpen');
    this.styleSel.closest('label')?.classList.toggle('is-dimmed', s.filter !== 'anonymize');
  }

  private applySettings(): void {
    const s = this.settings();
    this.dimUnused(s);
    if (this.session && this.state === 'live') {
      if (!this.session.set(s)) this.flash('Not connected: the change applies when you reconnect.');
    }
  }

  private showRemote(stream: MediaStream): void {
    this.remoteVideo.srcObject = stream;
    void this.remoteVideo.play().catch(() => undefined);
    this.reader?.stop();
    const source = this.source;
    this.reader = new StampReader(this.remoteVideo, (c) => source?.drawnAtMs(c) ?? Number.NaN, (r) => {
      this.readings.push(r.roundTripMs);
    });
  }

  private teardownSession(): void {
    clearTimeout(this.countdownTimer);
    this.stopStats();
    this.reader?.stop();
    this.reader = null;
    this.session?.close();
    this.session = null;
    this.remoteVideo.srcObject = null;
    this.channelRtt = null;
    this.lastServer = null;
    this.readings = [];
    this.minuteReadings = [];
    this.latency.clear();
  }

  private startStats(): void {
    this.stopStats();
    this.statsTimer = window.setInterval(() => void this.tickStats(), 1000);
  }

  private stopStats(): void {
    clearInterval(this.statsTimer);
    this.statsTimer = 0;
  }

  private async tickStats(): Promise<void> {
    if (!this.sampler) return;
    const rtc = await this.sampler.sample().catch(() => null);
    if (!rtc) return;
    this.lastRtc = rtc;
    const now = Date.now();
    const second = this.readings.splice(0);
    for (const ms of second) this.minuteReadings.push({ t: now, ms });
    this.minuteReadings = this.minuteReadings.filter((r) => r.t >= now - 60_000);
    const frameRtt = percentile(second, 50);
    const minute = this.minuteReadings.map((r) => r.ms);
    const srv = this.lastServer;
    this.latency.push({ t: now, frameRttMs: frameRtt, serverMs: srv?.processingMs.p50 ?? null, channelRttMs: this.channelRtt });
    const reader = this.reader;
    const readable = reader && reader.framesSeen > 0 ? Math.round((100 * reader.framesRead) / reader.framesSeen) : null;
    const size = (w: number | null, hh: number | null) => (w && hh ? `${w}×${hh}` : '–');
    this.setStat('fps', `${rtc.fpsSent?.toFixed(1) ?? '–'} / ${rtc.fpsReceived?.toFixed(1) ?? '–'}`);
    this.setStat('frame-rtt', frameRtt === null ? (readable === 0 ? 'stamps unreadable' : '–') : `${fmtMs(frameRtt)} ms`);
    this.setStat('frame-rtt-p95', minute.length > 0 ? `${fmtMs(percentile(minute, 95))} ms` : '–');
    this.setStat('server-ms', srv ? `${fmtMs(srv.processingMs.p50)} / ${fmtMs(srv.processingMs.p95)} ms` : '–');
    this.setStat('server-latency', srv ? `${fmtMs(srv.serverLatencyMs.p50)} ms` : '–');
    this.setStat('channel-rtt', this.channelRtt === null ? '–' : `${fmtMs(this.channelRtt)} ms`);
    this.setStat('jitter', rtc.jitterBufferMs === null ? '–' : `${fmtMs(rtc.jitterBufferMs)} ms`);
    this.setStat('resolution', `${size(rtc.sentWidth, rtc.sentHeight)} → ${size(rtc.receivedWidth, rtc.receivedHeight)}`);
    this.setStat('codec', rtc.codec ?? srv?.codec ?? '–');
    this.setStat('loss', rtc.lossPercent === null ? '–' : `${rtc.lossPercent.toFixed(1)} % (${rtc.packetsLost} total)`);
    const param = srv?.filter === 'blur' || srv?.filter === 'sharpen' ? ` x${srv.iterations}` : srv?.filter === 'anonymize' && srv.style ? ` (${srv.style})` : '';
    this.setStat('backend', srv ? `${srv.activeBackend} · ${srv.filter}${param}` : '–');
    this.setStat('dropped', srv ? `${srv.framesDropped} of ${srv.framesReceived}` : '–');
    this.setStat('stamps', readable === null ? '–' : `${readable} %`);
    // Face filters: what the detector found beside the video, and how often it failed closed.
    const faces = srv?.faces ?? null;
    this.setStat('faces', faces ? `${faces.lastFrame} · ${faces.detectionAgeMs === null ? 'none yet' : `${fmtMs(faces.detectionAgeMs)} ms`}` : '–');
    this.setStat('faces-whole', faces ? `${faces.framesCoveredWhole} of ${srv?.framesSent ?? 0}` : '–');
  }

  private setStat(key: string, text: string): void {
    const el = this.root.querySelector<HTMLElement>(`[data-stat="${key}"]`);
    if (el) el.textContent = text;
  }

  private flash(text: string): void {
    const note = byId('live-note', HTMLParagraphElement);
    note.textContent = text;
    window.setTimeout(() => {
      if (note.textContent === text) note.textContent = '';
    }, 6000);
  }

  private render(state: LiveState, message: string): void {
    this.state = state;
    this.root.dataset.state = state;
    this.banner.dataset.state = state;
    this.banner.textContent = message;
    const hasCamera = this.camera !== null;
    const busy = state === 'starting-camera' || state === 'connecting';
    this.startBtn.hidden = hasCamera && state !== 'camera-denied' && state !== 'camera-missing';
    this.startBtn.disabled = busy;
    this.stopBtn.hidden = !hasCamera;
    this.reconnectBtn.hidden = !(hasCamera && (state === 'lost' || state === 'error' || state === 'capacity'));
    this.reconnectBtn.textContent = state === 'capacity' ? 'Retry now' : 'Reconnect';
    this.sizeSel.disabled = hasCamera;
    // Figures only mean something once a session was attempted.
    this.metrics.hidden = !(state === 'connecting' || state === 'live' || state === 'lost' || state === 'capacity' || (state === 'error' && hasCamera));
  }
}
