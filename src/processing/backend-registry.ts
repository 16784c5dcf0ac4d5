/**
 * Creates the processing backends at start, picks the default one (RTC_BACKEND), and answers
 * "which processor runs this request" — falling back to CPU when the GPU is gone.
 */
import { CpuProcessor } from './cpu/cpu-processor.js';
import type { BackendChoice as BackendChoiceName } from '../protocol/index.js';
import { GpuProcessor } from './gpu/gpu-processor.js';
import type { BackendInfo, BackendName } from '../protocol/index.js';
import type { FrameProcessor } from './types.js';

export interface BackendRegistryOptions {
  /** The default backend: auto picks gpu when a usable adapter exists, else cpu. */
  backend: ServingBackend;
  cpuWorkers: number;
  gpuAllowSoftware: boolean;
  gpuDawnOptions: string[];
  /** Called when something changes that operators must see (GPU missing, lost). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
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

  private constructor(readonly requested: ServingBackend, private readonly log: NonNullable<BackendRegistryOptions['log']>) {}

  /** Create every backend that can run here. Throws when the requested backend cannot. */
  static async create(options: BackendRegistryOptions): Promise<BackendRegistry> {
    const log = options.log ?? (() => {});
    const reg = new BackendRegistry(options.backend, log);
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
    for (const l of this.lostListeners) l(reason);
  }

  /** Close every processor. */
  async close(): Promise<void> {
    const all = [...this.processors.values()];
    this.processors.clear();
    this.gpu = null;
    await Promise.allSettled(all.map((p) => p.close()));
  }
}
