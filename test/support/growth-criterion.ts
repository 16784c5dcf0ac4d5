/**
 * The soak test's pass/fail rule for one series (descriptors, threads, RSS, heap) over one
 * phase: does it grow without bound? Kept apart from soak.ts so that a unit test in CI shows
 * it catches a steady leak and lets a noisy but flat series through.
 *
 * A series grows without bound when BOTH
 *   - its least-squares slope over the phase's second half, projected over the whole phase,
 *     is above `growth` (series units), and
 *   - its last value is above its plateau times `factor`; the plateau is the median of the
 *     values from 10 % to 30 % of the phase (after warm-up: libwebrtc starting its threads,
 *     V8 and malloc growing their heaps).
 * A real leak does both; noise, or a one-off step during warm-up, does at most one.
 */

/** What one series may do before it counts as growing without bound. */
export interface Allowance {
  /** Projected growth over a phase that is still fine (series units). */
  growth: number;
  /** Last value over the plateau that is still fine. */
  factor: number;
  /** Idle-to-idle difference that is still fine (descriptors and threads only). */
  idle?: number;
}

export const SERIES = ['fds', 'threads', 'rssMb', 'heapMb'] as const;
export type SeriesName = (typeof SERIES)[number];

/**
 * The soak's allowances. Over the default 1000 cycles, one descriptor or thread leaked per 100
 * cycles fails (the idle check), one per 50 fails the slope too; 100 kB of RSS per cycle fails.
 */
export const ALLOWANCES: Record<SeriesName, Allowance> = {
  fds: { growth: 16, factor: 1.15, idle: 8 },
  threads: { growth: 6, factor: 1.15, idle: 6 },
  rssMb: { growth: 96, factor: 1.3 },
  heapMb: { growth: 48, factor: 1.5 },
};

/** One point of a series: x is the cycle count or the time. */
export interface Point {
  x: number;
  y: number;
}

/** The verdict on one series, with the figures it rests on. */
export interface SeriesVerdict {
  first: number;
  plateau: number;
  middle: number;
  last: number;
  /** Slope over the second half, projected over the phase (series units). */
  projectedGrowth: number;
  unbounded: boolean;
}

/** Median of the values (NaN when empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Least-squares slope of the points (0 with fewer than two distinct x). */
export function slope(points: Point[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Apply the criterion to a series (in x order); null with fewer than 6 points. */
export function judgeSeries(points: Point[], allowance: Allowance): SeriesVerdict | null {
  if (points.length < 6) return null;
  const x0 = points[0]!.x;
  const span = points[points.length - 1]!.x - x0;
  const at = (frac: number): number => x0 + span * frac;
  const plateau = median(points.filter((p) => p.x >= at(0.1) && p.x <= at(0.3)).map((p) => p.y));
  const projectedGrowth = slope(points.filter((p) => p.x >= at(0.5))) * span;
  const last = points[points.length - 1]!.y;
  return {
    first: points[0]!.y,
    plateau,
    middle: points[Math.floor(points.length / 2)]!.y,
    last,
    projectedGrowth: Math.round(projectedGrowth * 10) / 10,
    unbounded: projectedGrowth > allowance.growth && last > plateau * allowance.factor,
  };
}
