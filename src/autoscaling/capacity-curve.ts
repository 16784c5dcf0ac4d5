/**
 * A pod's measured capacity and latency-versus-load curve, the simulator's model of one media
 * pod. The load generator writes it from a staircase run (one steady phase per session count);
 * the format is documented in docs/autoscaling.md:
 *
 *   {
 *     "format": "rtc-scale.capacity-curve/v1",
 *     "sample": false,                       // true for hand-made or borrowed numbers
 *     "source": "what was measured, where, with which command",
 *     "podCapacitySessions": 6,              // RTC_MAX_SESSIONS: offer n+1 gets 503
 *     "points": [                            // steady phases, ascending sessions per pod
 *       { "sessions": 1, "p95Ms": 107, "frameP95Ms": 4.1, "gpuUtilizationPercent": 9 }, ...
 *     ]
 *   }
 *
 * p95Ms is the glass-to-glass p95 a client sees at that many sessions on the pod (the objective);
 * frameP95Ms (server frame processing p95, the HPA's rtc_frame_processing_p95_seconds) and
 * gpuUtilizationPercent (DCGM) are optional: without them those HPA metrics are not simulated.
 */
import { readFileSync } from 'node:fs';

/** The format tag of version 1. */
export const CAPACITY_CURVE_FORMAT = 'rtc-scale.capacity-curve/v1';

/** One steady measurement: this many sessions on one pod. */
export interface CurvePoint {
  sessions: number;
  p95Ms: number;
  frameP95Ms?: number;
  gpuUtilizationPercent?: number;
}

/** The parsed file. */
export interface CapacityCurveFile {
  format: typeof CAPACITY_CURVE_FORMAT;
  sample: boolean;
  source: string;
  podCapacitySessions: number;
  points: CurvePoint[];
}

/** Thrown for a curve file that cannot be used. */
export class CurveError extends Error {
  override readonly name = 'CurveError';
}

/** Most points a curve may have: every input is bounded. */
export const MAX_POINTS = 1000;

type Column = 'p95Ms' | 'frameP95Ms' | 'gpuUtilizationPercent';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(v: unknown, where: string, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new CurveError(`${where} must be a number >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/** Validate a parsed curve document. */
export function parseCapacityCurve(doc: unknown): CapacityCurveFile {
  if (!isObj(doc)) throw new CurveError('a capacity curve is a JSON object');
  if (doc.format !== CAPACITY_CURVE_FORMAT) throw new CurveError(`format must be "${CAPACITY_CURVE_FORMAT}", got ${JSON.stringify(doc.format)}`);
  const cap = num(doc.podCapacitySessions, 'podCapacitySessions', 1);
  if (!Number.isInteger(cap) || cap > 10_000) throw new CurveError('podCapacitySessions must be an integer from 1 to 10000');
  if (!Array.isArray(doc.points) || doc.points.length === 0 || doc.points.length > MAX_POINTS) throw new CurveError(`points must be a list of 1 to ${MAX_POINTS} measurements`);
  const points = doc.points.map((p: unknown, i): CurvePoint => {
    if (!isObj(p)) throw new CurveError(`points[${i}] must be an object`);
    const point: CurvePoint = { sessions: num(p.sessions, `points[${i}].sessions`, 0), p95Ms: num(p.p95Ms, `points[${i}].p95Ms`, 0) };
    if (p.frameP95Ms !== undefined) point.frameP95Ms = num(p.frameP95Ms, `points[${i}].frameP95Ms`, 0);
    if (p.gpuUtilizationPercent !== undefined) point.gpuUtilizationPercent = Math.min(100, num(p.gpuUtilizationPercent, `points[${i}].gpuUtilizationPercent`, 0));
    return point;
  });
  for (let i = 1; i < points.length; i++) {
    if (!(points[i]!.sessions > points[i - 1]!.sessions)) throw new CurveError('points must have strictly ascending sessions');
  }
  for (const col of ['frameP95Ms', 'gpuUtilizationPercent'] as const) {
    const n = points.filter((p) => p[col] !== undefined).length;
    if (n !== 0 && n !== points.length) throw new CurveError(`${col} must be given for every point or for none`);
  }
  return {
    format: CAPACITY_CURVE_FORMAT, sample: doc.sample === true, source: typeof doc.source === 'string' ? doc.source : '',
    podCapacitySessions: cap, points,
  };
}

/** Read and validate a curve file. */
export function readCapacityCurve(file: string): CapacityCurveFile {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CurveError(`cannot read capacity curve ${file}: ${(err as Error).message}`);
  }
  return parseCapacityCurve(doc);
}

/** The curve as functions of the sessions on one pod. */
export class CapacityCurve {
  constructor(readonly file: CapacityCurveFile) {}

  /** RTC_MAX_SESSIONS of the measured pod. */
  get capacity(): number {
    return this.file.podCapacitySessions;
  }

  /** Whether the curve has this column. */
  has(col: Column): boolean {
    return this.file.points[0]![col] !== undefined;
  }

  /**
   * The column at `sessions`, linear between points; the first point's value below it (an idle
   * pod is no faster than a lightly loaded one), and the last segment's slope beyond the last.
   */
  at(col: Column, sessions: number): number {
    const pts = this.file.points.map((p) => [p.sessions, p[col] ?? 0] as const);
    if (pts.length === 1 || sessions <= pts[0]![0]) return pts[0]![1];
    for (let i = 1; i < pts.length; i++) {
      const [x1, y1] = pts[i]!;
      if (sessions <= x1) {
        const [x0, y0] = pts[i - 1]!;
        return y0 + ((y1 - y0) * (sessions - x0)) / (x1 - x0);
      }
    }
    const [xa, ya] = pts[pts.length - 2]!;
    const [xb, yb] = pts[pts.length - 1]!;
    const v = yb + ((yb - ya) * (sessions - xb)) / (xb - xa);
    return col === 'gpuUtilizationPercent' ? Math.min(100, Math.max(0, v)) : Math.max(0, v);
  }
}
