/**
 * "Compare backends": runs GET /process N times on each chosen backend (interleaved, so load
 * changes on the machine hit all backends alike), charts every run, and sums up median/p95 and
 * the speed-up in words.
 */
import { FILTER_NAMES, summarize, type BackendInfo, type FilterName, type ProcessResult } from '../protocol/index.js';
import { ApiRequestError, runProcess } from './api.js';
import { TimingsChart } from './charts.js';
import { byId, fmtMs, h } from './dom.js';
import { backendLabel, speedupSentences, workloadLabel } from './speedup-text.js';

export const RESOLUTIONS: Record<string, [number, number]> = {
  '360p': [640, 360],
  '720p': [1280, 720],
  '1080p': [1920, 1080],
  '4K': [3840, 2160],
};

export interface CompareSettings {
  resolution: string;
  width: number;
  height: number;
  filter: FilterName;
  iterations: number;
  runs: number;
  warmup: boolean;
  backends: string[];
}

/** What the last comparison measured: every counted /process answer, by backend. */
export interface CompareOutcome {
  settings: CompareSettings;
  results: Record<string, ProcessResult[]>;
  errors: Record<string, string>;
  sentences: string[];
  done: boolean;
}

export class ComparePanel {
  /** The last (or running) comparison, for the page's test hook. */
  outcome: CompareOutcome | null = null;
  private backends: BackendInfo[] = [];
  private readonly form = byId('compare-form', HTMLFormElement);
  private readonly list = byId('backend-list', HTMLDivElement);
  private readonly runButton = byId('compare-run', HTMLButtonElement);
  private readonly progress = byId('compare-progress', HTMLParagraphElement);
  private readonly speedup = byId('speedup', HTMLDivElement);
  private readonly summaryBody = byId('summary-body', HTMLTableSectionElement);
  private readonly runsTable = byId('runs-table', HTMLTableElement);
  private readonly resultsBox = byId('compare-results', HTMLDivElement);
  private readonly errorList = byId('compare-errors', HTMLUListElement);
  readonly chart = new TimingsChart(byId('timings-chart', HTMLDivElement));

