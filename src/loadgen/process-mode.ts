/**
 * HTTP mode: concurrent `GET /process` requests (the server's synthetic-frame workload), phase by
 * phase, with autocannon. A phase's `sessions` is its number of concurrent connections; a ramp
 * phase climbs in up to ten steps. `--rate` caps the overall request rate.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import type { Phase } from './profile.js';

/** What to request. */
export interface ProcessRunOptions {
  url: string;
  phases: Phase[];
  query: { width: number; height: number; iterations: number; filter: string; style?: string; backend?: string };
  /** Overall requests per second across connections; undefined: as fast as the connections go. */
  rate?: number;
  timeoutS: number;
  /** Bearer token for servers that protect /process. */
  token?: string;
  onSample?: (sample: ProcessSample) => void;
  abort?: AbortSignal;
}

/** One second of an HTTP run. */
export interface ProcessSample {
  t: number;
  phase: string;
  connections: number;
  requests: number;
  rps: number;
  latencyMs: { count: number; p50: number | null; p95: number | null; max: number | null };
  non2xx: number;
  errors: number;
}

/** One phase of an HTTP run (or the whole run). */
export interface ProcessPhaseResult {
  name: string;
  connections: number;
  durationS: number;
  startS: number;
  endS: number;
  requests: number;
  rps: number;
  latencyMs: LatencySummary;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Everything an HTTP run produced. */
export interface ProcessRunResult {
  url: string;
  durationS: number;
  aborted: boolean;
  samples: ProcessSample[];
  phases: ProcessPhaseResult[];
  overall: ProcessPhaseResult;
}

/** The /process URL for the options. */
export function processUrl(base: string, q: ProcessRunOptions['query']): string {
  const u = new URL(base.replace(/\/+$/, '') + '/process');
  u.searchParams.set('width', String(q.width));
  u.searchParams.set('height', String(q.height));
  u.searchParams.set('iterations', String(q.iterations));
  u.searchParams.set('filter', q.filter);
  if (q.style) u.searchParams.set('style', q.style);
  if (q.backend) u.searchParams.set('backend', q.backend);
  return u.toString();
}

interface Steps { connections: number; durationS: number }

function stepsOf(phase: Phase, previous: number): Steps[] {
  if (!phase.ramp) return [{ connections: phase.sessions, durationS: phase.durationS }];
  const n = Math.max(1, Math.min(10, Math.floor(phase.durationS)));
  return Array.from({ length: n }, (_, k) => ({
    connections: Math.round(previous + ((phase.sessions - previous) * (k + 1)) / n),
    durationS: phase.durationS / n,
  }));
}

class Bucket {
  readonly latency = new LatencyHistogram();
  requests = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;
}

/** Run every phase in turn and return the merged results. */
export async function runProcessLoad(opts: ProcessRunOptions): Promise<ProcessRunResult> {
  const url = processUrl(opts.url, opts.query);
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const samples: ProcessSample[] = [];
  const phaseResults: ProcessPhaseResult[] = [];
  const overall = new Bucket();
  let bucket = new Bucket();
  let phaseName = opts.phases[0]?.name ?? '';
  let connections = 0;
  let aborted = false;
  const flush = (): void => {
    const t = elapsed();
    const span = Math.max(0.001, t - (samples.at(-1)?.t ?? 0));
    const s = bucket.latency.summary();
    const sample: ProcessSample = {
      t: Math.round(t * 1000) / 1000, phase: phaseName, connections, requests: bucket.requests,
      rps: Math.round((bucket.requests / span) * 100) / 100,
      latencyMs: { count: s.count, p50: s.p50, p95: s.p95, max: s.max },
      non2xx: bucket.non2xx, errors: bucket.errors,
    };
    samples.push(sample);
    bucket = new Bucket();
    opts.onSample?.(sample);
  };
  const sampler = setInterval(flush, 1000);
  let previous = 0;
  try {
    for (const phase of opts.phases) {
      if (opts.abort?.aborted) { aborted = true; break; }
      phaseName = phase.name;
      const acc = new Bucket();
      const startS = elapsed();
      for (const step of stepsOf(phase, previous)) {
        if (opts.abort?.aborted) { aborted = true; break; }
        connections = step.connections;
        if (step.connections === 0) {
          await new Promise((r) => setTimeout(r, step.durationS * 1000));
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const instance = autocannon({
            url,
            connections: step.connections,
            duration: step.durationS,
            timeout: opts.timeoutS,
            ...(opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {}),
            ...(opts.rate ? { overallRate: opts.rate } : {}),
          }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
          const onAbort = (): void => instance.stop();
          opts.abort?.addEventListener('abort', onAbort, { once: true });
          instance.on('response', (_client, status, _bytes, ms) => {
            for (const b of [bucket, acc, overall]) {
              b.requests++;
              b.latency.record(ms);
              if (status < 200 || status > 299) b.non2xx++;
            }
          });
          instance.on('reqError', (err: unknown) => {
            const timeout = err instanceof Error && /timed out/.test(err.message);
            for (const b of [bucket, acc, overall]) {
              b.errors++;
              if (timeout) b.timeouts++;
            }
          });
        });
      }
      previous = phase.sessions;
      const endS = elapsed();
      phaseResults.push(result(phase.name, phase.sessions, phase.durationS, startS, endS, acc));
    }
  } finally {
    clearInterval(sampler);
  }
  flush();
  const durationS = elapsed();
  const peak = Math.max(0, ...opts.phases.map((p) => p.sessions));
  return {
    url, durationS: Math.round(durationS * 1000) / 1000, aborted, samples, phases: phaseResults,
    overall: result('overall', peak, durationS, 0, durationS, overall),
  };
}

function result(name: string, connections: number, durationS: number, startS: number, endS: number, b: Bucket): ProcessPhaseResult {
  const span = Math.max(0.001, endS - startS);
  return {
    name, connections, durationS,
    startS: Math.round(startS * 1000) / 1000,
    endS: Math.round(endS * 1000) / 1000,
    requests: b.requests,
    rps: Math.round((b.requests / span) * 100) / 100,
    latencyMs: b.latency.summary(),
    non2xx: b.non2xx,
    errors: b.errors,
    timeouts: b.timeouts,
  };
}
