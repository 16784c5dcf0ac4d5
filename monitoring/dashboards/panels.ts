/**
 * Panel and variable builders shared by the rtc-scale dashboards, on top of
 * @grafana/grafana-foundation-sdk. Every query goes to the dashboard's `datasource` variable, so a
 * dashboard works with whatever Prometheus data source Grafana has.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The data source every panel and variable uses: the dashboard's `datasource` variable. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The frame latency objective, in seconds; the same number as the RtcFrameLatencyP95High alert. */
export const LATENCY_OBJECTIVE_SECONDS = 0.2;

/** A query of a panel: PromQL and its legend. */
export interface Query {
  expr: string;
  legend: string;
}

/** Layout of a panel in Grafana's 24-column grid. */
export interface Size {
  width: number;
  height: number;
}

const FULL: Size = { width: 24, height: 8 };
const HALF: Size = { width: 12, height: 8 };

function targets(queries: Query[], instant: boolean, tableFormat = false): prometheus.DataqueryBuilder[] {
  return queries.map((q, i) => {
    const b = new prometheus.DataqueryBuilder()
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE)
      .expr(q.expr)
      .legendFormat(q.legend);
    if (tableFormat) b.format(prometheus.PromQueryFormat.Table);
    return instant ? b.instant() : b.range();
  });
}

function thresholds(steps: Array<[number | null, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

/** Options of a time series panel. */
export interface TimeseriesOptions {
  description: string;
  unit: string;
  size?: Size;
  min?: number;
  max?: number;
  /** Draw a dashed red line at this value (an objective or an alert threshold). */
  thresholdLine?: number;
  stacked?: boolean;
}

/** A time series panel with a table legend (last, max) sorted by the latest value. */
export function timeseriesPanel(title: string, queries: Query[], o: TimeseriesOptions): timeseries.PanelBuilder {
  const size = o.size ?? HALF;
  const b = new timeseries.PanelBuilder()
    .title(title)
    .description(o.description)
    .datasource(DATASOURCE)
    .targets(targets(queries, false))
    .unit(o.unit)
    .span(size.width)
    .height(size.height)
    .lineWidth(1)
    .fillOpacity(o.stacked ? 30 : 8)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max'])
        .sortBy('Last *')
        .sortDesc(true),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (o.min !== undefined) b.min(o.min);
  if (o.max !== undefined) b.max(o.max);
  if (o.stacked) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (o.thresholdLine !== undefined) {
    b.thresholds(thresholds([[null, 'green'], [o.thresholdLine, 'red']])).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  return b;
}

/** Options of a single-value panel. */
export interface StatOptions {
  description: string;
  unit: string;
  /** Turn orange at the first value, red at the second. */
  warnAt?: [number, number];
  decimals?: number;
}

/** A single big number (the latest value of an instant query), coloured by thresholds. */
export function statPanel(title: string, query: Query, o: StatOptions): stat.PanelBuilder {
  const b = new stat.PanelBuilder()
    .title(title)
    .description(o.description)
    .datasource(DATASOURCE)
    .targets(targets([query], true))
    .unit(o.unit)
    .span(4)
    .height(4)
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.Area)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .thresholds(thresholds(o.warnAt ? [[null, 'green'], [o.warnAt[0], 'orange'], [o.warnAt[1], 'red']] : [[null, 'blue']]));
  if (o.decimals !== undefined) b.decimals(o.decimals);
  return b;
}

/** A table of the labels of an instant query's series (e.g. which backend each pod runs). */
export function labelsTablePanel(title: string, query: Query, description: string, columns: string[], size: Size = HALF): table.PanelBuilder {
  const keep = Object.fromEntries(columns.map((c) => [c, false]));
  return new table.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .targets(targets([query], true, true))
    .span(size.width)
    .height(size.height)
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true, Value: true, __name__: true, job: true, instance: true, container: true, endpoint: true, service: true },
        includeByName: keep,
        indexByName: Object.fromEntries(columns.map((c, i) => [c, i])),
      },
    });
}

/** A row header. */
export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

/** The `datasource` variable: any Prometheus data source. */
export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/** A multi-value variable over a label's values, `All` matching everything (regex .*). */
export function labelVariable(name: string, label: string, metric: string): dashboard.QueryVariableBuilder {
  const q = `label_values(${metric}, ${label})`;
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ qryType: 1, query: q, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(q)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

export { FULL, HALF };

/** Settings every rtc-scale dashboard shares: refresh, time zone, crosshair, datasource and namespace variables. */
export function rtcDashboard(
  title: string, o: { uid: string; description: string; tags: string[]; from: string },
): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(o.uid)
    .description(o.description)
    .tags(o.tags)
    .refresh('30s')
    .time({ from: o.from, to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .withVariable(labelVariable('namespace', 'namespace', 'rtc_sessions_active'));
}
