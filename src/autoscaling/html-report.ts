/**
 * The simulator's self-contained HTML report, in the style of the load report (inline SVG charts
 * drawn at build time by the report kit, src/toolkit/html-report.ts; no script, no network): settings,
 * the verdict, per-phase figures, and plots of sessions, replicas, utilisation, rejected offers and
 * predicted p95 over time, plus the spike sweep when one was run.
 */
import { cell, chartBlock, htmlTable, renderChart, reportPage, type ChartSpec } from '../toolkit/html-report.js';
import type { SimResult, SimSummary, SweepRow } from './simulator.js';

const COLORS = { target: '#94d82d', active: '#2f9e44', replicas: '#2b7bb9', ready: '#1098ad', starting: '#f08c00', draining: '#ae3ec9', nodes: '#868e96', p95: '#d9480f', max: '#868e96', reject: '#e03131', util: '#7048e8' };

/** A summary as a table row. */
export function summaryRow(s: SimSummary): string[] {
  return [s.name, String(s.durationS), String(s.maxTargetSessions), String(s.peakReplicas), cell(s.maxP95Ms), String(s.secondsOverSlo),
    String(s.rejectedOffers), String(s.unservedSessionSeconds), String(s.droppedSessions), s.held ? 'held' : 'missed'];
}

/** Header of summaryRow. */
export const SUMMARY_HEADER = ['phase', 'seconds', 'target max', 'replicas max', 'p95 max ms', 's over objective', 'rejected offers', 'unserved session-s', 'dropped sessions', 'objective'];

/** A sweep row as a table row. */
export function sweepRow(r: SweepRow): string[] {
  const knob = (v: number | null | undefined): string => (v === undefined ? '' : v === null ? 'none' : String(v));
  const yesNo = (v: boolean | undefined): string => (v === undefined ? '' : v ? 'yes' : 'no');
  return [String(r.ratePerS), r.held ? 'held' : 'missed', cell(r.maxP95Ms), String(r.rejectedOffers), String(r.peakReplicas), knob(r.minReplicasNeeded), knob(r.warmNodesNeeded), yesNo(r.unlimitedScaleUpHolds)];
}

/** Header of sweepRow. */
export const SWEEP_HEADER = ['spike sessions/s', 'objective', 'p95 max ms', 'rejected offers', 'replicas max', 'minReplicas that holds', 'warm nodes that hold', 'unlimited scale-up holds'];

