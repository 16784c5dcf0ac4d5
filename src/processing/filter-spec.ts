/**
 * Parsing and validation of filter requests, shared by the HTTP routes, the data channel and
 * the processors. The exact arithmetic of each filter is documented in reference/kernels.ts.
 */
import { badStyleMessage, FILTER_NAMES, isAnonymizeStyle, isFaceFilter, isFilterName, MAX_ITERATIONS, type FilterName } from '../protocol/index.js';
import type { FilterSpec, KernelFilterSpec } from './types.js';

export { isFaceFilter, isFilterName, MAX_ITERATIONS };

/** True when the filter's output depends on `iterations`. */
export function isIterated(name: FilterName): boolean {
  return name === 'blur' || name === 'sharpen';
}

/** A filter request that cannot be built; `code` is the API error code it answers with. */
export class FilterSpecError extends RangeError {
  constructor(readonly code: 'UNKNOWN_FILTER' | 'INVALID_PARAMETER', message: string) {
    super(message);
    this.name = 'FilterSpecError';
  }
}

/**
 * Build a FilterSpec; throws FilterSpecError (a RangeError) with a readable message on a bad name,
 * count or style. `style` undefined leaves it out (the server's default applies).
 */
export function makeFilterSpec(name: unknown, iterations: unknown = 1, style?: unknown): FilterSpec {
  if (!isFilterName(name)) {
    throw new FilterSpecError('UNKNOWN_FILTER', `unknown filter ${JSON.stringify(name)}; expected one of ${FILTER_NAMES.join(', ')}`);
  }
  const n = typeof iterations === 'string' && iterations.trim() !== '' ? Number(iterations) : iterations;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_ITERATIONS) {
    throw new FilterSpecError('INVALID_PARAMETER', `iterations must be an integer from 1 to ${MAX_ITERATIONS}, got ${JSON.stringify(iterations)}`);
  }
  if (style !== undefined && !isAnonymizeStyle(style)) throw new FilterSpecError('INVALID_PARAMETER', badStyleMessage(style));
  return style === undefined ? { name, iterations: n } : { name, iterations: n, style };
}

/** True when a FrameProcessor runs the filter (an image kernel, not a face filter). */
export function isKernelSpec(spec: FilterSpec): spec is KernelFilterSpec {
  return !isFaceFilter(spec.name);
}

/** A FilterSpec a FrameProcessor runs; throws FilterSpecError for a face filter. */
export function kernelSpec(spec: FilterSpec): KernelFilterSpec {
  if (isKernelSpec(spec)) return spec;
  throw new FilterSpecError('INVALID_PARAMETER', `filter ${spec.name} is not an image kernel`);
}