  constructor() {
    const filterSel = byId('compare-filter', HTMLSelectElement);
    for (const f of FILTER_NAMES) filterSel.append(h('option', f === 'blur' ? { value: f, selected: '' } : { value: f }, f));
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.run();
    });
  }

  /** Show the server's backends: available ones as checkboxes, the others with the reason. */
  setBackends(backends: BackendInfo[]): void {
    this.backends = backends;
    this.list.replaceChildren(
      ...backends.map((b) => {
        const attrs: Record<string, string> = { type: 'checkbox', name: 'backend', value: b.name };
        if (!b.available) attrs.disabled = '';
        else attrs.checked = '';
        const detail = b.available
          ? h('span', { class: 'muted' }, b.device ?? '', b.isDefault ? ' · default' : '')
          : h('span', { class: 'unavailable' }, `not available: ${b.reason ?? 'no reason given'}`);
        return h(
          'label',
          { class: `backend-choice${b.available ? '' : ' is-unavailable'}`, 'data-backend': b.name },
          h('input', attrs),
          h('span', { class: `swatch swatch-${b.name}` }),
          h('strong', {}, backendLabel(b.name)),
          ' ',
          detail,
        );
      }),
    );
    this.runButton.disabled = !backends.some((b) => b.available);
  }

  private readSettings(): CompareSettings {
    const fd = new FormData(this.form);
    const resolution = String(fd.get('resolution'));
    const [width, height] = RESOLUTIONS[resolution] ?? [1920, 1080];
    return {
      resolution,
      width,
      height,
      filter: String(fd.get('filter')) as FilterName,
      iterations: Math.min(50, Math.max(1, Math.round(Number(fd.get('iterations')) || 1))),
      runs: Math.min(50, Math.max(1, Math.round(Number(fd.get('runs')) || 1))),
      warmup: fd.get('warmup') !== null,
      backends: fd.getAll('backend').map(String),
    };
  }

  /** Run the comparison with the form's settings. */
  async run(): Promise<CompareOutcome | null> {
    const settings = this.readSettings();
    if (settings.backends.length === 0) {
      this.progress.textContent = 'Pick at least one available backend.';
      return null;
    }
    const outcome: CompareOutcome = { settings, results: {}, errors: {}, sentences: [], done: false };
    for (const b of settings.backends) outcome.results[b] = [];
    this.outcome = outcome;
    this.runButton.disabled = true;
    this.form.setAttribute('aria-busy', 'true');
    this.speedup.replaceChildren();
    // Shown from the first run on: the chart needs a visible container to size itself.
    this.resultsBox.hidden = false;
    const where = `${settings.resolution} ${workloadLabel(settings.filter, settings.iterations)}`;
    const total = settings.runs * settings.backends.length;
    let doneCount = 0;
    const params = (backend: string) => ({ width: settings.width, height: settings.height, filter: settings.filter, iterations: settings.iterations, backend });
    try {
      if (settings.warmup) {
        for (const b of settings.backends) {
          this.progress.textContent = `Warming up ${backendLabel(b)} (first run compiles kernels and allocates buffers; not counted)…`;
          await runProcess(params(b)).catch((e: unknown) => {
            outcome.errors[b] = errorText(e);
          });
        }
      }
      for (let r = 0; r < settings.runs; r++) {
        for (const b of settings.backends) {
          if (outcome.errors[b]) continue;
          this.progress.textContent = `Run ${r + 1} of ${settings.runs}: ${backendLabel(b)} at ${where} (${doneCount}/${total} done)`;
          try {
            (outcome.results[b] ??= []).push(await runPatiently(() => runProcess(params(b)), (s) => {
              this.progress.textContent = `Server busy; run ${r + 1} on ${backendLabel(b)} again in ${s} s…`;
            }));
          } catch (e) {
            outcome.errors[b] = errorText(e);
          }
          doneCount++;
          this.render(outcome, where);
        }
      }
      this.progress.textContent = `Done: ${settings.runs} run${settings.runs === 1 ? '' : 's'} per backend at ${where} (${settings.width}×${settings.height})${settings.warmup ? ', after one uncounted warm-up run each' : ''}.`;
    } finally {
      outcome.done = true;
      this.render(outcome, where);
      this.runButton.disabled = false;
      this.form.removeAttribute('aria-busy');
    }
    return outcome;
  }

  private render(outcome: CompareOutcome, where: string): void {
    const { settings, results, errors } = outcome;
    const series: Record<string, (number | null)[]> = {};
    for (const b of settings.backends) {
      series[b] = Array.from({ length: settings.runs }, (_, i) => results[b]?.[i]?.timings.total ?? null);
    }
    this.chart.set(settings.runs, series);

    const rows = settings.backends.map((b) => {
      const rs = results[b] ?? [];
      const tot = summarize(rs.map((x) => x.timings.total));
      const comp = summarize(rs.map((x) => x.timings.compute));
      const xfer = summarize(rs.map((x) => x.timings.upload + x.timings.download));
      const cell = (field: string, text: string) => h('td', { 'data-field': field }, text);
      return h(
        'tr',
        { 'data-backend': b },
        h('th', { scope: 'row' }, h('span', { class: `swatch swatch-${b}` }), backendLabel(b)),
        cell('device', rs[0]?.device ?? this.backends.find((x) => x.name === b)?.device ?? '–'),
        cell('runs', errors[b] ? `${rs.length} (failed)` : String(rs.length)),
        cell('median', fmtMs(tot.p50)),
        cell('p95', fmtMs(tot.p95)),
        cell('compute', fmtMs(comp.p50)),
        cell('transfer', fmtMs(xfer.p50)),
      );
    });
    this.summaryBody.replaceChildren(...rows);
    this.errorList.replaceChildren(...Object.entries(errors).map(([b, e]) => h('li', { 'data-backend': b }, `${backendLabel(b)}: ${e}`)));

    const head = h('tr', {}, h('th', {}, 'run'), ...settings.backends.map((b) => h('th', {}, `${backendLabel(b)} total ms`)));
    const body = Array.from({ length: settings.runs }, (_, i) =>
      h('tr', {}, h('td', {}, String(i + 1)), ...settings.backends.map((b) => h('td', { 'data-backend': b, 'data-run': String(i + 1) }, fmtMs(results[b]?.[i]?.timings.total)))),
    );
    this.runsTable.replaceChildren(h('thead', {}, head), h('tbody', {}, ...body));

    if (outcome.done) {
      const summaries = settings.backends
        .filter((b) => (results[b]?.length ?? 0) > 0)
        .map((b) => ({ name: b as ProcessResult['backend'], medianMs: summarize((results[b] ?? []).map((x) => x.timings.total)).p50 ?? NaN }));
      outcome.sentences = speedupSentences(this.backends, summaries, where);
      this.speedup.replaceChildren(
        ...outcome.sentences.map((s) => h('p', {}, `${s}.`)),
        h('p', { class: 'basis muted small' }, 'Compared by median total time per run (upload + compute + download), measured on the server.'),
      );
    }
  }
}

/** Busy answers (503/429 with Retry-After) are retried after the wait, a few times. */
async function runPatiently<T>(fn: () => Promise<T>, onWait: (seconds: number) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ApiRequestError) || !e.retryable || attempt >= 4) throw e;
      const s = Math.min(30, Math.max(1, e.retryAfterS ?? 1));
      onWait(s);
      await new Promise((r) => setTimeout(r, s * 1000));
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof ApiRequestError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
