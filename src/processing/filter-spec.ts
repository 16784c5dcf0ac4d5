/**
 * Parsing and validation of filter requests, shared by the HTTP routes, the data channel and
 * the processors. The exact arithmetic of each filter is documented in reference/kernels.ts.
 */
import { FILTER_NAMES, type FilterName, type FilterSpec } from './types.js';

/** The most iterations any request may ask for: bounds the work of one call. */
export const MAX_ITERATIONS = 50;

/** True when `name` is a filter every backend implements. */
export function isFilterName(name: unknown): name is FilterName {
  return typeof name === 'string' && (FILTER_NAMES as readonly string[]).includes(name);
}

/** True when the filter's output depends on `iterations`. */
export function isIterated(name: FilterName): boolean {
  return name === 'blur' || name === 'sharpen';
}

/** Build a FilterSpec; throws RangeError with a readable message on a bad name or count. */
export function makeFilterSpec(name: unknown, iterations: unknown = 1): FilterSpec {
  if (!isFilterName(name)) {
    throw new RangeError(`unknown filter ${JSON.stringify(name)}; expected one of ${FILTER_NAMES.join(', ')}`);
  }
  const n = typeof iterations === 'string' && iterations.trim() !== '' ? Number(iterations) : iterations;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer from 1 to ${MAX_ITERATIONS}, got ${JSON.stringify(iterations)}`);
  }
  return { name, iterations: n };
}
