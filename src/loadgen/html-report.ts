/**
 * The self-contained HTML report: settings, objectives, the summary table, and SVG plots drawn
 * at build time (no script, no network), so it opens offline and can be attached to a ticket.
 */
import type { PhaseResult, WebrtcRunResult } from './run-result.js';
import type { LoadReport } from './report.js';
import type { ProcessPhaseResult, ProcessRunResult } from './process-mode.js';
import { cell, chartBlock, esc, htmlTable, renderChart, reportPage, type ChartSpec } from '../toolkit/html-report.js';

const COLORS = { p50: '#2b7bb9', p95: '#d9480f', max: '#868e96', sessions: '#2f9e44', target: '#94d82d', fps: '#7048e8', reject: '#e03131', error: '#f08c00', freeze: '#1098ad', lost: '#ae3ec9' };

function bands(phases: Array<{ name: string; startS: number; endS: number }>): ChartSpec['bands'] {
  return phases.map((p) => ({ x0: p.startS, x1: p.endS, label: p.name }));
}

/** The p50, p95 and max latency lines of a per-second timeline. */
function latencySeries(samples: Array<{ t: number; latencyMs: { p50: number | null; p95: number | null; max: number | null } }>): ChartSpec['series'] {
  return [
    { name: 'p50', color: COLORS.p50, points: samples.map((x) => [x.t, x.latencyMs.p50]) },
    { name: 'p95', color: COLORS.p95, points: samples.map((x) => [x.t, x.latencyMs.p95]) },
    { name: 'max', color: COLORS.max, points: samples.map((x) => [x.t, x.latencyMs.max]), dashed: true },
  ];
}

/** The p95 objective as a reference line on a latency chart, when the run has one. */
function sloLines(report: LoadReport): ChartSpec['refLines'] {
  const slo = report.objectives.find((o) => o.name.startsWith('p95'));
  return slo ? [{ y: slo.limit, label: `objective p95 ${slo.limit} ms`, color: COLORS.reject }] : [];
}

function webrtcSection(run: WebrtcRunResult, report: LoadReport): string {
  const s = run.samples;
  const b = bands(run.phases);
  const charts: string[] = [];
  charts.push(renderChart({
    title: 'Glass-to-glass latency per second, with sessions', xLabel: 'time (s)', leftLabel: 'latency (ms)', rightLabel: 'sessions',
    bands: b, xMax: run.durationS,
    refLines: sloLines(report),
    series: [
      ...latencySeries(s),
      { name: 'active sessions', color: COLORS.sessions, axis: 'right', style: 'step', points: s.map((x) => [x.t, x.activeSessions]) },
      { name: 'target sessions', color: COLORS.target, axis: 'right', style: 'step', dashed: true, points: s.map((x) => [x.t, x.targetSessions]) },
    ],
  }));
  charts.push(renderChart({
    title: 'Received frames per second, per active session', xLabel: 'time (s)', leftLabel: 'fps', bands: b, xMax: run.durationS,
    refLines: [{ y: report.settings.fps, label: `sent ${report.settings.fps} fps`, color: COLORS.max }],
    series: [{ name: 'received fps per session', color: COLORS.fps, points: s.map((x) => [x.t, x.fpsPerSession]) }],
  }));
  charts.push(renderChart({
    title: 'Connect time (offer to first stamped frame back), by when the session connected', xLabel: 'time (s)', leftLabel: 'connect time (ms)',
    bands: b, xMax: run.durationS,
    series: [{ name: 'connect time', color: COLORS.p50, style: 'dots', points: s.flatMap((x) => x.connectMs.map((ms) => [x.t, ms] as [number, number])) }],
  }));
  charts.push(renderChart({
    title: 'Rejections (503) and errors per second', xLabel: 'time (s)', leftLabel: 'count', bands: b, xMax: run.durationS,
    series: [
      { name: 'rejections', color: COLORS.reject, style: 'bars', points: s.map((x) => [x.t, x.rejections]) },
      { name: 'errors', color: COLORS.error, style: 'bars', points: s.map((x) => [x.t - 0.35, x.errors]) },
    ],
  }));
  charts.push(renderChart({
    title: 'Freezes (gaps over 3 frame intervals) and lost frames per second', xLabel: 'time (s)', leftLabel: 'count', bands: b, xMax: run.durationS,
    series: [
      { name: 'freezes', color: COLORS.freeze, style: 'bars', points: s.map((x) => [x.t, x.freezes]) },
      { name: 'lost frames', color: COLORS.lost, points: s.map((x) => [x.t, x.lostFrames]) },
    ],
  }));
  const phaseRow = (p: PhaseResult): string[] => [
    p.name, String(p.targetSessions), String(p.maxActiveSessions), String(p.sessionsStarted), String(p.rejections), String(p.errors),
    cell(p.fpsPerSession, 1), cell(p.latencyMs.p50), cell(p.latencyMs.p95), cell(p.latencyMs.max), String(p.freezes),
    String(p.framesLost), String(p.framesUndecoded), cell(p.connectMs.p50), cell(p.connectMs.p95),
  ];
  const summary = htmlTable(
    ['phase', 'target', 'active max', 'started', 'rejected', 'errors', 'fps/session', 'p50 ms', 'p95 ms', 'max ms', 'freezes', 'lost', 'undecoded', 'connect p50 ms', 'connect p95 ms'],
    [...run.phases.map(phaseRow), phaseRow(run.overall)],
  );
  const sessions = htmlTable(
    ['id', 'phase', 'worker', 'start s', 'outcome', 'connect ms', 'duration s', 'sent', 'received', 'decoded', 'lost', 'freezes', 'fps', 'p50 ms', 'p95 ms', 'max ms', 'size', 'server p95 ms', 'note'],
    run.sessions.map((x) => [
      String(x.id), x.phase, String(x.worker), x.startS.toFixed(1), x.outcome, cell(x.connectMs), x.durationS.toFixed(1), String(x.framesSent),
      String(x.framesReceived), String(x.framesDecoded), String(x.framesLost), String(x.freezes), cell(x.receivedFps, 1),
      cell(x.latencyMs.p50), cell(x.latencyMs.p95), cell(x.latencyMs.max), x.receivedSize ?? '–',
      cell(x.server?.serverLatencyMs?.p95, 1), x.error ?? '',
    ]),
  );
  return `<h2>Summary</h2>${summary}
<h2>Plots</h2>
${chartBlock(charts)}
${run.workerErrors.length ? `<h2>Worker errors</h2><pre>${esc(run.workerErrors.join('\n'))}</pre>` : ''}
<details><summary>Per-session results (${run.sessions.length})</summary>${sessions}</details>`;
}

