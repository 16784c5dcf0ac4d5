/** The Retry-After header (RFC 9110 §10.2.3), read the same way by the web page and the load generator. */

/**
 * Seconds to wait from a Retry-After value: delay-seconds as given (a decimal fraction is
 * tolerated), or an HTTP-date rounded up to whole seconds from `nowMs` (never retry early), at
 * least 0. Null when the header is absent, empty or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number = Date.now()): number | null {
  if (header === null || header === undefined) return null;
  const text = header.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // Only a date has letters; this keeps "-5" or "1e3" from being read as a date.
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}
