/**
 * The WebRTC load run: wires the schedule (scheduler.ts: which sessions start and stop when), the
 * worker processes (worker-pool.ts) and the figures (aggregator.ts) together on a 100 ms tick,
 * then winds the run down and returns the merged results (run-result.ts).
 */
import { performance } from 'node:perf_hooks';
import type { SessionConfig } from './client-session.js';
import { RunAggregator } from './aggregator.js';
import type { Phase } from './profile.js';
import type { Sample, WebrtcRunResult } from './run-result.js';
import { Scheduler } from './scheduler.js';
import { WorkerPool } from './worker-pool.js';
import type { FromWorker } from './worker-protocol.js';

/** What the coordinator needs beyond the session config. */
export interface WebrtcRunOptions {
  session: SessionConfig;
  phases: Phase[];
  workers: number;
  /** New sessions per second at most. */
  spawnRate: number;
  /**
   * Seconds at the start of each phase whose frames count in the timeline and the overall
   * figures but not in the phase's latency, fps, freeze and loss figures (connection transients).
   */
  settleS?: number;
  /** Called with every per-second sample, as it is made. */
  onSample?: (sample: Sample) => void;
  /** Resolves when the run should stop early (Ctrl-C). */
  abort?: AbortSignal;
}

const TICK_MS = 100;
/** How long stopped sessions get to report their results, and workers to exit, at the end. */
const WIND_DOWN_MS = 10_000;

interface Tracked {
  worker: number;
  state: 'connecting' | 'active' | 'stopping';
  phaseIndex: number;
  startS: number;
}

/** Run the profile against the server and return the merged results. */
export async function runWebrtcLoad(opts: WebrtcRunOptions): Promise<WebrtcRunResult> {
  const { phases } = opts;
  const scheduler = new Scheduler({ phases, spawnRate: opts.spawnRate, startMs: performance.now() });
  const elapsedS = (): number => scheduler.elapsedS(performance.now());
  const agg = new RunAggregator(phases, opts.settleS ?? 0, elapsedS, opts.onSample);
  const tracked = new Map<number, Tracked>();
  const workerErrors: string[] = [];
  let nextId = 1;
  // Set once the workers are ready; no session can end before that.
  let pool: WorkerPool | null = null;

  const onMessage = (worker: number, m: FromWorker): void => {
    switch (m.type) {
      case 'counters':
        agg.addCounters(m.counters);
        return;
      case 'connected': {
        const t = tracked.get(m.id);
        if (t && t.state === 'connecting') t.state = 'active';
        agg.addConnect(m.connectMs);
        return;
      }
      case 'ended': {
        const r = m.result;
        const t = tracked.get(r.id);
        tracked.delete(r.id);
        pool?.sessionEnded(r.id);
        agg.addSession(r, worker, t?.phaseIndex ?? agg.phaseIndex, t?.startS ?? 0);
        if (r.outcome === 'rejected') {
          agg.rejection();
          scheduler.backOffAfterRejection(performance.now(), r.retryAfterS);
        } else if (r.outcome === 'error') {
          agg.error();
          scheduler.backOffAfterError(performance.now());
        }
        return;
      }
      case 'fatal':
        workerErrors.push(`worker ${worker}: ${m.message}`);
        return;
      case 'ready':
      case 'bye':
        return;
    }
  };

  pool = await WorkerPool.start(Math.max(1, opts.workers), opts.session, {
    onMessage,
    onUnexpectedExit: (worker, lost, how) => {
      workerErrors.push(`worker ${worker} exited during the run (${how})`);
      // Its sessions are gone: forget them so the scheduler starts replacements elsewhere.
      for (const id of lost) {
        tracked.delete(id);
        agg.error();
      }
    },
  });
  const workers = pool;

  const count = (state: Tracked['state']): number => {
    let n = 0;
    for (const s of tracked.values()) if (s.state === state) n++;
    return n;
  };

  let aborted = false;
  let nextSampleAt = 1;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const t = scheduler.elapsedS(now);
      agg.tickActive(count('active'));
      if (opts.abort?.aborted) aborted = true;
      const over = scheduler.isOver(now, aborted);
      if (t >= nextSampleAt || over) {
        agg.sample(Math.min(t, scheduler.totalS), scheduler.target, count('active'), count('connecting'));
        nextSampleAt = Math.floor(t) + 1;
      }
      const live = [...tracked.entries()].filter(([, s]) => s.state !== 'stopping').map(([id]) => ({ id }));
      const d = scheduler.tick(now, live, workers.aliveCount > 0, aborted);
      if (d.done) return resolve();
      agg.phaseIndex = d.phaseIndex;
      for (const id of d.stop) {
        tracked.get(id)!.state = 'stopping';
        workers.stopSession(id);
      }
      for (let k = 0; k < d.start; k++) {
        const id = nextId++;
        const worker = workers.startSession(id);
        if (worker === null) break;
        tracked.set(id, { worker, state: 'connecting', phaseIndex: d.phaseIndex, startS: t });
        agg.sessionStarted();
      }
      setTimeout(tick, TICK_MS);
    };
    tick();
  });

  // Wind down: stop every session, collect their results, let the workers exit by themselves.
  const durationS = elapsedS();
  for (const [id, s] of tracked) {
    s.state = 'stopping';
    workers.stopSession(id);
  }
  const deadline = performance.now() + WIND_DOWN_MS;
  while (tracked.size > 0 && performance.now() < deadline && workers.aliveCount > 0) {
    await new Promise((r) => setTimeout(r, 50));
  }
  workerErrors.push(...(await workers.shutdown(WIND_DOWN_MS)));
  return agg.result(durationS, aborted, workerErrors);
}
