/**
 * Reading request parameters (query strings, JSON bodies) into typed values, with ApiError
 * messages that name the parameter and the accepted range.
 */
import { makeFilterSpec } from '../processing/filter-spec.js';
import type { FilterSpec } from '../processing/types.js';
import type { AnonymizeStyle } from '../protocol/index.js';
import { parseBackendChoice } from '../media/session.js';
import type { ServingBackend } from '../processing/backend-registry.js';
import { ApiError } from './errors.js';

/** A query string or JSON object as fastify hands it over. */
export type Params = Record<string, unknown>;

/** Read `params` as a plain object (a JSON body may be anything). */
export function asParams(value: unknown, what: string): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('INVALID_PARAMETER', `${what} must be a JSON object`);
  }
  return value as Params;
}

/** An integer parameter within [min, max], `def` when absent. */
export function intParam(params: Params, name: string, def: number, min: number, max: number): number {
  const raw = params[name];
  if (raw === undefined || raw === '') return def;
  const v = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ApiError('INVALID_PARAMETER', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/**
 * The filter named by `filter` (or aiortc's `video_transform`) with `iterations` and `style`
 * (`defStyle` when absent: the server's RTC_FACES_STYLE); throws FilterSpecError (mapped in
 * domain-errors.ts).
 */
export function filterParam(params: Params, defName: string, defIterations: number, defStyle?: AnonymizeStyle): FilterSpec {
  const style = params.style === undefined || params.style === '' ? defStyle : params.style;
  return makeFilterSpec(params.filter ?? params.video_transform ?? defName, params.iterations ?? defIterations, style);
}

/** The backend asked for (auto, cpu, gpu); throws SessionSettingsError (mapped in domain-errors.ts). */
export function backendParam(params: Params): ServingBackend {
  return parseBackendChoice(params.backend ?? 'auto');
}

/** Width and height within the server's limits on dimension and pixel count. */
export function sizeParams(
  params: Params, defaults: { width: number; height: number }, limits: { maxDimension: number; maxPixels: number },
): { width: number; height: number } {
  const width = intParam(params, 'width', defaults.width, 1, limits.maxDimension);
  const height = intParam(params, 'height', defaults.height, 1, limits.maxDimension);
  if (width * height > limits.maxPixels) {
    throw new ApiError('INVALID_PARAMETER', `width x height must be at most ${limits.maxPixels} pixels, got ${width}x${height}`);
  }
  return { width, height };
}
