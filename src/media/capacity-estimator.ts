/**
 * Capacity from measured load, not from a session count. What fills a media server is the CPU its
 * codecs and filters burn (libvpx encode + decode, the filter, packetization), on every thread of
 * the process. So the estimate samples the process's CPU time (all threads) once a second, divides
 * it among the sessions that are running, and admits a new session only when the load with one
 * more session stays under a target fraction of the cores. On a shared host (a laptop running the
 * browser too, this 2-core box running the load generator) the host's own busy time counts as
 * well: a core the client burns is not there for the server.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { CapacityInfo } from '../protocol/index.js';

export interface CapacityOptions {
  /** Cores this server may use (cgroup quota or the machine's). */
  cores: number;
  /** Fraction of `cores` the sessions may fill (the rest is headroom for bursts and the event loop). */
  target: number;
  /** Cores a session is assumed to cost before one was measured. */
  sessionCoresPrior: number;
  /** Count the host's busy time (other processes) against capacity. */
  hostCpu: boolean;
  /** Seconds after its answer that a session counts at the per-session estimate, not as measured. */
  warmupS?: number;
  /** Sources, replaceable in tests. */
  readProcessCpuMs?: () => number;
  readHostBusy?: () => { busy: number; total: number } | null;
  now?: () => number;
}

/** Where the estimate stands, for /healthz and the metric (the session counts are the manager's). */
export type CapacitySnapshot = Omit<CapacityInfo, 'sessions' | 'maxSessions'>;

/** Smoothing of the one-second samples: about a 3 s time constant. */
const ALPHA = 0.3;

/** Process CPU time of every thread, ms. */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Host CPU counters from /proc/stat (jiffies), null where unavailable. */
function hostBusy(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    if (f.length < 5 || f.some((v) => !Number.isFinite(v))) return null;
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Measured-load admission for one server. */
export class CapacityEstimator {
  private readonly readCpu: () => number;
  private readonly readHost: () => { busy: number; total: number } | null;
  private readonly now: () => number;
  private lastCpuMs: number;
  private lastAt: number;
  private lastHost: { busy: number; total: number } | null;
  private processCores = 0;
  private hostBusyRatio: number | null = null;
  private measuredSessionCores: number | null = null;

  constructor(private readonly opts: CapacityOptions) {
    this.readCpu = opts.readProcessCpuMs ?? processCpuMs;
    this.readHost = opts.readHostBusy ?? hostBusy;
    this.now = opts.now ?? (() => performance.now());
    this.lastCpuMs = this.readCpu();
    this.lastAt = this.now();
    this.lastHost = opts.hostCpu ? this.readHost() : null;
  }

  /** Take a sample (call about once a second); `matureSessions` are those past their warm-up. */
  sample(matureSessions: number): void {
    const now = this.now();
    const cpu = this.readCpu();
    const wallMs = now - this.lastAt;
    if (wallMs <= 0) return;
    const cores = Math.max(0, (cpu - this.lastCpuMs) / wallMs);
    this.lastCpuMs = cpu;
    this.lastAt = now;
    this.processCores += ALPHA * (cores - this.processCores);
    if (matureSessions > 0) {
      const per = this.processCores / matureSessions;
      this.measuredSessionCores = this.measuredSessionCores === null ? per : this.measuredSessionCores + ALPHA * (per - this.measuredSessionCores);
    }
    if (this.opts.hostCpu) {
      const h = this.readHost();
      if (h && this.lastHost && h.total > this.lastHost.total) {
        const busy = (h.busy - this.lastHost.busy) / (h.total - this.lastHost.total);
        this.hostBusyRatio = this.hostBusyRatio === null ? busy : this.hostBusyRatio + ALPHA * (busy - this.hostBusyRatio);
      }
      this.lastHost = h;
    }
  }

  /** Cores one more session is expected to cost. */
  get sessionCores(): number {
    return Math.max(this.opts.sessionCoresPrior * 0.5, this.measuredSessionCores ?? this.opts.sessionCoresPrior);
  }

  /** Utilisation with `pending` more sessions than were measured (0 idle, 1 at target). */
  utilization(pending = 0): number {
    const { cores, target } = this.opts;
    const extra = pending * this.sessionCores;
    const own = (this.processCores + extra) / cores;
    const host = this.hostBusyRatio === null ? 0 : this.hostBusyRatio + extra / cores;
    return Math.max(own, host) / target;
  }

  /** Whether `units` more sessions (a viewer may be a fraction of one) fit, counting `pending` not measured yet. */
  admits(pending: number, units = 1): boolean {
    return this.utilization(pending + units) <= 1;
  }

  /** The estimate as it stands. */
  snapshot(pending = 0): CapacitySnapshot {
    const r = (v: number): number => Math.round(v * 1000) / 1000;
    return {
      utilization: r(this.utilization(pending)),
      processCores: r(this.processCores),
      hostBusy: this.hostBusyRatio === null ? null : r(this.hostBusyRatio),
      sessionCores: r(this.sessionCores),
      cores: this.opts.cores,
      target: this.opts.target,
    };
  }
}
