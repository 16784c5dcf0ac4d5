/** The soak criterion catches steady growth and lets noise, warm-up steps and GC sawtooth through. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALLOWANCES, judgeSeries, median, slope, type Point } from '../support/growth-criterion.js';
import { mulberry32 as rng } from '../support/prng.js';


/** 21 idle samples every 50 cycles, as the default soak takes them. */
function series(f: (x: number, r: () => number) => number, seed = 1): Point[] {
  const r = rng(seed);
  return Array.from({ length: 21 }, (_, i) => ({ x: i * 50, y: f(i * 50, r) }));
}

describe('soak growth criterion', () => {
  it('computes slope and median', () => {
    assert.equal(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
    assert.equal(slope([{ x: 1, y: 1 }, { x: 1, y: 9 }]), 0);
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('needs six points', () => {
    assert.equal(judgeSeries(series(() => 1).slice(0, 5), ALLOWANCES.fds), null);
  });

  it('fails a descriptor leak of one per 50 cycles', () => {
    const v = judgeSeries(series((x) => 40 + Math.floor(x / 50)), ALLOWANCES.fds)!;
    assert.equal(v.unbounded, true, JSON.stringify(v));
  });

  it('fails an RSS leak of 100 kB per cycle under noise', () => {
    const v = judgeSeries(series((x, r) => 160 + x * 0.1 + (r() - 0.5) * 20, 7), ALLOWANCES.rssMb)!;
    assert.equal(v.unbounded, true, JSON.stringify(v));
  });

  it('passes flat series with noise, a warm-up step and a GC sawtooth', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const noisy = judgeSeries(series((_x, r) => 160 + (r() - 0.5) * 30, seed), ALLOWANCES.rssMb)!;
      assert.equal(noisy.unbounded, false, `seed ${seed}: ${JSON.stringify(noisy)}`);
    }
    const step = judgeSeries(series((x) => (x < 60 ? 100 : 150)), ALLOWANCES.rssMb)!;
    assert.equal(step.unbounded, false, JSON.stringify(step));
    const sawtooth = judgeSeries(series((x) => 16 + ((x / 50) % 4) * 3), ALLOWANCES.heapMb)!;
    assert.equal(sawtooth.unbounded, false, JSON.stringify(sawtooth));
    const fds = judgeSeries(series((x) => 40 + (x % 100 === 0 ? 1 : 0)), ALLOWANCES.fds)!;
    assert.equal(fds.unbounded, false, JSON.stringify(fds));
  });

  it('passes the series the soak measured here (1000 cycles, idle samples every 50)', () => {
    // RSS in MB from the run reported in docs/measurements/2026-11-soak.md.
    const rss = [150.4, 149.9, 158.3, 163.9, 176, 173.6, 156, 157.8, 159.1, 160.3, 160.3, 162, 155.9, 159.5, 159.6, 161.1, 163.5, 165.3, 164.6, 164.8];
    const v = judgeSeries(rss.map((y, i) => ({ x: (i + 1) * 50, y })), ALLOWANCES.rssMb)!;
    assert.equal(v.unbounded, false, JSON.stringify(v));
  });
});
