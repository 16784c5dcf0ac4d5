/**
 * CPU time of a process tree and of the whole machine, read from /proc (Linux), sampled over a
 * run so that the benchmark can take the CPU spent inside any window afterwards.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ; 100 on every common Linux build). */
export const CLOCK_TICKS: number = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/<pid>/stat the sampler uses; null when the process is gone. */
export function readProcStat(pid: number): { ppid: number; cpuTicks: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { ppid, cpuTicks: utime + stime };
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children (all threads). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
        if (c) out.push(Number(c));
      }
    } catch {
      // thread gone, or a kernel without CONFIG_PROC_CHILDREN: the root alone is counted
    }
  }
  return out;
}

/** Bound on the processes of one tree (a load generator has a handful; this only stops runaways). */
const MAX_TREE = 256;

/** utime + stime (ticks) of `root` and every live descendant; null when `root` is gone. */
export function treeCpuTicks(root: number): number | null {
  const first = readProcStat(root);
  if (!first) return null;
  let ticks = first.cpuTicks;
  const queue = childrenOf(root);
  const seen = new Set<number>([root]);
  while (queue.length > 0 && seen.size < MAX_TREE) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const s = readProcStat(pid);
    if (!s) continue;
    ticks += s.cpuTicks;
    queue.push(...childrenOf(pid));
  }
  return ticks;
}

/** Busy and total ticks of all CPUs together, from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } | null {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return null;
  }
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 4 || f.some((v) => !Number.isFinite(v))) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
  const used = f.slice(0, 8);
  const total = used.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** One reading: wall-clock ms and cumulative tick counts (null: could not read). */
export interface CpuReading {
  atMs: number;
  server: number | null;
  client: number | null;
  machineBusy: number | null;
  machineTotal: number | null;
}

/** Linear interpolation of a cumulative counter at `atMs`; null when the readings do not cover it. */
export function counterAt(readings: CpuReading[], key: 'server' | 'client' | 'machineBusy' | 'machineTotal', atMs: number): number | null {
  let before: CpuReading | null = null;
  let after: CpuReading | null = null;
  for (const r of readings) {
    if (r[key] === null) continue;
    if (r.atMs <= atMs) before = r;
    else if (after === null) after = r;
  }
  if (!before || !after) return before && before.atMs === atMs ? before[key] : null;
  const a = before[key]!;
  const b = after[key]!;
  const span = after.atMs - before.atMs;
  return span > 0 ? a + ((b - a) * (atMs - before.atMs)) / span : a;
}

/** Most readings kept: 4 per second for an hour. */
const MAX_READINGS = 4 * 3600;

/** Reads the server's and the client's process trees and the machine every `periodMs`. */
export class CpuSampler {
  readonly readings: CpuReading[] = [];
  private timer: NodeJS.Timeout | null = null;
  private clientPid: number | null = null;

  constructor(private readonly serverPid: number, private readonly periodMs = 250) {}

  /** Start sampling (takes a first reading at once). */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.periodMs);
  }

  /** Count this process tree as the client from now on. */
  setClient(pid: number): void {
    this.clientPid = pid;
    this.sample();
  }

  /** Take a last reading and stop. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  private sample(): void {
    if (this.readings.length >= MAX_READINGS) return;
    const m = machineTicks();
    this.readings.push({
      atMs: Date.now(),
      server: treeCpuTicks(this.serverPid),
      client: this.clientPid === null ? null : treeCpuTicks(this.clientPid),
      machineBusy: m?.busy ?? null,
      machineTotal: m?.total ?? null,
    });
  }
}
