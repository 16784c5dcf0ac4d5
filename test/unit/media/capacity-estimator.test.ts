/**
 * CapacityEstimator: the measured-load capacity estimate, on a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapacityEstimator } from '../../../src/media/capacity-estimator.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('CapacityEstimator', () => {
  function estimator(coresPerSession: number, opts: { cores?: number; host?: () => { busy: number; total: number } } = {}) {
    const c = clock();
    let cpuMs = 0;
    let sessions = 0;
    const e = new CapacityEstimator({
      cores: opts.cores ?? 2, target: 0.8, sessionCoresPrior: 0.25, hostCpu: opts.host !== undefined,
      readProcessCpuMs: () => cpuMs, now: c.now, ...(opts.host ? { readHostBusy: opts.host } : {}),
    });
    const run = (seconds: number, n: number): void => {
      sessions = n;
      for (let i = 0; i < seconds; i++) {
        c.advance(1000);
        cpuMs += 1000 * (0.02 + sessions * coresPerSession);
        e.sample(sessions);
      }
    };
    return { e, run };
  }

  it('admits by the prior before anything is measured', () => {
    const { e } = estimator(0.3);
    // 2 cores x 0.8 = 1.6 cores; 0.25 a session: six fit, the seventh does not.
    assert.equal(e.admits(5), true);
    assert.equal(e.admits(6), false);
  });

  it('learns the per-session cost and refuses the session that would pass the target', () => {
    const { e, run } = estimator(0.45);
    run(20, 3);
    const s = e.snapshot();
    assert.ok(Math.abs(s.processCores - 1.37) < 0.05, `process cores ${s.processCores}`);
    assert.ok(Math.abs(s.sessionCores - 0.457) < 0.02, `per session ${s.sessionCores}`);
    assert.ok(s.utilization > 0.8 && s.utilization < 0.9, `utilisation ${s.utilization}`);
    assert.equal(e.admits(0), false, '3 sessions of 0.45 cores + one more = 1.8 cores > 1.6');
    assert.equal(e.admits(0, 0.15), true, 'a native WHEP viewer weighs 0.15 of a session: 1.37 + 0.07 cores fit');
    assert.equal(e.admits(0, 1), false);
    const cheap = estimator(0.1);
    cheap.run(20, 3);
    assert.equal(cheap.e.admits(0), true);
    assert.ok(cheap.e.utilization() < 0.3);
  });

  it('counts other processes on a shared host when asked to', () => {
    let busy = 0;
    let total = 0;
    const host = (): { busy: number; total: number } => {
      busy += 90; // 90 % of the host busy, whatever this process does
      total += 100;
      return { busy, total };
    };
    const { e, run } = estimator(0.05, { host });
    run(15, 1);
    assert.ok(e.utilization() > 1, `utilisation ${e.utilization()} counts the busy host`);
    assert.equal(e.admits(0), false);
  });
});
