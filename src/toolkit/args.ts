/**
 * The command-line kit of the project's tools (the load generator, the HPA simulator, the
 * benchmarks): one UsageError and one set of parsers for numbers, durations, resolutions and
 * lists, on top of node:util's parseArgs. Every parser names the option in its refusal, so a tool
 * prints the message and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Thrown for bad command-line input; the message is meant for the user. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The values parseArgs returns, by option name. */
export type ArgValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** node:util parseArgs, strict and without positionals; its errors (unknown option, missing value) become UsageErrors. */
export function parseCommandLine(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): ArgValues {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as ArgValues;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A string option's value (undefined when absent or given as a flag). */
export function stringArg(values: ArgValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** What a number must be: an integer or any finite number, and its bounds (`positive`: above 0). */
export interface NumberRule {
  integer?: boolean;
  positive?: boolean;
  min?: number;
  max?: number;
}

function describe(rule: NumberRule): string {
  const kind = rule.integer ? 'integer' : 'number';
  if (rule.min !== undefined && rule.max !== undefined) return `${rule.integer ? 'an' : 'a'} ${kind} from ${rule.min} to ${rule.max}`;
  const base = rule.positive ? `a positive ${kind}` : rule.min === 0 ? `a non-negative ${kind}` : `${rule.integer ? 'an' : 'a'} ${kind}`;
  if (rule.min !== undefined && rule.min !== 0) return `${base} of at least ${rule.min}`;
  return rule.max !== undefined ? `${base} of at most ${rule.max}` : base;
}

function checkNumber(label: string, raw: string, rule: NumberRule): number {
  const n = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(n) && (!rule.integer || Number.isInteger(n)) && (!rule.positive || n > 0) &&
    (rule.min === undefined || n >= rule.min) && (rule.max === undefined || n <= rule.max);
  if (!ok) throw new UsageError(`${label} must be ${describe(rule)}, got ${JSON.stringify(raw)}`);
  return n;
}

/** The number an option gives (undefined when absent), or a UsageError naming `--name` and the rule. */
export function numberArg(name: string, raw: string | undefined, rule: NumberRule): number | undefined {
  return raw === undefined ? undefined : checkNumber(`--${name}`, raw, rule);
}

/** The number an environment variable gives (undefined when unset or empty), or a UsageError naming it. */
export function numberEnv(variable: string, raw: string | undefined, rule: NumberRule): number | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : checkNumber(variable, raw, rule);
}

/** Parse "30", "30s", "2m", "1h", "500ms" (or a number of seconds) into seconds; `fail` makes the error. */
export function parseDuration(value: unknown, fail: (message: string) => Error = (m) => new UsageError(m)): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw fail(`duration must be positive, got ${value}`);
    return value;
  }
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value) : null;
  if (!m) throw fail(`cannot read duration ${JSON.stringify(value)} (use 30, 30s, 2m, 1h)`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const s = Number(m[1]) * factor;
  if (s <= 0) throw fail(`duration must be positive, got ${JSON.stringify(value)}`);
  return s;
}

/** Bounds of a resolution option. */
export interface ResolutionRule {
  minWidth: number;
  minHeight: number;
  maxWidth: number;
  maxHeight: number;
  /** Both sides even (what I420 video needs). */
  even?: boolean;
}

/** Parse `WxH` within the rule's bounds, or a UsageError naming `--name`. */
export function parseResolution(name: string, raw: string, rule: ResolutionRule): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(raw.trim());
  if (!m) throw new UsageError(`--${name} must look like 640x360, got ${JSON.stringify(raw)}`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < rule.minWidth || height < rule.minHeight || width > rule.maxWidth || height > rule.maxHeight || (rule.even && (width % 2 || height % 2))) {
    throw new UsageError(`--${name} ${raw} is out of range: ${rule.even ? 'even, ' : ''}${rule.minWidth}..${rule.maxWidth} wide and ${rule.minHeight}..${rule.maxHeight} high`);
  }
  return { width, height };
}

/** Parse a comma-separated list (blanks around items ignored) of 1 to `max` items, each through `item`. */
export function parseList<T>(name: string, raw: string, item: (s: string) => T, max = 1000): T[] {
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0 || parts.length > max) throw new UsageError(`--${name} takes 1 to ${max} comma-separated values, got ${JSON.stringify(raw)}`);
  return parts.map(item);
}

/** One of the allowed values, or a UsageError naming `--name` and them. */
export function oneOfArg<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}
