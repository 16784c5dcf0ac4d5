/**
 * PLACEHOLDER — being replaced by the WebGPU backend.
 */
import type { FilterSpec, FrameProcessor, I420Frame, ProcessTimings, RgbaImage } from '../types.js';

export interface GpuProcessorOptions {
  /** Accept software adapters (lavapipe, SwiftShader, isFallbackAdapter). */
  allowSoftware: boolean;
  /** Options for webgpu's create(), e.g. ["backend=opengles"]. */
  dawnOptions: string[];
}

/** No usable GPU adapter: the message says why (no adapter, software only, device creation failed). */
export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

export class GpuProcessor implements FrameProcessor {
  readonly name = 'gpu' as const;
  readonly device = 'none';
  static async create(_options: GpuProcessorOptions): Promise<GpuProcessor> {
    throw new GpuUnavailableError('GPU backend not built yet');
  }
  /** Register a listener for device loss; called once with the reason. */
  onDeviceLost(_listener: (reason: string) => void): void {}
  /** Fraction of wall time with GPU work in flight since the previous call. */
  takeBusyRatio(): number {
    return 0;
  }
  async processI420(_f: I420Frame, _s: FilterSpec, _o: Uint8Array): Promise<ProcessTimings> {
    throw new GpuUnavailableError('GPU backend not built yet');
  }
  async processRgba(_i: RgbaImage, _s: FilterSpec, _o: Uint8Array): Promise<ProcessTimings> {
    throw new GpuUnavailableError('GPU backend not built yet');
  }
  async close(): Promise<void> {}
}