function processSection(run: ProcessRunResult, report: LoadReport): string {
  const s = run.samples;
  const b = bands(run.phases);
  const charts = [
    renderChart({
      title: 'GET /process latency per second, with connections', xLabel: 'time (s)', leftLabel: 'latency (ms)', rightLabel: 'connections',
      bands: b, xMax: run.durationS,
      refLines: sloLines(report),
      series: [
        ...latencySeries(s),
        { name: 'connections', color: COLORS.sessions, axis: 'right', style: 'step', points: s.map((x) => [x.t, x.connections]) },
      ],
    }),
    renderChart({
      title: 'Throughput', xLabel: 'time (s)', leftLabel: 'requests / s', bands: b, xMax: run.durationS,
      series: [{ name: 'requests per second', color: COLORS.fps, points: s.map((x) => [x.t, x.rps]) }],
    }),
    renderChart({
      title: 'Non-2xx responses and request errors per second', xLabel: 'time (s)', leftLabel: 'count', bands: b, xMax: run.durationS,
      series: [
        { name: 'non-2xx', color: COLORS.reject, style: 'bars', points: s.map((x) => [x.t, x.non2xx]) },
        { name: 'errors', color: COLORS.error, style: 'bars', points: s.map((x) => [x.t - 0.35, x.errors]) },
      ],
    }),
  ];
  const row = (p: ProcessPhaseResult): string[] => [
    p.name, String(p.connections), String(p.requests), cell(p.rps, 1), cell(p.latencyMs.p50, 1), cell(p.latencyMs.p95, 1),
    cell(p.latencyMs.p99, 1), cell(p.latencyMs.max, 1), String(p.non2xx), String(p.errors),
  ];
  return `<h2>Summary</h2>${htmlTable(['phase', 'connections', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors'],
    [...run.phases.map(row), row(run.overall)])}
<p>URL: <code>${esc(run.url)}</code></p>
<h2>Plots</h2>${chartBlock(charts)}`;
}

/** Render the report as one HTML document. */
export function renderHtmlReport(report: LoadReport): string {
  const st = report.settings;
  const settings: Array<[string, string]> = [
    ['target', st.url], ['mode', st.mode], ['started', report.startedAt], ['finished', report.finishedAt],
    ...(st.mode === 'webrtc'
      ? [['protocol', st.protocol], ['client engine', st.engine ?? 'libwebrtc'], ['video', `${st.width}x${st.height} @ ${st.fps} fps`], ['workers', String(st.workers)],
        ['spawn rate', `${st.spawnRate} sessions/s`],
        ...(st.settleS > 0 ? [['settle', `first ${st.settleS} s of each phase left out of its figures`]] : [])] as Array<[string, string]>
      : [['workload', `${st.width}x${st.height}`], ['rate cap', st.rate ? `${st.rate} req/s` : 'none']] as Array<[string, string]>),
    ['filter', `${st.filter}${st.iterations > 1 ? ` x${st.iterations}` : ''}${st.style ? ` (${st.style})` : ''}${st.backend ? ` (backend ${st.backend})` : ''}`],
    ['profile', st.phases.map((p) => `${p.name}: ${p.sessions} for ${p.durationS} s${p.ramp ? ' (ramp)' : ''}`).join('; ')],
  ];
  const objectives = report.objectives.length
    ? `<ul>${report.objectives.map((o) => `<li>${esc(o.name)}: limit ${o.limit}, observed ${cell(o.observed, 1)} — <span class="${o.met ? 'met' : 'missed'}">${o.met ? 'met' : 'missed'}</span></li>`).join('')}</ul>`
    : '<p>No objective was given (use --slo-p95-ms).</p>';
  const capacity = report.capacity
    ? `<p>Most sessions in a steady phase with p95 within ${report.capacity.sloP95Ms} ms: <strong>${
      report.capacity.sessions === null ? 'none' : `${report.capacity.sessions} (phase ${esc(report.capacity.phase ?? '')})`}</strong></p>`
    : '';
  const body = report.webrtc ? webrtcSection(report.webrtc, report) : report.process ? processSection(report.process, report) : '';
  return reportPage({
    title: `rtc-scale load report ${report.startedAt}`, heading: 'rtc-scale load report', settings,
    body: `<h2>Objectives</h2>${objectives}${capacity}\n${body}`, extraCss: 'tbody tr:last-child td{font-weight:600}',
  });
}
