/**
 * The report kit of the project's tools: what the load generator's and the HPA simulator's HTML
 * reports share. Small SVG charts drawn here, so a report needs no script or network (time on x,
 * one or two y axes, series drawn as lines, steps, bars or dots, phase bands behind and reference
 * lines, an objective, across), and the page around them: its style, the settings list, tables.
 */

/** One data series. Points with a null y leave a gap. */
export interface Series {
  name: string;
  color: string;
  points: Array<[number, number | null]>;
  axis?: 'left' | 'right';
  style?: 'line' | 'step' | 'bars' | 'dots';
  dashed?: boolean;
}

/** A chart. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  leftLabel: string;
  rightLabel?: string;
  series: Series[];
  /** Shaded spans of x, labelled (the phases). */
  bands?: Array<{ x0: number; x1: number; label: string }>;
  /** Horizontal lines on the left axis. */
  refLines?: Array<{ y: number; label: string; color: string }>;
  xMax?: number;
  width?: number;
  height?: number;
}

const PAD = { left: 64, right: 64, top: 34, bottom: 58 };

/** Round tick values covering [0, max]: 1, 2 or 5 times a power of ten apart. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** Render a chart as an inline SVG element. */
export function renderChart(spec: ChartSpec): string {
  const W = spec.width ?? 900;
  const H = spec.height ?? 300;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const allX = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMax = Math.max(spec.xMax ?? 0, ...allX, 1);
  const maxOf = (axis: 'left' | 'right'): number => {
    const ys = spec.series.filter((s) => (s.axis ?? 'left') === axis).flatMap((s) => s.points.map((p) => p[1] ?? 0));
    if (axis === 'left') ys.push(...(spec.refLines ?? []).map((r) => r.y));
    return Math.max(0, ...ys);
  };
  const leftTicks = niceTicks(maxOf('left'));
  const rightTicks = niceTicks(maxOf('right'));
  const leftMax = leftTicks.at(-1)!;
  const rightMax = rightTicks.at(-1)!;
  const xTicks = niceTicks(xMax, 8).filter((v) => v <= xMax);
  const sx = (x: number): number => PAD.left + (x / xMax) * plotW;
  const sy = (y: number, axis: 'left' | 'right'): number => PAD.top + plotH - (y / (axis === 'left' ? leftMax : rightMax)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}">`);
  out.push(`<text x="${PAD.left}" y="20" class="title">${esc(spec.title)}</text>`);
  (spec.bands ?? []).forEach((b, i) => {
    const x0 = sx(Math.max(0, b.x0));
    const x1 = sx(Math.min(xMax, b.x1));
    if (x1 <= x0) return;
    out.push(`<rect x="${x0.toFixed(1)}" y="${PAD.top}" width="${(x1 - x0).toFixed(1)}" height="${plotH}" fill="${i % 2 ? '#f3f4f8' : '#e9ecf4'}"/>`);
    out.push(`<text x="${((x0 + x1) / 2).toFixed(1)}" y="${PAD.top + 12}" class="band">${esc(b.label)}</text>`);
  });
  for (const v of leftTicks) {
    const y = sy(v, 'left').toFixed(1);
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  if (spec.rightLabel) {
    for (const v of rightTicks) {
      out.push(`<text x="${PAD.left + plotW + 6}" y="${sy(v, 'right').toFixed(1)}" class="tick" dominant-baseline="middle">${fmt(v)}</text>`);
    }
  }
  for (const v of xTicks) {
    out.push(`<text x="${sx(v).toFixed(1)}" y="${PAD.top + plotH + 16}" class="tick" text-anchor="middle">${fmt(v)}</text>`);
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  out.push(`<text x="${PAD.left + plotW / 2}" y="${H - 24}" class="label" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" class="label" text-anchor="middle">${esc(spec.leftLabel)}</text>`);
  if (spec.rightLabel) {
    out.push(`<text transform="translate(${W - 12} ${PAD.top + plotH / 2}) rotate(90)" class="label" text-anchor="middle">${esc(spec.rightLabel)}</text>`);
  }
  for (const r of spec.refLines ?? []) {
    const y = sy(r.y, 'left').toFixed(1);
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y}" y2="${y}" stroke="${r.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    out.push(`<text x="${PAD.left + plotW - 4}" y="${Number(y) - 4}" class="tick" text-anchor="end" fill="${r.color}">${esc(r.label)}</text>`);
  }
  const barW = Math.max(1, (plotW / Math.max(1, xMax)) * 0.7);
  for (const s of spec.series) {
    const axis = s.axis ?? 'left';
    const style = s.style ?? 'line';
    const dash = s.dashed ? ' stroke-dasharray="4 3"' : '';
    if (style === 'bars') {
      for (const [x, y] of s.points) {
        if (!y) continue;
        const top = sy(y, axis);
        out.push(`<rect x="${(sx(x) - barW).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(PAD.top + plotH - top).toFixed(1)}" fill="${s.color}" class="series" data-series="${esc(s.name)}"/>`);
      }
      continue;
    }
    if (style === 'dots') {
      for (const [x, y] of s.points) {
        if (y === null) continue;
        out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y, axis).toFixed(1)}" r="3" fill="${s.color}" class="series" data-series="${esc(s.name)}"/>`);
      }
      continue;
    }
    // Lines and steps: split into runs at null values.
    let path = '';
    let prevY: number | null = null;
    for (const [x, y] of s.points) {
      if (y === null) {
        prevY = null;
        continue;
      }
      const px = sx(x).toFixed(1);
      const py = sy(y, axis).toFixed(1);
      if (prevY === null) path += `M${px} ${py}`;
      else if (style === 'step') path += `H${px}V${py}`;
      else path += `L${px} ${py}`;
      prevY = y;
    }
    if (path) out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash} class="series" data-series="${esc(s.name)}"/>`);
  }
  // Legend under the x label.
  let lx = PAD.left;
  for (const s of spec.series) {
    out.push(`<rect x="${lx}" y="${H - 12}" width="12" height="4" fill="${s.color}"/>`);
    const label = `${s.name}${spec.rightLabel ? ` (${(s.axis ?? 'left') === 'left' ? 'left' : 'right'})` : ''}`;
    out.push(`<text x="${lx + 16}" y="${H - 8}" class="legend">${esc(label)}</text>`);
    lx += 26 + label.length * 6.5;
  }
  out.push('</svg>');
  return out.join('\n');
}

/** Text escaped for HTML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A figure for a table cell: fixed decimals, or an en dash when there is none. */
export function cell(v: number | null | undefined, digits = 0): string {
  return v === null || v === undefined ? '–' : v.toFixed(digits);
}

/** A table with a header row; every cell escaped. */
export function htmlTable(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The reports' style; `extra` rules go after it. */
export function reportCss(extra = ''): string {
  return `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#212529;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{border:1px solid #dee2e6;padding:3px 7px;text-align:right}th{background:#f1f3f5}td:first-child,th:first-child{text-align:left}
${extra ? `${extra}\n` : ''}.met{color:#2f9e44;font-weight:600}.missed{color:#e03131;font-weight:600}
figure{margin:12px 0}svg.chart{max-width:100%;height:auto;background:#fff}
svg .title{font-size:14px;font-weight:600}svg .tick,svg .legend{font-size:11px;fill:#495057}
svg .label{font-size:12px;fill:#495057}svg .band{font-size:11px;fill:#868e96;text-anchor:middle}
svg .grid{stroke:#dee2e6}svg .frame{fill:none;stroke:#adb5bd}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{color:#868e96}dd{margin:0}`;
}

/** A whole self-contained report page: title, heading, the settings as a list, then `body` (HTML). */
export function reportPage(page: { title: string; heading: string; settings: Array<[string, string]>; body: string; extraCss?: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(page.title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${reportCss(page.extraCss)}</style></head>
<body>
<h1>${esc(page.heading)}</h1>
<dl>${page.settings.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
${page.body}
</body></html>
`;
}

/** Charts as figures in the reports' chart block. */
export function chartBlock(charts: string[]): string {
  return `<div class="charts">${charts.map((c) => `<figure>${c}</figure>`).join('\n')}</div>`;
}
