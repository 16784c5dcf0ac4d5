#!/usr/bin/env node
/**
 * `npm run simulate-hpa -- --profile FILE [options]`: replays a load profile through the HPA of
 * k8s/autoscaling/hpa.yaml and a model of the GPU node pool, prints per-phase figures and writes
 * an HTML report (and JSON). With --sweep-rates it runs a spike profile per rate instead and
 * reports which rates the manifests hold and which knob closes the gap. Exit 0 when the objective
 * held, 1 when it was missed, 2 on bad input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProfileError, readProfileFile } from '../loadgen/profile.js';
import { numberArg, oneOfArg, parseCommandLine, parseList, stringArg, UsageError } from '../toolkit/args.js';
import { CapacityCurve, CurveError, readCapacityCurve } from './capacity-curve.js';
import { HpaSpecError, readHpaSpec } from './hpa-spec.js';
import { renderSimulationHtml, SUMMARY_HEADER, summaryRow, SWEEP_HEADER, sweepRow } from './html-report.js';
import { DEFAULT_PARAMS, simulate, spikeProfile, sweepSpikes, type ClusterParams } from './simulator.js';

/** Exit statuses. */
export const EXIT = { held: 0, missed: 1, usage: 2 } as const;

/** The default files, relative to the repository root (npm runs scripts there). */
export const DEFAULT_HPA = 'k8s/autoscaling/hpa.yaml';
export const DEFAULT_CURVE = 'k8s/autoscaling/capacity-curve.sample.json';

/** --help text. */
export const HELP = `usage: npm run simulate-hpa -- --profile FILE [options]
       npm run simulate-hpa -- --sweep-rates 0.05,0.1,0.5 --sweep-base 4 --sweep-peak 40 [options]

Replays a load profile (the load generator's phases file) through the HPA algorithm with the
manifest's metrics, stabilisation windows and policies, and a model of the GPU node pool.

  --profile FILE          phases (JSON or YAML, as the load generator's --profile)
  --hpa FILE              HorizontalPodAutoscaler manifest (default ${DEFAULT_HPA})
  --curve FILE            capacity / latency curve (default ${DEFAULT_CURVE})
  --sync-s N              HPA sync period (default ${DEFAULT_PARAMS.syncPeriodS})
  --metric-delay-s N      age of the metrics the HPA reads (default ${DEFAULT_PARAMS.metricDelayS})
  --pod-start-s N         pod on a ready node to Ready (default ${DEFAULT_PARAMS.podStartS})
  --node-provision-s N    new GPU node to Ready (default ${DEFAULT_PARAMS.nodeProvisionS})
  --warm-nodes N          idle GPU nodes kept by placeholder pods (default 0)
  --pods-per-node N       media pods per GPU node (default ${DEFAULT_PARAMS.podsPerNode})
  --max-nodes N           GPU node pool maximum (default ${DEFAULT_PARAMS.maxNodes})
  --node-scale-down-s N   empty node removed after (default ${DEFAULT_PARAMS.nodeScaleDownS})
  --drain-timeout-s N     preStop + RTC_DRAIN_TIMEOUT_S (default ${DEFAULT_PARAMS.drainTimeoutS})
  --initial-replicas N    replicas at the start (default minReplicas)
  --min-replicas N        override the manifest's minReplicas
  --spawn-rate N          new sessions per second at most, 0 = no limit (default 0)
  --retry-s N             a rejected client offers again after (default ${DEFAULT_PARAMS.retryS}, the server's Retry-After)
  --capacity-metric M     sessions (sessions / limit, the manifests today) or demand (plus the
                          clients turned away: Retry-After x capacity rejections per second)
  --tolerance X           HPA tolerance (default ${DEFAULT_PARAMS.tolerance})
  --slo-p95-ms X          objective on predicted p95 (default ${DEFAULT_PARAMS.sloP95Ms})
  --broken-metric NAME    an HPA metric whose values never arrive (repeatable)
  --sweep-rates LIST      spike rates (sessions/s) to try instead of --profile
  --sweep-base N          sessions before and after the spike (default 2)
  --sweep-peak N          sessions at the spike's top (default 30)
  --html FILE             write the HTML report (default hpa-simulation.html; "" for none)
  --json FILE             write the samples and summaries as JSON
  -h, --help              this text
`;

