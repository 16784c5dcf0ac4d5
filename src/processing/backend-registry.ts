/**
 * Creates the processing backends at start, picks the default one (RTC_BACKEND), and answers
 * "which processor runs this request" — falling back to CPU when the GPU is gone.
 */
import { CpuProcessor } from './cpu/cpu-processor.js';
import type { BackendChoice as BackendChoiceName } from '../protocol/index.js';
import { GpuProcessor } from './gpu/gpu-processor.js';
import type { BackendInfo, BackendName } from '../protocol/index.js';
import type { FrameProcessor } from './types.js';
import { FaceDetector, type FaceDetectorOptions, type OnnxProvider } from './faces/face-detector.js';
import { DEFAULT_GUARD_SETTINGS, FaceGuard, type FaceFilterMode, type FaceGuardSettings } from './faces/face-guard.js';

export interface BackendRegistryOptions {
  /** The default backend: auto picks gpu when a usable adapter exists, else cpu. */
  backend: ServingBackend;
  cpuWorkers: number;
  gpuAllowSoftware: boolean;
  gpuDawnOptions: string[];
  /** Face detector tuning (the anonymize and faces filters); defaults when absent. */
  faces?: Partial<FaceDetectorOptions>;
  /** How face filters cover faces and when they fail closed; defaults when absent. */
  faceGuard?: Partial<FaceGuardSettings>;
  /** How a crashed face detector is restarted; DEFAULT_DETECTOR_RESTART when absent (tests shorten it). */
  detectorRestart?: Partial<DetectorRestartPolicy>;
  /** Called when a crashed face detector is restarted (the restarts metric). */
  onDetectorRestart?: (provider: OnnxProvider) => void;
  /** Called when something changes that operators must see (GPU missing, lost). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/**
 * Restarting a face detector whose worker died: after `baseDelayMs`, doubling with each restart
 * of the last minute up to `maxDelayMs`, and at most `maxPerMinute` in any minute (a model that
 * kills its worker on every frame must not spin up a worker after worker). Until the new one is
 * loaded, detection on that provider is absent: sessions fail closed (whole frames), and a lost
 * WebGPU detector hands detection to the CPU one.
 */
export interface DetectorRestartPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  maxPerMinute: number;
}

/** The restart policy of a server (docs/processing-backends.md). */
export const DEFAULT_DETECTOR_RESTART: DetectorRestartPolicy = { baseDelayMs: 500, maxDelayMs: 30_000, maxPerMinute: 5 };

/** A face detector slot: loading (a promise) or loaded; `ready` is null while loading, after a failed load and after a crash. */
interface DetectorEntry {
  ready: FaceDetector | null;
  loading: Promise<FaceDetector | null>;
}

/** Backends a server runs; the reference is for tests only (it blocks the event loop). */
/** What the registry serves: the protocol's backend choices (auto, gpu, cpu). */
export type ServingBackend = BackendChoiceName;

/** What /backends reports of one backend: the protocol's BackendInfo. */
export type BackendStatus = BackendInfo;

