#!/usr/bin/env node
/**
 * rtc-scale load generator command line: `npm run loadgen -- --url http://host:8080 ...`.
 * Runs the profile, shows a live progress line on a TTY, prints a summary table, writes the JSON
 * and HTML reports, and exits non-zero when an objective was missed (see --help).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runWebrtcLoad } from './coordinator.js';
import type { Sample } from './run-result.js';
import { renderHtmlReport } from './html-report.js';
import { UsageError } from '../toolkit/args.js';
import { HELP, parseOptions, type LoadgenOptions } from './options.js';
import { runProcessLoad, type ProcessSample } from './process-mode.js';
import { profileDuration } from './profile.js';
import {
  capacityUnderSlo, codecSummaryLine, evaluateObjectives, objectiveLines, processSummaryTable, viewerSummaryLine, webrtcSummaryTable, type LoadReport, type RunSettings,
} from './report.js';

/** Exit statuses. */
export const EXIT = { ok: 0, objectiveMissed: 1, usage: 2, failed: 3 } as const;

/** Wind-down allowance on top of the profile before the watchdog ends the process. */
const WATCHDOG_SLACK_S = 60;

function fmt(v: number | null, digits = 0): string {
  return v === null ? '-' : v.toFixed(digits);
}

function progressWriter(quiet: boolean): { line(text: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    line(text: string): void {
      if (quiet) return;
      if (tty) {
        process.stderr.write(`\r\x1b[K${text}`);
      } else if (Date.now() - last >= 10_000) {
        // Not a terminal (CI, a Job's log): one line every 10 s instead of a redrawn line.
        last = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
    done(): void {
      if (!quiet && tty) process.stderr.write('\n');
    },
  };
}

function webrtcProgress(s: Sample, total: number): string {
  return `[${s.t.toFixed(0).padStart(4)}/${total.toFixed(0)} s] ${s.phase.padEnd(10)} sessions ${s.activeSessions}/${s.targetSessions}`
    + `${s.connectingSessions ? ` (+${s.connectingSessions} connecting)` : ''}  fps ${fmt(s.fpsPerSession, 1)}`
    + `  p50 ${fmt(s.latencyMs.p50)} ms  p95 ${fmt(s.latencyMs.p95)} ms  rejected ${s.rejections}  errors ${s.errors}`;
}

function processProgress(s: ProcessSample, total: number): string {
  return `[${s.t.toFixed(0).padStart(4)}/${total.toFixed(0)} s] ${s.phase.padEnd(10)} connections ${s.connections}  ${s.rps.toFixed(1)} req/s`
    + `  p50 ${fmt(s.latencyMs.p50, 1)} ms  p95 ${fmt(s.latencyMs.p95, 1)} ms  non-2xx ${s.non2xx}  errors ${s.errors}`;
}

function settingsOf(o: LoadgenOptions): RunSettings {
  return {
    url: o.url, mode: o.mode, protocol: o.protocol, ...(o.mode === 'webrtc' ? { engine: o.engine, codec: o.codec } : {}), viewers: o.viewers, width: o.width, height: o.height, fps: o.fps, filter: o.filter,
    iterations: o.iterations, ...(o.style ? { style: o.style } : {}), backend: o.backend ?? null, workers: o.workers, spawnRate: o.spawnRate, settleS: o.settleS,
    connectTimeoutS: o.connectTimeoutS, rate: o.rate ?? null, phases: o.phases,
  };
}

/** Run the load generator with these arguments; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  let opts: LoadgenOptions | null;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`loadgen: ${err.message}\n(see --help)\n`);
      return EXIT.usage;
    }
    throw err;
  }
  if (!opts) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const total = profileDuration(opts.phases);
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.failed);
    process.stderr.write('\nloadgen: stopping (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  // Bounded whatever happens: the profile plus a wind-down allowance.
  const watchdog = setTimeout(() => {
    process.stderr.write(`loadgen: still running ${WATCHDOG_SLACK_S} s after the profile ended; giving up\n`);
    process.exit(EXIT.failed);
  }, (total + WATCHDOG_SLACK_S) * 1000);
  watchdog.unref();

  const progress = progressWriter(opts.quiet);
  const startedAt = new Date().toISOString();
  process.stderr.write(`loadgen: ${opts.mode} load on ${opts.url} for ${total} s (${opts.phases.map((p) => `${p.name} ${p.sessions}${p.ramp ? ' ramp' : ''} ${p.durationS}s`).join(', ')})\n`);
  const report: LoadReport = {
    tool: 'rtc-scale-loadgen', version: 1, startedAt, finishedAt: startedAt, settings: settingsOf(opts),
    objectives: [], objectivesMet: true,
  };
  let table: string;
  try {
    if (opts.mode === 'webrtc') {
      report.webrtc = await runWebrtcLoad({
        session: {
          url: opts.url, protocol: opts.protocol, engine: opts.engine, codec: opts.codec,
          params: {
            filter: opts.filter, iterations: opts.iterations, ...(opts.style ? { style: opts.style } : {}),
            ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.token ? { token: opts.token } : {}),
          },
          width: opts.width, height: opts.height, fps: opts.fps, connectTimeoutMs: opts.connectTimeoutS * 1000, viewers: opts.viewers,
        },
        phases: opts.phases, workers: opts.workers, spawnRate: opts.spawnRate, settleS: opts.settleS, abort: abort.signal,
        onSample: (s) => progress.line(webrtcProgress(s, total)),
      });
      table = webrtcSummaryTable(report.webrtc);
    } else {
      report.process = await runProcessLoad({
        url: opts.url, phases: opts.phases, rate: opts.rate, timeoutS: opts.requestTimeoutS, abort: abort.signal, token: opts.token,
        query: { width: opts.width, height: opts.height, iterations: opts.iterations, filter: opts.filter, ...(opts.style ? { style: opts.style } : {}), ...(opts.backend ? { backend: opts.backend } : {}) },
        onSample: (s) => progress.line(processProgress(s, total)),
      });
      table = processSummaryTable(report.process);
    }
  } catch (err) {
    progress.done();
    process.stderr.write(`loadgen: run failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  } finally {
    clearTimeout(watchdog);
  }
  progress.done();
  report.finishedAt = new Date().toISOString();
  report.objectives = evaluateObjectives({ p95Ms: opts.sloP95Ms, minFps: opts.sloMinFps }, report);
  report.objectivesMet = report.objectives.every((o) => o.met);
  if (report.webrtc && opts.sloP95Ms !== undefined) report.capacity = capacityUnderSlo(report.webrtc, opts.sloP95Ms);

  mkdirSync(opts.outDir, { recursive: true });
  const jsonPath = path.join(opts.outDir, 'loadgen-report.json');
  const htmlPath = path.join(opts.outDir, 'loadgen-report.html');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(htmlPath, renderHtmlReport(report));
  process.stdout.write(`\n${table}\n\n`);
  const codecLine = report.webrtc ? codecSummaryLine(report.webrtc.sessions) : null;
  if (codecLine) process.stdout.write(`${codecLine}\n`);
  const viewersLine = report.webrtc ? viewerSummaryLine(report.webrtc.sessions) : null;
  if (viewersLine) process.stdout.write(`${viewersLine}\n`);
  for (const line of objectiveLines(report.objectives)) process.stdout.write(`${line}\n`);
  if (report.capacity && report.webrtc && report.webrtc.phases.length > 1) {
    const c = report.capacity;
    process.stdout.write(`capacity: ${c.sessions === null ? 'no steady phase' : `${c.sessions} sessions (phase ${c.phase})`} with p95 <= ${c.sloP95Ms} ms\n`);
  }
  if (report.webrtc?.workerErrors.length) process.stdout.write(`worker errors:\n  ${report.webrtc.workerErrors.join('\n  ')}\n`);
  process.stdout.write(`reports: ${jsonPath}, ${htmlPath}\n`);
  return report.objectivesMet ? EXIT.ok : EXIT.objectiveMissed;
}

// Exit explicitly: a lingering handle (autocannon agents, timers) must not keep a finished run alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`loadgen: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(EXIT.failed);
  },
);
