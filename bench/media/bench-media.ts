/**
 * `npm run bench:media`: rtc-scale on each media engine against the aiortc peer, with the
 * project's load generator as the one client. Prints one JSON document (and writes it under
 * bench-output/): one-session glass-to-glass p50/p95 at each resolution, the session staircase
 * with its capacity under the p95 objective, server CPU ms per session-second, ratios against
 * aiortc, and issue 11's goals checked. Progress goes to stderr. See docs/benchmarks.md.
 *
 * Meant to run inside a loopback-only network namespace (bench/media/bench-media.sh does that),
 * so that ICE uses only loopback and nothing outside the machine is touched.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/toolkit/args.js';
import { HELP, parseBenchOptions, type BenchOptions, type ServerKind } from './options.js';
import { runPoint, type PointResult } from './point.js';
import { REPO_ROOT, ServerRefusedError, startServer } from './servers.js';
import { checkGoals, ratiosAgainst, summarizeKind, type KindSummary } from './summary.js';

/** Pause between points, so one server's teardown does not overlap the next one's start. */
const GAP_MS = 1000;

/** What the probe found for each kind. */
interface ServerAvailability {
  available: boolean;
  reason?: string;
  health?: Record<string, unknown>;
}

function log(line: string): void {
  process.stderr.write(`bench-media: ${line}\n`);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Interfaces other than loopback that are up: ICE could use them (the wrapper script removes them). */
function nonLoopbackInterfaces(): string[] {
  return Object.entries(os.networkInterfaces())
    .filter(([, addrs]) => (addrs ?? []).some((a) => !a.internal))
    .map(([name]) => name);
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? null,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

async function probe(kind: ServerKind, opts: BenchOptions, dir: string): Promise<ServerAvailability> {
  mkdirSync(dir, { recursive: true });
  try {
    const s = await startServer(kind, { python: opts.python, rtcServer: opts.rtcServer, logFile: path.join(dir, `probe-${kind}.log`) });
    await s.stop();
    return { available: true, health: s.health };
  } catch (err) {
    if (err instanceof ServerRefusedError) return { available: false, reason: err.message };
    throw err;
  }
}

function describe(r: PointResult): string {
  if (r.status !== 'ok') return `${r.status}: ${r.error ?? ''}`.slice(0, 300);
  const c = r.cpu;
  return `${r.codecsAnswered.join('+') || '-'}  p50 ${r.latencyMs.p50} ms  p95 ${r.latencyMs.p95} ms  freezes ${r.freezes}  fps ${r.fpsPerSession}`
    + `  server ${c?.serverMsPerSessionSecond ?? '-'} ms/session-s (${c?.serverMsPerFrameReturned ?? '-'} ms/frame)  client ${c?.clientMsPerSessionSecond ?? '-'}  machine busy ${c?.machineBusy ?? '-'}`;
}

/** Run the whole plan; returns the exit status. */
async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseBenchOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench-media: ${err.message}\n(see --help)\n`);
      return 2;
    }
    throw err;
  }
  if (!opts) {
    process.stdout.write(HELP);
    return 0;
  }
  if (process.platform !== 'linux') {
    log('needs Linux (/proc for the CPU figures)');
    return 2;
  }
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(3);
    interrupted = true;
    log('stopping after this point (again to quit at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(REPO_ROOT, 'bench-output', `media-${stamp}`);
  const outFile = opts.out ? path.resolve(opts.out) : path.join(REPO_ROOT, 'bench-output', `media-${stamp}.json`);
  mkdirSync(outDir, { recursive: true });
  const others = nonLoopbackInterfaces();
  if (others.length) log(`warning: interfaces besides loopback are up (${others.join(', ')}); run through bench/media/bench-media.sh so ICE uses loopback only`);
  const machineAtStart = machine();

  const servers: Partial<Record<ServerKind, ServerAvailability>> = {};
  for (const kind of opts.kinds) {
    servers[kind] = await probe(kind, opts, outDir);
    log(`${kind}: ${servers[kind]!.available ? 'available' : `skipped (${servers[kind]!.reason})`}`);
  }
  const kinds = opts.kinds.filter((k) => servers[k]!.available);
  const totalPoints = opts.repeat * opts.staircases.reduce((n, s) => n + s.steps.length, 0) * kinds.length;
  log(`${totalPoints} points at most, ${opts.durationS} s each (${opts.settleS} s settle), output ${path.relative(process.cwd(), outFile)}`);

  const points: PointResult[] = [];
  let done = 0;
  outer: for (let round = 1; round <= opts.repeat; round++) {
    for (const sc of opts.staircases) {
      // Steps left after a kind's first miss; a kind past them skips the rest of this staircase.
      const budget = new Map<ServerKind, number>(kinds.map((k) => [k, Infinity]));
      for (const sessions of sc.steps) {
        for (const kind of kinds) {
          if (interrupted) break outer;
          if (budget.get(kind)! <= 0) continue;
          const dir = path.join(outDir, `r${round}-${kind}-${sc.width}x${sc.height}-${sessions}`);
          const r = await runPoint({ kind, width: sc.width, height: sc.height, sessions, round }, opts, dir);
          points.push(r);
          done++;
          log(`[${done}/${totalPoints}] ${kind} ${r.resolution} x${sessions} (run ${round}): ${describe(r)}`);
          const missed = r.status !== 'ok' || r.latencyMs.p95 === null || r.latencyMs.p95 > opts.sloP95Ms;
          if (missed) budget.set(kind, Math.min(budget.get(kind)!, opts.pastFailure + 1));
          if (budget.get(kind)! !== Infinity) budget.set(kind, budget.get(kind)! - 1);
          await new Promise((res) => setTimeout(res, GAP_MS));
        }
      }
    }
  }

  const resolutions = opts.staircases.map((s) => `${s.width}x${s.height}`);
  const results: Partial<Record<ServerKind, KindSummary>> = {};
  for (const kind of kinds) results[kind] = summarizeKind(points.filter((p) => p.kind === kind), resolutions, opts.sloP95Ms);
  const ratios: Record<string, Record<string, number | null>> = {};
  if (results.aiortc) {
    for (const kind of kinds) if (kind !== 'aiortc') ratios[kind] = ratiosAgainst(results[kind]!, results.aiortc);
  }
  const doc = {
    tool: 'rtc-scale-bench-media',
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    interrupted,
    command: `npm run bench:media -- ${argv.join(' ')}`.trim(),
    commit: gitCommit(),
    machine: { ...machineAtStart, loadavgAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100), nonLoopbackInterfaces: others },
    settings: {
      preset: opts.preset, kinds: opts.kinds, clientEngine: opts.client, codec: opts.codec, durationS: opts.durationS, settleS: opts.settleS, fps: opts.fps, filter: opts.filter,
      iterations: opts.iterations, sloP95Ms: opts.sloP95Ms, pastFailure: opts.pastFailure, repeat: opts.repeat, spawnRate: opts.spawnRate,
      loadgenWorkers: opts.loadgenWorkers ?? null, rtcServer: opts.rtcServer ?? 'dist/src/server/main.js', staircases: opts.staircases.map((s) => ({ resolution: `${s.width}x${s.height}`, steps: s.steps })),
      client: `rtc-scale load generator (${opts.client} client offering ${opts.codec === 'h264' ? 'H264 then VP8' : 'VP8'}, --protocol rtc-scale) for every kind`,
    },
    servers,
    results,
    /** kind / aiortc: below 1 is less latency or CPU than aiortc, above 1 more capacity. */
    ratiosVsAiortc: ratios,
    goals: checkGoals(results),
    points,
    outputDir: path.relative(REPO_ROOT, outDir),
  };
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
  process.stdout.write(text);
  log(`wrote ${path.relative(process.cwd(), outFile)}`);
  return interrupted ? 3 : kinds.length === 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench-media: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(3);
  },
);
