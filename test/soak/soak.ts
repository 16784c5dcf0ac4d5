/**
 * Soak test (`npm run soak`, not in CI): starts the real server, runs N WebRTC
 * connect/stream/close cycles and then a steady run of K streaming sessions, sampling the
 * server process's file descriptors, threads, resident memory and V8 heap, and exits 1 when
 * one of them grows without bound.
 *
 *   unshare --net bash -c 'ip link set lo up && npm run soak -- --cycles 1000 --steady-s 600'
 *
 * Criterion (test/support/growth-criterion.ts), per series and per phase: for the cycles, the idle
 * samples taken after every batch of cycles once all its sessions closed (x = cycles done); for
 * the steady run, the periodic samples (x = time). A series fails when its slope over the
 * phase's second half, projected over the phase, is above an allowance AND its last value is
 * above its plateau (median from 10 % to 30 % of the phase) times a factor. Besides, once every
 * session is closed, descriptors and threads must be back within a few of what they were at
 * the first idle point after warm-up (a leak per session shows there at once).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { OfferRejectedError, RtcClient } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ALLOWANCES, SERIES, judgeSeries, type SeriesVerdict } from '../support/growth-criterion.js';

interface Sample {
  t: number;
  phase: 'start' | 'cycles' | 'idle' | 'steady' | 'end';
  cycles: number;
  sessions: number;
  fds: number;
  threads: number;
  rssMb: number;
  heapMb: number;
}

const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '4' },
    frames: { type: 'string', default: '3' },
    'steady-s': { type: 'string', default: '600' },
    sessions: { type: 'string', default: '4' },
    'sample-s': { type: 'string', default: '5' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(`usage: npm run soak -- [--cycles 1000] [--parallel 4] [--frames 3] [--steady-s 600] [--sessions 4]
                       [--sample-s 5] [--json summary.json]
Run inside a loopback-only namespace: unshare --net bash -c 'ip link set lo up && npm run soak'`);
  process.exit(0);
}

function positiveInt(name: string, raw: string | undefined, min = 0): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`soak: --${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return v;
}

const CYCLES = positiveInt('cycles', args.cycles);
const PARALLEL = positiveInt('parallel', args.parallel, 1);
const FRAMES = positiveInt('frames', args.frames, 1);
const STEADY_S = positiveInt('steady-s', args['steady-s']);
const SESSIONS = positiveInt('sessions', args.sessions, 1);
const SAMPLE_MS = positiveInt('sample-s', args['sample-s'], 1) * 1000;

/** Read the server's figures: /proc for descriptors, threads and RSS, /metrics for the V8 heap. */
async function sample(srv: TestServer, t0: number, phase: Sample['phase'], cycles: number): Promise<Sample> {
  const fds = (await readdir(`/proc/${srv.pid}/fd`)).length;
  const status = await readFile(`/proc/${srv.pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  return {
    t: Math.round((Date.now() - t0) / 100) / 10,
    phase,
    cycles,
    sessions: metric('rtc_sessions_active'),
    fds,
    threads: field('Threads'),
    rssMb: Math.round(field('VmRSS') / 102.4) / 10,
    heapMb: Math.round(metric('nodejs_heap_size_used_bytes') / 104857.6) / 10,
  };
}

function printHeader(): void {
  console.log(['t_s', 'phase', 'cycles', 'sessions', 'fds', 'threads', 'rss_mb', 'heap_mb'].map((h) => h.padStart(8)).join(' '));
}

function printRow(s: Sample): void {
  console.log([s.t, s.phase, s.cycles, s.sessions, s.fds, s.threads, s.rssMb, s.heapMb].map((v) => String(v).padStart(8)).join(' '));
}

async function waitForSessions(srv: TestServer, n: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = (await (await fetch(`${srv.url}/healthz`)).json()) as { sessions: number };
    if (h.sessions <= n) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** One connect, receive `FRAMES` frames, close. Retries when the server is momentarily full. */
async function cycle(url: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let client: RtcClient | null = null;
    try {
      client = await RtcClient.connect(url, { width: 160, height: 120, fps: 15, offer: { filter: 'invert' } });
      await client.waitForFrames(FRAMES, 15_000);
      return;
    } catch (err) {
      // A closed session frees its slot a moment after the client closes: wait, then retry.
      if (err instanceof OfferRejectedError && err.status === 503 && attempt < 20) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      throw err;
    } finally {
      client?.close();
    }
  }
}

let server: TestServer | null = null;

async function main(): Promise<number> {
  const srv = server = await startTestServer({ env: { RTC_MAX_SESSIONS: String(Math.max(PARALLEL, SESSIONS) + 2), RTC_LOG_LEVEL: 'info' } });
  const t0 = Date.now();
  const samples: Sample[] = [];
  let phase: Sample['phase'] = 'start';
  let done = 0;
  let failed = 0;
  const errors: string[] = [];
  const take = async (): Promise<Sample> => {
    const s = await sample(srv, t0, phase, done);
    samples.push(s);
    printRow(s);
    return s;
  };
  const sampler = setInterval(() => {
    if (phase === 'cycles' || phase === 'steady') void take().catch((err) => errors.push(`sample: ${String(err)}`));
  }, SAMPLE_MS);

  console.log(`soak: server pid ${srv.pid} at ${srv.url}; ${CYCLES} cycles (${PARALLEL} in parallel, ${FRAMES} frames each), ` +
    `then ${STEADY_S} s steady with ${SESSIONS} sessions; a sample every ${SAMPLE_MS / 1000} s; ${os.cpus().length} CPUs`);
  printHeader();
  await take();

  // Phase 1: connect/stream/close cycles, in batches; after each batch every session is closed
  // and an idle sample taken, so the cycle criterion compares like with like (a live session
  // holds ~27 descriptors and ~5 threads, which would swamp a leak of one per cycle).
  const batch = Math.max(10, Math.ceil(CYCLES / 20));
  let idleAfterWarmup: Sample | null = null;
  let next = 0;
  const runCycles = async (until: number): Promise<void> => {
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < until) {
        next++;
        try {
          await cycle(srv.url);
        } catch (err) {
          failed++;
          if (errors.length < 20) errors.push(`cycle ${next}: ${err instanceof Error ? err.message : String(err)}`);
        }
        done++;
        if (done % 100 === 0) console.log(`soak: ${done} cycles, ${failed} failed, ${Math.round((Date.now() - t0) / 1000)} s`);
      }
    }));
  };
  let emptied = true;
  while (done < CYCLES) {
    phase = 'cycles';
    await runCycles(Math.min(CYCLES, done + batch));
    emptied = (await waitForSessions(srv, 0, 15_000)) && emptied;
    phase = 'idle';
    const idle = await take();
    idleAfterWarmup ??= idle;
  }
  const cyclesEnd = samples[samples.length - 1]!;
  const idleAfterCycles = cyclesEnd;

  // Phase 2: K sessions streaming for STEADY_S seconds.
  let steadyFrames = 0;
  const steadyStalled: string[] = [];
  if (STEADY_S > 0) {
    phase = 'steady';
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () =>
      RtcClient.connect(srv.url, { width: 320, height: 240, fps: 15, offer: { filter: 'blur', iterations: 2 } })));
    await take();
    const started = Date.now();
    const lastCounts = clients.map(() => 0);
    // Every few seconds each client must have received frames since the last look.
    for (let left = STEADY_S * 1000; left > 0; left = STEADY_S * 1000 - (Date.now() - started)) {
      const wait = Math.min(10_000, left);
      await new Promise((r) => setTimeout(r, wait));
      if (wait < 2000) break;
      clients.forEach((c, i) => {
        if (c.framesReceived === lastCounts[i]) {
          steadyStalled.push(`session ${i} received nothing for ${wait / 1000} s at t=${Math.round((Date.now() - t0) / 1000)} s`);
        }
        lastCounts[i] = c.framesReceived;
      });
    }
    await take();
    steadyFrames = clients.reduce((a, c) => a + c.framesReceived, 0);
    for (const c of clients) c.close();
  }
  phase = 'end';
  clearInterval(sampler);
  const emptiedEnd = await waitForSessions(srv, 0, 15_000);
  const end = await take();

  // Verdicts.
  const problems: string[] = [];
  // The cycle criterion reads the idle samples between batches (the first one is the warm-up).
  const cycleSamples = samples.filter((s) => s.phase === 'idle' && s.cycles > 0 && s.t <= cyclesEnd.t);
  const steadySamples = samples.filter((s) => s.phase === 'steady');
  const verdicts: Record<string, Record<string, SeriesVerdict | null>> = { cycles: {}, steady: {} };
  for (const name of SERIES) {
    const c = judgeSeries(cycleSamples.map((s) => ({ x: s.cycles, y: s[name] })), ALLOWANCES[name]);
    const st = judgeSeries(steadySamples.map((s) => ({ x: s.t, y: s[name] })), ALLOWANCES[name]);
    verdicts.cycles![name] = c;
    verdicts.steady![name] = st;
    if (c?.unbounded) problems.push(`${name} grows over the cycles: plateau ${c.plateau}, last ${c.last}, projected growth ${c.projectedGrowth}`);
    if (st?.unbounded) problems.push(`${name} grows over the steady run: plateau ${st.plateau}, last ${st.last}, projected growth ${st.projectedGrowth}`);
    const idleAllowance = ALLOWANCES[name].idle;
    if (idleAllowance !== undefined && idleAfterWarmup) {
      for (const [label, s] of [['after the cycles', idleAfterCycles], ['at the end', end]] as const) {
        if (s[name] - idleAfterWarmup[name] > idleAllowance) {
          problems.push(`${name} ${label} with no session: ${s[name]}, was ${idleAfterWarmup[name]} after warm-up`);
        }
      }
    }
  }
  if (!emptied || !emptiedEnd) problems.push('sessions were still live 15 s after every client closed');
  if (failed > Math.max(1, CYCLES * 0.01)) problems.push(`${failed} of ${CYCLES} cycles failed`);
  if (steadyStalled.length > 0) problems.push(`steady sessions stalled: ${steadyStalled.slice(0, 5).join('; ')}`);
  if (srv.child.exitCode !== null || srv.child.signalCode !== null) problems.push(`the server exited (${srv.child.exitCode ?? srv.child.signalCode})`);

  const summary = {
    pass: problems.length === 0,
    problems,
    config: { cycles: CYCLES, parallel: PARALLEL, frames: FRAMES, steadyS: STEADY_S, sessions: SESSIONS, sampleS: SAMPLE_MS / 1000, cpus: os.cpus().length },
    cycles: { done, failed, seconds: Math.round((cyclesEnd.t - samples[0]!.t) * 10) / 10, errors },
    steady: { framesReceived: steadyFrames },
    idle: { start: samples[0], afterWarmup: idleAfterWarmup, afterCycles: idleAfterCycles, end },
    allowances: ALLOWANCES,
    verdicts,
    samples,
  };
  const { samples: _omit, ...short } = summary;
  console.log(JSON.stringify(short, null, 2));
  if (args.json) await writeFile(args.json, JSON.stringify(summary, null, 2));
  console.log(problems.length === 0 ? 'soak: PASS' : `soak: FAIL\n  ${problems.join('\n  ')}`);
  await srv.stop();
  return problems.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), async (err) => {
  console.error('soak:', err);
  await server?.stop();
  process.exit(1);
});
