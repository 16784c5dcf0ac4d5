/** The two uPlot charts of the page: /process timings per run, and live latency over the last minute. */
import uPlot from 'uplot';
import { backendLabel } from './speedup-text.js';

/** Colour of each backend's series, also used by the legend table. */
export const BACKEND_COLORS: Record<string, string> = { gpu: '#7c3aed', cpu: '#0369a1' };

/** Keeps a chart as wide as its container (charts are fixed-size canvases). */
function fitWidth(u: uPlot, el: HTMLElement, height: number): void {
  const ro = new ResizeObserver(() => {
    const w = Math.max(240, Math.floor(el.clientWidth));
    if (w !== u.width) u.setSize({ width: w, height });
  });
  ro.observe(el);
}

const ms = (v: number | null): string => (v === null || !Number.isFinite(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(1));

/** Per-run total time of each backend, one line per backend. */
export class TimingsChart {
  private u: uPlot | null = null;
  /** The data last drawn: runs[i] = run number, series[name][i] = total ms (for tests and the table). */
  data: { runs: number[]; series: Record<string, (number | null)[]> } = { runs: [], series: {} };

  constructor(private readonly el: HTMLElement) {}

  /** Redraw with the given per-backend run times (null for a run that failed or has not run yet). */
  set(runs: number, series: Record<string, (number | null)[]>): void {
    const names = Object.keys(series);
    const xs = Array.from({ length: runs }, (_, i) => i + 1);
    this.data = { runs: xs, series };
    const data: uPlot.AlignedData = [xs, ...names.map((n) => series[n] ?? [])];
    // Log scale when backends differ by orders of magnitude; it cannot show zeros.
    const vals = names.flatMap((n) => series[n]).filter((v): v is number => v !== null);
    const log = vals.length > 0 && Math.min(...vals) > 0 && Math.max(...vals) / Math.min(...vals) > 20;
    const sig = `${names.join(',')}|${log ? 'log' : 'lin'}`;
    if (this.u && this.u.root.dataset.sig === sig) {
      this.u.setData(data);
      return;
    }
    this.u?.destroy();
    const height = 260;
    const opts: uPlot.Options = {
      width: Math.max(240, this.el.clientWidth),
      height,
      scales: { x: { time: false }, y: log ? { distr: 3 } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { label: 'run', values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : '')) },
        { label: log ? 'total ms (log scale)' : 'total ms', values: (_u, vals) => vals.map((v) => ms(v)), size: 60 },
      ],
      series: [
        { label: 'run' },
        ...names.map((n) => ({
          label: backendLabel(n),
          stroke: BACKEND_COLORS[n] ?? '#444',
          width: 2,
          points: { size: 7, fill: BACKEND_COLORS[n] ?? '#444' },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${ms(v)} ms`),
        })),
      ],
      legend: { live: true },
    };
    this.u = new uPlot(opts, data, this.el);
    this.u.root.dataset.sig = sig;
    fitWidth(this.u, this.el, height);
  }
}

/** One live-latency sample; null where that measure had no value in that second. */
export interface LatencySample {
  t: number;
  frameRttMs: number | null;
  serverMs: number | null;
  channelRttMs: number | null;
}

/** Latency over the last `windowS` seconds: frame round trip, server processing, data channel RTT. */
export class LatencyChart {
  private readonly u: uPlot;
  readonly samples: LatencySample[] = [];

  constructor(el: HTMLElement, private readonly windowS = 60) {
    const height = 220;
    this.u = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height,
        // x is "seconds before now", so the window scrolls steadily and reads without clock times.
        scales: { x: { time: false, range: [-windowS, 0] }, y: { range: (_u, _min, max) => [0, Math.max(50, Math.ceil((max * 1.15) / 10) * 10)] } },
        axes: [
          { label: 'seconds ago', values: (_u, vals) => vals.map((v) => (v === 0 ? 'now' : String(-v))), space: 40 },
          { label: 'ms', size: 50 },
        ],
        series: [
          { label: 's ago', value: (_u, v) => (v === null ? '–' : (-v).toFixed(0)) },
          { label: 'frame round trip', stroke: '#dc2626', width: 2, value: (_u, v) => (v === null ? '–' : `${ms(v)} ms`) },
          { label: 'server processing p50', stroke: '#0369a1', width: 2, value: (_u, v) => (v === null ? '–' : `${ms(v)} ms`) },
          { label: 'data channel RTT', stroke: '#6b7280', width: 1, dash: [4, 4], value: (_u, v) => (v === null ? '–' : `${ms(v)} ms`) },
        ],
      },
      [[], [], [], []],
      el,
    );
    fitWidth(this.u, el, height);
  }

  /** Append one sample (t in ms since the epoch) and drop those older than the window. */
  push(s: LatencySample): void {
    this.samples.push(s);
    const cutoff = s.t - this.windowS * 1000;
    while ((this.samples[0]?.t ?? Infinity) < cutoff) this.samples.shift();
    this.u.setData([
      this.samples.map((x) => (x.t - s.t) / 1000),
      this.samples.map((x) => x.frameRttMs),
      this.samples.map((x) => x.serverMs),
      this.samples.map((x) => x.channelRttMs),
    ]);
  }

  /** Forget all samples (a new session starts). */
  clear(): void {
    this.samples.length = 0;
    this.u.setData([[], [], [], []]);
  }
}
