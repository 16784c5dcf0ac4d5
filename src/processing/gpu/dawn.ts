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

/**
 * One Dawn instance per set of options, kept for the life of the process. Letting an instance be
 * garbage-collected soon after one of its devices was destroyed crashes dawn.node 0.6.2 (SIGSEGV,
 * "futex facility returned an unexpected error code", reproduced here in 8 of 8 runs); an instance
 * whose devices are all destroyed does not keep the process from exiting, so holding it is free.
 */
const instances = new Map<string, DawnGpu>();

/** The Dawn instance for these command-line style options (e.g. "backend=opengles"). */
export function createDawn(options: readonly string[]): DawnGpu {
  const key = options.join('\n');
  let gpu = instances.get(key);
  if (!gpu) {
    gpu = create([...options]);
    instances.set(key, gpu);
  }
  return gpu;
}
