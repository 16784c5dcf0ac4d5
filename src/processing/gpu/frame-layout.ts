/**
 * Geometry of one frame size on the GPU: buffer sizes, the Params uniform and the dispatch grid
 * of the kernels in kernels-wgsl.ts.
 */
import { i420Planes, i420Size } from '../types.js';
import { I420_WORKGROUP, PARAMS_BYTES, ParamIndex, RGBA_WORKGROUP, TILE } from './kernels-wgsl.js';

/** The most workgroups per grid dimension every WebGPU device accepts. */
const MAX_GROUPS_PER_DIM = 65535;

export type LayoutKind = 'i420' | 'rgba';

/** Everything that depends only on (kind, width, height). */
export interface FrameLayout {
  readonly key: string;
  readonly kind: LayoutKind;
  readonly width: number;
  readonly height: number;
  /** Bytes of the frame on the host. */
  readonly bytes: number;
  /** Bytes of the GPU buffers: `bytes` rounded up to whole u32 words. */
  readonly paddedBytes: number;
  /** Workgroups to dispatch in x and y. */
  readonly groups: readonly [number, number];
  /** Workgroups of the fused RGBA blur kernel (one per TILE x TILE block). */
  readonly tileGroups: readonly [number, number];
  /** Contents of the Params uniform. */
  readonly params: Uint32Array;
}

/** Compute the layout of a frame of the given kind and size. */
export function frameLayout(kind: LayoutKind, width: number, height: number): FrameLayout {
  const params = new Uint32Array(PARAMS_BYTES / 4);
  params[ParamIndex.width] = width;
  params[ParamIndex.height] = height;
  let bytes: number;
  let groups: [number, number];
  if (kind === 'rgba') {
    bytes = width * height * 4;
    groups = [Math.ceil(width / RGBA_WORKGROUP), Math.ceil(height / RGBA_WORKGROUP)];
  } else {
    bytes = i420Size(width, height);
    const planes = i420Planes(width, height);
    params[ParamIndex.cw] = planes.u.width;
    params[ParamIndex.ch] = planes.u.height;
    params[ParamIndex.uOffset] = planes.u.offset;
    params[ParamIndex.vOffset] = planes.v.offset;
    params[ParamIndex.total] = bytes;
    // One invocation per output word; fold the 1D grid into 2D when it exceeds one dimension.
    const totalGroups = Math.ceil(Math.ceil(bytes / 4) / I420_WORKGROUP);
    const gx = Math.min(totalGroups, MAX_GROUPS_PER_DIM);
    groups = [gx, Math.ceil(totalGroups / gx)];
    params[ParamIndex.rowInvocations] = gx * I420_WORKGROUP;
  }
  if (groups[0] > MAX_GROUPS_PER_DIM || groups[1] > MAX_GROUPS_PER_DIM) {
    throw new RangeError(`frame ${width}x${height} is too large for one dispatch`);
  }
  const tileGroups: [number, number] = [Math.ceil(width / TILE), Math.ceil(height / TILE)];
  return { key: `${kind}:${width}x${height}`, kind, width, height, bytes, paddedBytes: Math.ceil(bytes / 4) * 4, groups, tileGroups, params };
}
