/**
 * Load profiles: a list of phases, each with a number of concurrent sessions and a duration.
 * A phase with `ramp: true` moves the target linearly from the previous phase's count to its own
 * over its duration; otherwise the target steps to the phase's count at its start.
 *
 * Sources: `--phases name:sessions:duration[:ramp],...`, a JSON or YAML file (`--profile`),
 * `--sessions N --duration S` (one steady phase), or the default multi-phase profile.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseDuration as parseDurationWith } from '../toolkit/args.js';

/** One phase of a load profile. */
export interface Phase {
  name: string;
  /** Concurrent sessions (WebRTC) or connections (process mode) at the end of the phase. */
  sessions: number;
  /** Seconds. */
  durationS: number;
  /** Ramp linearly from the previous phase's sessions instead of stepping. */
  ramp: boolean;
}

/** Thrown for a profile that cannot be parsed or makes no sense. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/** Longest run a profile may describe: every run is bounded. */
export const MAX_PROFILE_S = 24 * 3600;
/** Most concurrent sessions a phase may ask for. */
export const MAX_SESSIONS = 10_000;

/** Parse "30", "30s", "2m", "1h", "500ms" into seconds (the tools' one duration syntax); a ProfileError when it cannot. */
export function parseDuration(value: unknown): number {
  return parseDurationWith(value, (message) => new ProfileError(message));
}

function checkSessions(v: unknown, where: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_SESSIONS) {
    throw new ProfileError(`${where}: sessions must be an integer from 0 to ${MAX_SESSIONS}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function validate(phases: Phase[]): Phase[] {
  if (phases.length === 0) throw new ProfileError('a profile needs at least one phase');
  const total = phases.reduce((s, p) => s + p.durationS, 0);
  if (total > MAX_PROFILE_S) throw new ProfileError(`profile lasts ${total} s; the limit is ${MAX_PROFILE_S} s`);
  return phases;
}

/** Parse `name:sessions:duration[:ramp]` entries separated by commas. */
export function parsePhasesArg(arg: string): Phase[] {
  return validate(arg.split(',').map((s) => s.trim()).filter(Boolean).map((entry, i) => {
    const parts = entry.split(':');
    if (parts.length < 3 || parts.length > 4 || (parts.length === 4 && parts[3] !== 'ramp')) {
      throw new ProfileError(`phase ${i + 1} "${entry}": expected name:sessions:duration[:ramp]`);
    }
    return {
      name: parts[0] || `phase${i + 1}`,
      sessions: checkSessions(parts[1], `phase ${i + 1}`),
      durationS: parseDuration(parts[2]),
      ramp: parts[3] === 'ramp',
    };
  }));
}

/**
 * Phases from a parsed JSON/YAML document: either a list of phases or `{ phases: [...] }`, each
 * `{ name?, sessions, duration, ramp? }` (duration as seconds or "30s"; `rampTo` is not needed:
 * a ramp starts from the previous phase's sessions).
 */
export function phasesFromDocument(doc: unknown): Phase[] {
  const list = Array.isArray(doc) ? doc : (doc && typeof doc === 'object' ? (doc as { phases?: unknown }).phases : undefined);
  if (!Array.isArray(list)) throw new ProfileError('profile must be a list of phases or an object with a "phases" list');
  return validate(list.map((raw: unknown, i) => {
    if (!raw || typeof raw !== 'object') throw new ProfileError(`phase ${i + 1} must be an object`);
    const p = raw as Record<string, unknown>;
    const duration = p.duration ?? p.durationS ?? p.duration_s;
    return {
      name: typeof p.name === 'string' && p.name ? p.name : `phase${i + 1}`,
      sessions: checkSessions(p.sessions, `phase ${i + 1}`),
      durationS: parseDuration(duration),
      ramp: p.ramp === true,
    };
  }));
}

/** Read a JSON or YAML profile file (YAML is a superset of JSON, so one parser reads both). */
export function readProfileFile(path: string): Phase[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProfileError(`cannot read profile ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ProfileError(`profile ${path} is not valid JSON or YAML: ${(err as Error).message}`);
  }
  return phasesFromDocument(doc);
}

/**
 * The default "multi-phase" test: ramp up to `peak` over 20 s, hold for 40 s, spike to twice the
 * peak for 15 s, cool down to a quarter for 15 s.
 */
export function multiPhaseProfile(peak: number): Phase[] {
  return validate([
    { name: 'ramp', sessions: peak, durationS: 20, ramp: true },
    { name: 'steady', sessions: peak, durationS: 40, ramp: false },
    { name: 'spike', sessions: 2 * peak, durationS: 15, ramp: false },
    { name: 'cool-down', sessions: Math.max(1, Math.ceil(peak / 4)), durationS: 15, ramp: false },
  ]);
}

/** Total length of a profile in seconds. */
export function profileDuration(phases: readonly Phase[]): number {
  return phases.reduce((s, p) => s + p.durationS, 0);
}

/** Where in the profile time `t` (seconds from start) falls: the phase index and its target sessions. */
export function targetAt(phases: readonly Phase[], t: number): { index: number; sessions: number } | null {
  let start = 0;
  let previous = 0;
  for (let i = 0; i < phases.length; i++) {
    const p = phases[i]!;
    if (t < start + p.durationS) {
      const sessions = p.ramp
        ? Math.round(previous + ((p.sessions - previous) * (t - start)) / p.durationS)
        : p.sessions;
      return { index: i, sessions };
    }
    start += p.durationS;
    previous = p.sessions;
  }
  return null;
}
