/** The median of the numbers that are finite, rounded to `digits` decimals (null when there are none). */
export function median(values: Array<number | null | undefined>, digits = 1): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const m = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  const f = 10 ** digits;
  return Math.round(m * f) / f;
}