/** A backend asked for by name is not available here. */
export class BackendUnavailableError extends Error {
  constructor(readonly backend: BackendName, readonly reason: string) {
    super(`backend ${backend} is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/** The set of live processors of one server. */
export class BackendRegistry {
  private readonly processors = new Map<BackendName, FrameProcessor>();
  private readonly reasons = new Map<BackendName, string>();
  private defaultName: BackendName = 'cpu';
  private gpu: GpuProcessor | null = null;
  private readonly lostListeners: Array<(reason: string) => void> = [];
  /** Face detectors by provider: loading (a promise) or loaded; created on first use. */
  private readonly detectors = new Map<OnnxProvider, DetectorEntry>();
  private readonly detectorReasons = new Map<OnnxProvider, string>();
  private restartPolicy: DetectorRestartPolicy = DEFAULT_DETECTOR_RESTART;
  private onDetectorRestart: (provider: OnnxProvider) => void = () => {};
  /** Per provider: when its detector was restarted within the last minute (at most maxPerMinute entries). */
  private readonly restarts = new Map<OnnxProvider, number[]>();
  private readonly restartTimers = new Map<OnnxProvider, NodeJS.Timeout>();
  /** Restarts done since start, per provider (tests, logs). */
  readonly detectorRestarts = new Map<OnnxProvider, number>();
  private faceOptions: Partial<FaceDetectorOptions> = {};
  private guardSettings: FaceGuardSettings = DEFAULT_GUARD_SETTINGS;
  private closed = false;

  private constructor(readonly requested: ServingBackend, private readonly log: NonNullable<BackendRegistryOptions['log']>) {}

  /** Create every backend that can run here. Throws when the requested backend cannot. */
  static async create(options: BackendRegistryOptions): Promise<BackendRegistry> {
    const log = options.log ?? (() => {});
    const reg = new BackendRegistry(options.backend, log);
    reg.faceOptions = options.faces ?? {};
    reg.guardSettings = { ...DEFAULT_GUARD_SETTINGS, ...options.faceGuard };
    reg.restartPolicy = { ...DEFAULT_DETECTOR_RESTART, ...options.detectorRestart };
    if (options.onDetectorRestart) reg.onDetectorRestart = options.onDetectorRestart;
    reg.processors.set('cpu', await CpuProcessor.create({ workers: options.cpuWorkers }));

    if (options.backend !== 'cpu') {
      try {
        const gpu = await GpuProcessor.create({ allowSoftware: options.gpuAllowSoftware, dawnOptions: options.gpuDawnOptions });
        reg.gpu = gpu;
        reg.processors.set('gpu', gpu);
        gpu.onDeviceLost((reason) => reg.handleGpuLost(reason));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        reg.reasons.set('gpu', reason);
        if (options.backend === 'gpu') {
          await reg.close();
          throw new BackendUnavailableError('gpu', reason);
        }
        log('info', `no usable GPU (${reason}); processing on CPU`);
      }
    } else {
      reg.reasons.set('gpu', `not started (RTC_BACKEND=${options.backend})`);
    }

    reg.defaultName = options.backend === 'auto' ? (reg.processors.has('gpu') ? 'gpu' : 'cpu') : options.backend;
    return reg;
  }

  /** The backend used when a request does not name one (or names auto). */
  get defaultBackend(): BackendName {
    return this.processors.has(this.defaultName) ? this.defaultName : 'cpu';
  }

  /** The GPU processor, when one is running. */
  /** Fraction of wall time the GPU had work in flight since the last call (0 without a GPU). */
  takeGpuBusyRatio(): number {
    return this.gpu ? this.gpu.takeBusyRatio() : 0;
  }

  /** The processor for an explicit request: throws BackendUnavailableError when it is not running. */
  get(choice: ServingBackend): FrameProcessor {
    const name = choice === 'auto' ? this.defaultBackend : choice;
    const p = this.processors.get(name);
    if (!p) throw new BackendUnavailableError(name, this.reasons.get(name) ?? 'not available');
    return p;
  }

  /** The processor for a live session: the one asked for if it runs, else CPU (never throws). */
  getWithFallback(choice: ServingBackend): FrameProcessor {
    const name = choice === 'auto' ? this.defaultBackend : choice;
    return this.processors.get(name) ?? this.processors.get('cpu')!;
  }

  /** Whether a backend runs now. */
  has(name: BackendName): boolean {
    return this.processors.has(name);
  }

  /** Status of every backend, for /backends and /healthz. */
  list(): BackendStatus[] {
    const names: BackendName[] = ['gpu', 'cpu'];
    return names.map((name) => {
      const p = this.processors.get(name);
      return {
        name,
        available: p !== undefined,
        device: p?.device ?? null,
        reason: p ? null : this.reasons.get(name) ?? 'not available',
        isDefault: name === this.defaultBackend,
      };
    });
  }

  /**
   * The face detector for a backend, when loaded: the WebGPU provider for gpu (while the GPU
   * backend runs and its detector loaded), else the CPU provider. Starts loading on first call;
   * returns null while nothing is loaded yet or loading failed (the caller fails closed).
   */
  faceDetector(backend: BackendName): FaceDetector | null {
    if (backend === 'gpu' && this.processors.has('gpu')) {
      const gpu = this.loadDetector('webgpu');
      if (gpu.ready) return gpu.ready;
    }
    return this.loadDetector('cpu').ready;
  }

  /**
   * A face filter for one stream, detecting on the backend `backendOf()` names at each detection
   * (so a session switched to CPU, or a GPU lost, moves its detection too).
   */
  createFaceGuard(mode: FaceFilterMode, backendOf: () => BackendName, settings: Partial<FaceGuardSettings> = {}, detector?: FaceDetector | null): FaceGuard {
    const source = detector !== undefined ? () => detector : () => this.faceDetector(backendOf());
    return new FaceGuard(mode, source, { ...this.guardSettings, ...settings });
  }

  /**
   * The face detector for a backend, waiting for it to load (/process); null when none can run,
   * or while a crashed one waits for its restart (the caller fails closed).
   */
  async faceDetectorReady(backend: BackendName): Promise<FaceDetector | null> {
    const working = (d: FaceDetector | null): FaceDetector | null => (d && d.broken === null ? d : null);
    if (backend === 'gpu' && this.processors.has('gpu')) {
      const gpu = working(await this.loadDetector('webgpu').loading);
      if (gpu) return gpu;
    }
    return working(await this.loadDetector('cpu').loading);
  }

  /** Providers whose detector loaded, and why the others did not (for /backends and logs). */
  faceDetectorStatus(): Array<{ provider: OnnxProvider; loaded: boolean; reason: string | null }> {
    return (['webgpu', 'cpu'] as const).map((provider) => ({
      provider, loaded: this.detectors.get(provider)?.ready != null, reason: this.detectorReasons.get(provider) ?? null,
    }));
  }

  private loadDetector(provider: OnnxProvider, restart = false): DetectorEntry {
    let entry = this.detectors.get(provider);
    if (entry) return entry;
    const e: DetectorEntry = { ready: null, loading: Promise.resolve(null) };
    const options = { ...this.faceOptions, onBroken: (_p: OnnxProvider, why: string) => this.detectorBroken(provider, e, why) };
    e.loading = FaceDetector.create(provider, options).then(
      async (d) => {
        // Closed or GPU lost while loading: this detector is not wanted any more.
        if (this.closed || this.detectors.get(provider) !== e) {
          await d.close();
          return null;
        }
        e.ready = d;
        this.detectorReasons.delete(provider);
        this.log('info', `face detector ${restart ? 're' : ''}loaded on ${provider}`);
        return d;
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.detectorReasons.set(provider, reason);
        this.log(provider === 'cpu' ? 'error' : 'warn', `face detector on ${provider} failed to load (${reason}); ${provider === 'cpu' ? 'face filters cover whole frames' : 'detecting on CPU'}`);
        // A restart that fails to load is tried again, within the same bounds; a first load is not
        // (the model or the provider cannot run here).
        if (restart && !this.closed && this.detectors.get(provider) === e) this.scheduleRestart(provider, e);
        return null;
      },
    );
    entry = e;
    this.detectors.set(provider, entry);
    return entry;
  }

  /** The worker of `entry`'s detector died: detection there is absent until a restart replaces it. */
  private detectorBroken(provider: OnnxProvider, entry: DetectorEntry, why: string): void {
    if (this.closed || this.detectors.get(provider) !== entry) return;
    entry.ready = null;
    this.detectorReasons.set(provider, `crashed: ${why}`);
    this.log('error', `face detector on ${provider} crashed (${why}); ${provider === 'cpu' ? 'face filters cover whole frames' : 'detecting on CPU'} until it is restarted`);
    this.scheduleRestart(provider, entry);
  }

  /** Replace `entry`'s detector after the backoff, within maxPerMinute restarts a minute. */
  private scheduleRestart(provider: OnnxProvider, entry: DetectorEntry): void {
    if (this.restartTimers.has(provider)) return;
    const now = Date.now();
    const recent = (this.restarts.get(provider) ?? []).filter((t) => now - t < 60_000);
    this.restarts.set(provider, recent);
    const { baseDelayMs, maxDelayMs, maxPerMinute } = this.restartPolicy;
    let delay = Math.min(maxDelayMs, baseDelayMs * 2 ** recent.length);
    // At the limit: wait until the oldest restart of the minute leaves the window.
    if (recent.length >= maxPerMinute) {
      delay = Math.max(delay, recent[0]! + 60_000 - now);
      this.log('warn', `face detector on ${provider}: ${recent.length} restarts in the last minute; the next in ${Math.round(delay / 1000)} s`);
    }
    const timer = setTimeout(() => {
      this.restartTimers.delete(provider);
      if (this.closed || this.detectors.get(provider) !== entry) return;
      recent.push(Date.now());
      this.detectorRestarts.set(provider, (this.detectorRestarts.get(provider) ?? 0) + 1);
      this.onDetectorRestart(provider);
      this.log('info', `restarting the face detector on ${provider} (restart ${recent.length} in the last minute)`);
      this.detectors.delete(provider);
      void entry.loading.then((d) => d?.close()).catch(() => {});
      this.loadDetector(provider, true);
    }, delay);
    timer.unref();
    this.restartTimers.set(provider, timer);
  }

  /** Listen for the GPU going away (sessions then continue on CPU). */
  onGpuLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  private handleGpuLost(reason: string): void {
    if (!this.gpu) return;
    this.processors.delete('gpu');
    this.reasons.set('gpu', `device lost: ${reason}`);
    const lost = this.gpu;
    this.gpu = null;
    this.log('error', `GPU device lost (${reason}); continuing on CPU`);
    void lost.close().catch(() => {});
    const gpuDetector = this.detectors.get('webgpu');
    this.detectors.delete('webgpu');
    this.detectorReasons.set('webgpu', `device lost: ${reason}`);
    void gpuDetector?.loading.then((d) => d?.close()).catch(() => {});
    for (const l of this.lostListeners) l(reason);
  }

  /** Close every processor. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
    const all = [...this.processors.values()];
    this.processors.clear();
    this.gpu = null;
    const detectors = [...this.detectors.values()];
    this.detectors.clear();
    await Promise.allSettled([
      ...all.map((p) => p.close()),
      ...detectors.map(async (d) => (await d.loading)?.close()),
    ]);
  }
}