/** Parsed options. */
export interface SimOptions {
  profile?: string;
  hpa: string;
  curve: string;
  params: Partial<ClusterParams>;
  sweepRates?: number[];
  sweepBase: number;
  sweepPeak: number;
  html: string;
  json?: string;
  help: boolean;
}

function intOpt(v: string | undefined, name: string, min = 0, max = 1_000_000): number | undefined {
  return numberArg(name, v, { integer: true, min, max });
}

function numOpt(v: string | undefined, name: string, min: number, max: number): number | undefined {
  return numberArg(name, v, { min, max });
}

/** Parse the command line. */
export function parseSimOptions(argv: string[]): SimOptions {
  const values = parseCommandLine(argv, {
    profile: { type: 'string' }, hpa: { type: 'string' }, curve: { type: 'string' },
    'sync-s': { type: 'string' }, 'metric-delay-s': { type: 'string' }, 'pod-start-s': { type: 'string' },
    'node-provision-s': { type: 'string' }, 'warm-nodes': { type: 'string' }, 'pods-per-node': { type: 'string' },
    'max-nodes': { type: 'string' }, 'node-scale-down-s': { type: 'string' }, 'drain-timeout-s': { type: 'string' },
    'initial-replicas': { type: 'string' }, 'min-replicas': { type: 'string' }, 'spawn-rate': { type: 'string' }, 'retry-s': { type: 'string' }, 'capacity-metric': { type: 'string' },
    tolerance: { type: 'string' }, 'slo-p95-ms': { type: 'string' }, 'broken-metric': { type: 'string', multiple: true },
    'sweep-rates': { type: 'string' }, 'sweep-base': { type: 'string' }, 'sweep-peak': { type: 'string' },
    html: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  const str = (k: string): string | undefined => stringArg(values, k);
  const params: Partial<ClusterParams> = {};
  const set = <K extends keyof ClusterParams>(k: K, v: ClusterParams[K] | undefined): void => { if (v !== undefined) params[k] = v; };
  set('syncPeriodS', intOpt(str('sync-s'), 'sync-s', 1, 3600));
  set('metricDelayS', intOpt(str('metric-delay-s'), 'metric-delay-s', 0, 3600));
  set('podStartS', intOpt(str('pod-start-s'), 'pod-start-s', 0, 7200));
  set('nodeProvisionS', intOpt(str('node-provision-s'), 'node-provision-s', 0, 7200));
  set('warmNodes', intOpt(str('warm-nodes'), 'warm-nodes', 0, 1000));
  set('podsPerNode', intOpt(str('pods-per-node'), 'pods-per-node', 1, 64));
  set('maxNodes', intOpt(str('max-nodes'), 'max-nodes', 1, 10_000));
  set('nodeScaleDownS', intOpt(str('node-scale-down-s'), 'node-scale-down-s', 0, 86_400));
  set('drainTimeoutS', intOpt(str('drain-timeout-s'), 'drain-timeout-s', 0, 86_400));
  set('initialReplicas', intOpt(str('initial-replicas'), 'initial-replicas', 0, 10_000));
  set('minReplicas', intOpt(str('min-replicas'), 'min-replicas', 1, 10_000));
  set('spawnRate', intOpt(str('spawn-rate'), 'spawn-rate', 0, 100_000));
  set('retryS', intOpt(str('retry-s'), 'retry-s', 1, 3600));
  const capacityMetric = str('capacity-metric');
  if (capacityMetric !== undefined) params.capacityMetric = oneOfArg('capacity-metric', capacityMetric, ['sessions', 'demand'] as const);
  set('tolerance', numOpt(str('tolerance'), 'tolerance', 0, 1));
  set('sloP95Ms', numOpt(str('slo-p95-ms'), 'slo-p95-ms', 1, 60_000));
  const broken = values['broken-metric'];
  if (Array.isArray(broken)) params.brokenMetrics = broken.map(String);
  let sweepRates: number[] | undefined;
  const rates = str('sweep-rates');
  if (rates !== undefined) sweepRates = parseList('sweep-rates', rates, (r) => numOpt(r, 'sweep-rates', 0.001, 10_000)!, 50);
  const opts: SimOptions = {
    hpa: str('hpa') ?? DEFAULT_HPA,
    curve: str('curve') ?? DEFAULT_CURVE,
    params,
    sweepBase: intOpt(str('sweep-base'), 'sweep-base', 0, 10_000) ?? 2,
    sweepPeak: intOpt(str('sweep-peak'), 'sweep-peak', 1, 10_000) ?? 30,
    html: str('html') ?? 'hpa-simulation.html',
    help: values.help === true,
  };
  const profile = str('profile');
  if (profile !== undefined) opts.profile = profile;
  if (sweepRates) opts.sweepRates = sweepRates;
  const json = str('json');
  if (json !== undefined) opts.json = json;
  if (!opts.help && opts.profile === undefined && opts.sweepRates === undefined) throw new UsageError('--profile FILE or --sweep-rates LIST is required');
  if (opts.sweepRates && !(opts.sweepPeak > opts.sweepBase)) throw new UsageError('--sweep-peak must be above --sweep-base');
  return opts;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

/** Run with these arguments, printing to `out`; resolves with the exit status. */
export function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), err: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): number {
  let opts: SimOptions;
  try {
    opts = parseSimOptions(argv);
  } catch (e) {
    err(`simulate-hpa: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (opts.help) { out(HELP); return EXIT.held; }
  try {
    const hpa = readHpaSpec(opts.hpa);
    const curveFile = readCapacityCurve(opts.curve);
    const curve = new CapacityCurve(curveFile);
    if (curveFile.sample) out(`note: ${opts.curve} is a SAMPLE curve (${curveFile.source || 'no source given'}); measure your pods for real figures`);
    const profileLabel = opts.profile ?? `spike ${opts.sweepBase} → ${opts.sweepPeak} sessions at ${opts.sweepRates!.join(', ')} sessions/s`;
    const sweep = opts.sweepRates ? sweepSpikes(hpa, curve, opts.params, opts.sweepBase, opts.sweepPeak, opts.sweepRates) : undefined;
    // The detailed run: the profile, or the fastest spike of the sweep.
    const phases = opts.profile ? readProfileFile(opts.profile) : spikeProfile(opts.sweepBase, opts.sweepPeak, Math.max(...opts.sweepRates!));
    const result = simulate(phases, hpa, curve, opts.params);
    if (result.unsimulatedMetrics.length) out(`note: not simulated (no curve column): ${result.unsimulatedMetrics.join(', ')}`);
    out(pad([SUMMARY_HEADER, ...result.phases.map(summaryRow), summaryRow(result.overall)]));
    if (sweep) {
      out('');
      out(pad([SWEEP_HEADER, ...sweep.map(sweepRow)]));
    }
    const held = sweep ? sweep.every((r) => r.held) : result.overall.held;
    out(`objective p95 <= ${result.params.sloP95Ms} ms with no rejected offer: ${held ? 'held' : 'MISSED'}`);
    if (opts.html) {
      write(opts.html, renderSimulationHtml(result, { profile: profileLabel, curve: opts.curve, curveSource: curveFile.source, curveIsSample: curveFile.sample }, sweep));
      out(`report: ${opts.html}`);
    }
    if (opts.json) {
      write(opts.json, `${JSON.stringify({ profile: profileLabel, result, sweep: sweep ?? null }, null, 1)}\n`);
      out(`json: ${opts.json}`);
    }
    return held ? EXIT.held : EXIT.missed;
  } catch (e) {
    if (e instanceof HpaSpecError || e instanceof CurveError || e instanceof ProfileError || e instanceof RangeError) {
      err(`simulate-hpa: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) process.exitCode = main(process.argv.slice(2));
