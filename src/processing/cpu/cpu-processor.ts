/**
 * PLACEHOLDER — being replaced by the WASM SIMD worker-pool backend.
 */
import type { FilterSpec, FrameProcessor, I420Frame, ProcessTimings, RgbaImage } from '../types.js';
import { referenceI420, referenceRgba } from '../reference/reference-processor.js';

export interface CpuProcessorOptions {
  /** Worker threads in the pool (defaults to the core count). */
  workers: number;
}

export class CpuProcessor implements FrameProcessor {
  readonly name = 'cpu' as const;
  readonly device = 'placeholder';
  static async create(_options: CpuProcessorOptions): Promise<CpuProcessor> {
    return new CpuProcessor();
  }
  async processI420(frame: I420Frame, filter: FilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    referenceI420(frame, filter, out);
    return { upload: 0, compute: 0, download: 0, total: 0 };
  }
  async processRgba(image: RgbaImage, filter: FilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    referenceRgba(image, filter, out);
    return { upload: 0, compute: 0, download: 0, total: 0 };
  }
  async close(): Promise<void> {}
}
