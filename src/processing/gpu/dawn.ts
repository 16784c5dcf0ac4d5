/**
 * The one typed doorway to the `webgpu` npm package (Dawn for Node). Its own typings declare
 * `globals` as `Object` and rely on browser-only globals (GPUBufferUsage, GPUMapMode) that Node
 * does not define, so the constants the backend needs are spelled out here from the spec.
 */
import { create } from 'webgpu';

/** GPUBufferUsage flags (WebGPU spec values; fixed by the standard). */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;

/** GPUMapMode flags (WebGPU spec values). */
export const MapMode = { READ: 0x0001 } as const;

/** The navigator.gpu-like entry object of Dawn; the process stays alive while it is referenced. */
export type DawnGpu = GPU;

/** Start Dawn with its command-line style options (e.g. "backend=opengles"). */
export function createDawn(options: readonly string[]): DawnGpu {
  return create([...options]);
}
