/** The dashboards rtc-scale ships, and the files they are written to under monitoring/grafana/dashboards/. */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { gpuDashboard } from './gpu.js';
import { scalingDashboard } from './scaling.js';
import { serviceDashboard } from './service.js';

/** A generated dashboard: its file name and the dashboard. */
export interface DashboardFile {
  file: string;
  dashboard: dashboard.Dashboard;
}

/** Every dashboard, in a stable order. */
export function dashboardFiles(): DashboardFile[] {
  return [
    { file: 'rtc-scale-service.json', dashboard: withPanelIds(serviceDashboard()) },
    { file: 'rtc-scale-gpu.json', dashboard: withPanelIds(gpuDashboard()) },
    { file: 'rtc-scale-scaling.json', dashboard: withPanelIds(scalingDashboard()) },
  ];
}

/** Number the panels 1..n in order, so links to a panel (viewPanel=N) stay valid across regenerations. */
function withPanelIds(d: dashboard.Dashboard): dashboard.Dashboard {
  let next = 1;
  for (const p of d.panels ?? []) (p as { id?: number }).id = next++;
  return d;
}

/** The exact text a dashboard file holds. */
export function dashboardFileText(d: dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Every PromQL expression of a dashboard: panel targets and query variables. */
export function dashboardQueries(d: dashboard.Dashboard): string[] {
  const exprs: string[] = [];
  const visit = (panels: unknown[] | undefined): void => {
    for (const p of panels ?? []) {
      const panel = p as { targets?: Array<{ expr?: string }>; panels?: unknown[] };
      for (const t of panel.targets ?? []) if (typeof t.expr === 'string') exprs.push(t.expr);
      visit(panel.panels);
    }
  };
  visit(d.panels as unknown[] | undefined);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = v.query as { query?: string } | string | undefined;
    const text = typeof q === 'string' ? q : q?.query;
    const m = text ? /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(text) : null;
    if (m?.[1]) exprs.push(m[1]);
  }
  return exprs;
}
