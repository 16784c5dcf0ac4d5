/**
 * Test-only network impairment on the engine's receive path: drops, reorders and duplicates
 * incoming RTP packets from a seeded generator, so a test of NACK/PLI recovery is repeatable.
 * Configured through the engine's options only (never read from the environment here).
 */

/** What to do to incoming packets; ratios are 0..1. */
export interface ImpairmentOptions {
  seed: number;
  dropRatio?: number;
  reorderRatio?: number;
  duplicateRatio?: number;
  /** A reordered packet is delivered after this many later packets (default 2). */
  reorderDepth?: number;
}

/** Counters of what the impairment did. */
export interface ImpairmentCounters {
  dropped: number;
  reordered: number;
  duplicated: number;
}

const MAX_HELD = 16;

/** mulberry32: a small seeded PRNG (uniform in [0, 1)), so impairments and random test cases can be replayed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Check the ratios; throws RangeError on a value outside 0..1. */
export function validateImpairment(o: ImpairmentOptions): ImpairmentOptions {
  for (const [k, v] of Object.entries({ dropRatio: o.dropRatio, reorderRatio: o.reorderRatio, duplicateRatio: o.duplicateRatio })) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`impairment ${k} must be within 0..1`);
  }
  if (!Number.isInteger(o.seed)) throw new RangeError('impairment seed must be an integer');
  return o;
}

/** Applies the impairment to a stream of items, one `apply` per incoming item. */
export class Impairment<T> {
  readonly counters: ImpairmentCounters = { dropped: 0, reordered: 0, duplicated: 0 };
  private readonly random: () => number;
  private readonly held: Array<{ item: T; after: number }> = [];

  constructor(private readonly options: ImpairmentOptions) {
    validateImpairment(options);
    this.random = mulberry32(options.seed);
  }

  /** The items to deliver now, in order (possibly none, possibly earlier held ones). */
  apply(item: T): T[] {
    const out: T[] = [];
    for (const h of this.held) h.after--;
    while (this.held.length > 0 && this.held[0]!.after <= 0) out.push(this.held.shift()!.item);
    const r = this.random();
    const drop = this.options.dropRatio ?? 0;
    const reorder = this.options.reorderRatio ?? 0;
    const dup = this.options.duplicateRatio ?? 0;
    if (r < drop) {
      this.counters.dropped++;
    } else if (r < drop + reorder && this.held.length < MAX_HELD) {
      this.counters.reordered++;
      this.held.push({ item, after: this.options.reorderDepth ?? 2 });
    } else if (r < drop + reorder + dup) {
      this.counters.duplicated++;
      out.push(item, item);
    } else {
      out.push(item);
    }
    return out;
  }
}