/** Render the report; `sweep` adds the spike-rate table. */
export function renderSimulationHtml(r: SimResult, meta: { profile: string; curve: string; curveSource: string; curveIsSample: boolean }, sweep?: readonly SweepRow[]): string {
  const s = r.samples;
  let start = 0;
  const bands: ChartSpec['bands'] = r.phases.map((p) => { const b = { x0: start, x1: start + p.durationS, label: p.name }; start += p.durationS; return b; });
  const capMetric = r.hpa.metrics.find((m) => /capacity_utilization/.test(m.name));
  const charts = [
    renderChart({
      title: 'Sessions wanted and served, with rejected offers', xLabel: 'time (s)', leftLabel: 'sessions', rightLabel: 'rejected offers / s', bands, xMax: s.length,
      series: [
        { name: 'target sessions', color: COLORS.target, style: 'step', dashed: true, points: s.map((x) => [x.t, x.targetSessions]) },
        { name: 'active sessions', color: COLORS.active, style: 'step', points: s.map((x) => [x.t, x.activeSessions]) },
        { name: 'rejected offers', color: COLORS.reject, axis: 'right', style: 'bars', points: s.map((x) => [x.t, x.rejected]) },
      ],
    }),
    renderChart({
      title: 'Replicas: desired (spec), ready, starting or pending, draining; GPU nodes', xLabel: 'time (s)', leftLabel: 'pods / nodes', bands, xMax: s.length,
      series: [
        { name: 'replicas (spec)', color: COLORS.replicas, style: 'step', points: s.map((x) => [x.t, x.replicas]) },
        { name: 'ready', color: COLORS.ready, style: 'step', points: s.map((x) => [x.t, x.ready]) },
        { name: 'starting + pending', color: COLORS.starting, style: 'step', points: s.map((x) => [x.t, x.starting + x.pending]) },
        { name: 'draining', color: COLORS.draining, style: 'step', points: s.map((x) => [x.t, x.draining]) },
        { name: 'GPU nodes', color: COLORS.nodes, style: 'step', dashed: true, points: s.map((x) => [x.t, x.nodes]) },
      ],
    }),
    renderChart({
      title: 'Capacity utilisation of the ready pods (sessions / RTC_MAX_SESSIONS)', xLabel: 'time (s)', leftLabel: 'utilisation', bands, xMax: s.length,
      refLines: capMetric ? [{ y: capMetric.target, label: `HPA target ${capMetric.target}`, color: COLORS.util }] : [],
      series: [{ name: 'utilisation', color: COLORS.util, points: s.map((x) => [x.t, x.utilization]) }],
    }),
    renderChart({
      title: 'Predicted p95 latency (session-weighted over pods, from the curve)', xLabel: 'time (s)', leftLabel: 'latency (ms)', bands, xMax: s.length,
      refLines: [{ y: r.params.sloP95Ms, label: `objective p95 ${r.params.sloP95Ms} ms`, color: COLORS.reject }],
      series: [
        { name: 'p95', color: COLORS.p95, points: s.map((x) => [x.t, x.p95Ms]) },
        { name: 'worst pod p95', color: COLORS.max, dashed: true, points: s.map((x) => [x.t, x.maxPodP95Ms]) },
      ],
    }),
  ];
  const p = r.params;
  const settings: Array<[string, string]> = [
    ['profile', meta.profile], ['curve', `${meta.curve}${meta.curveIsSample ? ' (SAMPLE numbers, not a measurement of this deployment)' : ''}`],
    ['curve source', meta.curveSource || '–'],
    ['HPA', `${r.hpa.name}: ${p.minReplicas ?? r.hpa.minReplicas}..${r.hpa.maxReplicas} replicas; ${r.hpa.metrics.map((m) => `${m.name} ≤ ${m.target}`).join(', ')}`],
    ['not simulated', r.unsimulatedMetrics.length ? `${r.unsimulatedMetrics.join(', ')} (no curve column)` : 'none'],
    ['pod capacity', `${r.capacity} sessions`],
    ['timings', `sync ${p.syncPeriodS} s, metric delay ${p.metricDelayS} s, pod start ${p.podStartS} s, GPU node ${p.nodeProvisionS} s, drain ${p.drainTimeoutS} s`],
    ['knobs', `capacity metric ${p.capacityMetric}, retry after ${p.retryS} s, warm nodes ${p.warmNodes}, pods per node ${p.podsPerNode}, max nodes ${p.maxNodes}, spawn rate ${p.spawnRate || 'unlimited'}${p.brokenMetrics.length ? `, broken metrics ${p.brokenMetrics.join(', ')}` : ''}`],
  ];
  const verdict = `<p>Objective (p95 ≤ ${p.sloP95Ms} ms every second, no offer rejected, no session dropped): <span class="${r.overall.held ? 'met' : 'missed'}">${r.overall.held ? 'held' : 'missed'}</span></p>`;
  const syncRows = r.syncs.filter((x, i) => i === 0 || x.desired !== x.current).map((x) => [String(x.t), String(x.current), cell(x.recommended), String(x.desired), x.reason,
    Object.entries(x.metrics).map(([k, v]) => `${k}=${cell(v, 3)}`).join(' ')]);
  return reportPage({
    title: 'rtc-scale HPA simulation', heading: 'rtc-scale HPA simulation', settings,
    body: `<h2>Verdict</h2>${verdict}
<h2>Summary</h2>${htmlTable(SUMMARY_HEADER, [...r.phases.map(summaryRow), summaryRow(r.overall)])}
${sweep && sweep.length ? `<h2>Spike sweep</h2>${htmlTable(SWEEP_HEADER, sweep.map(sweepRow))}` : ''}
<h2>Plots</h2>
${chartBlock(charts)}
<details><summary>HPA syncs that changed the replica count (${syncRows.length})</summary>${htmlTable(['t s', 'current', 'recommended', 'desired', 'reason', 'metrics seen'], syncRows)}</details>`,
  });
}
