/**
 * The TypeScript reference backend: slow, obvious, and the definition of correct output.
 * Every other backend is tested byte for byte against it.
 */
import { performance } from 'node:perf_hooks';
import { i420Planes, type KernelFilterSpec, type FrameProcessor, type I420Frame, type ProcessTimings, type RgbaImage } from '../types.js';
import {
  blurPlane, copyPlane, fillPlane, invertPlane, lumaOfRgba, sharpenPlane, sobelPlane, type PlaneView,
} from './kernels.js';

/** Apply `filter` to an I420 frame, synchronously. */
export function referenceI420(frame: I420Frame, filter: KernelFilterSpec, out: Uint8Array): void {
  const planes = i420Planes(frame.width, frame.height);
  const view = (buf: Uint8Array, p: { offset: number; width: number; height: number }): PlaneView =>
    ({ data: buf, offset: p.offset, width: p.width, height: p.height, stride: 1 });
  const [sy, su, sv] = [view(frame.data, planes.y), view(frame.data, planes.u), view(frame.data, planes.v)];
  const [dy, du, dv] = [view(out, planes.y), view(out, planes.u), view(out, planes.v)];
  switch (filter.name) {
    case 'none':
      out.set(frame.data.subarray(0, out.length));
      return;
    case 'invert':
      invertPlane(sy, dy); invertPlane(su, du); invertPlane(sv, dv);
      return;
    case 'grayscale':
      copyPlane(sy, dy); fillPlane(du, 128); fillPlane(dv, 128);
      return;
    case 'blur':
      blurPlane(sy, dy, filter.iterations); blurPlane(su, du, filter.iterations); blurPlane(sv, dv, filter.iterations);
      return;
    case 'edges':
      sobelPlane(sy, dy); fillPlane(du, 128); fillPlane(dv, 128);
      return;
    case 'sharpen':
      sharpenPlane(sy, dy, filter.iterations); copyPlane(su, du); copyPlane(sv, dv);
      return;
  }
}

/** Apply `filter` to an RGBA image, synchronously. */
export function referenceRgba(image: RgbaImage, filter: KernelFilterSpec, out: Uint8Array): void {
  const { width, height } = image;
  const ch = (buf: Uint8Array, c: number): PlaneView => ({ data: buf, offset: c, width, height, stride: 4 });
  const alpha = (): void => copyPlane(ch(image.data, 3), ch(out, 3));
  switch (filter.name) {
    case 'none':
      out.set(image.data.subarray(0, out.length));
      return;
    case 'invert':
      for (let c = 0; c < 3; c++) invertPlane(ch(image.data, c), ch(out, c));
      alpha();
      return;
    case 'grayscale': {
      const l = lumaOfRgba(image.data, width, height);
      for (let c = 0; c < 3; c++) copyPlane(l, ch(out, c));
      alpha();
      return;
    }
    case 'blur':
      for (let c = 0; c < 4; c++) blurPlane(ch(image.data, c), ch(out, c), filter.iterations);
      return;
    case 'edges': {
      const l = lumaOfRgba(image.data, width, height);
      const e: PlaneView = { data: new Uint8Array(width * height), offset: 0, width, height, stride: 1 };
      sobelPlane(l, e);
      for (let c = 0; c < 3; c++) copyPlane(e, ch(out, c));
      alpha();
      return;
    }
    case 'sharpen':
      for (let c = 0; c < 3; c++) sharpenPlane(ch(image.data, c), ch(out, c), filter.iterations);
      alpha();
      return;
  }
}

/** The reference backend as a FrameProcessor. */
export class ReferenceProcessor implements FrameProcessor {
  readonly name = 'reference' as const;
  readonly device = 'TypeScript reference (main thread)';

  async processI420(frame: I420Frame, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    const t0 = performance.now();
    referenceI420(frame, filter, out);
    const ms = performance.now() - t0;
    return { upload: 0, compute: ms, download: 0, total: ms };
  }

  async processRgba(image: RgbaImage, filter: KernelFilterSpec, out: Uint8Array): Promise<ProcessTimings> {
    const t0 = performance.now();
    referenceRgba(image, filter, out);
    const ms = performance.now() - t0;
    return { upload: 0, compute: ms, download: 0, total: ms };
  }

  async close(): Promise<void> {}
}
