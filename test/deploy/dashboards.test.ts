/**
 * The Grafana dashboards: the committed JSON is exactly what the generator writes, every query is
 * valid PromQL (promtool parses it), and every metric a query reads exists — in the real server's
 * /metrics, in the recording rules, in the DCGM exporter's counters, or in the kube-state-metrics
 * names listed in monitoring/metric-sources.ts. No panel points at nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { dashboardFileText, dashboardFiles, dashboardQueries } from '../../monitoring/dashboards/catalog.js';
import { metricNamesInQuery } from '../../monitoring/dashboards/promql-metric-names.js';
import { HPA_METRICS } from '../../monitoring/dashboards/scaling.js';
import {
  KUBE_STATE_METRICS_NAMES, PROMETHEUS_TARGET_SERIES, dcgmMetricNames, metricNamesFromExposition,
} from '../../monitoring/metric-sources.js';
import { readRuleGroups, recordedMetricNames } from '../../monitoring/prometheus/rule-groups.js';
import { repoRoot } from '../../monitoring/repo-root.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DASHBOARD_DIR = path.join(repoRoot(), 'monitoring', 'grafana', 'dashboards');

/** The metric names the queries read that are not in `known`, as "name (in query)". */
function unknownMetrics(queries: string[], known: Set<string>): string[] {
  return queries.flatMap((q) => metricNamesInQuery(q).filter((n) => !known.has(n)).map((n) => `${n} (in ${q})`));
}

describe('metricNamesInQuery', () => {
  it('finds selectors and skips functions, aggregations, label lists, strings and durations', () => {
    assert.deepEqual(
      metricNamesInQuery('histogram_quantile(0.95, sum by (backend, le) (rate(rtc_x_bucket{a="b:c"}[$__rate_interval])))'),
      ['rtc_x_bucket'],
    );
    assert.deepEqual(
      metricNamesInQuery('a:b:c / on (namespace, pod) group_left (deployment) max by (pod) (up offset 5m) > bool 1e3'),
      ['a:b:c', 'up'],
    );
    assert.deepEqual(metricNamesInQuery('label_replace(foo, "dst", "$1", "src", "(.+)") or vector(0)'), ['foo']);
    assert.deepEqual(metricNamesInQuery('sum(rate(x_total[5m])) by (reason) unless y'), ['x_total', 'y']);
  });
});

describe('Grafana dashboards (monitoring/grafana/dashboards)', () => {
  let srv: TestServer;
  let serverNames: string[] = [];
  const files = dashboardFiles();

  before(async () => {
    srv = await startTestServer();
    const res = await fetch(`${srv.url}/metrics`);
    assert.equal(res.status, 200);
    serverNames = metricNamesFromExposition(await res.text());
  });
  after(async () => {
    await srv?.stop();
  });

  it('are committed exactly as `npm run dashboards` generates them', () => {
    for (const f of files) {
      const committed = readFileSync(path.join(DASHBOARD_DIR, f.file), 'utf8');
      assert.ok(committed === dashboardFileText(f.dashboard), `${f.file} differs from the generator's output: run npm run build && npm run dashboards`);
    }
    assert.deepEqual(readdirSync(DASHBOARD_DIR).filter((n) => n.endsWith('.json')).sort(), files.map((f) => f.file).sort(),
      'a JSON file in monitoring/grafana/dashboards is not generated');
  });

  it('are the service, GPU and scaling dashboards, with unique uids, each query on the datasource variable', () => {
    assert.deepEqual(files.map((f) => f.dashboard.uid), ['rtc-scale-service', 'rtc-scale-gpu', 'rtc-scale-scaling']);
    for (const { file, dashboard } of files) {
      const vars = dashboard.templating?.list ?? [];
      assert.ok(vars.some((v) => v.type === 'datasource' && v.name === 'datasource'), `${file}: no datasource variable`);
      const panels = (dashboard.panels ?? []) as Array<{ type: string; title?: string; id?: number; datasource?: { uid?: string }; targets?: Array<{ refId?: string; expr?: string }> }>;
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
      for (const p of panels.filter((x) => x.type !== 'row')) {
        assert.equal(p.datasource?.uid, '${datasource}', `${file} / ${p.title}`);
        assert.ok((p.targets ?? []).length > 0, `${file} / ${p.title}: no query`);
        const refIds = (p.targets ?? []).map((t) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `${file} / ${p.title}: duplicate refId`);
        for (const t of p.targets ?? []) assert.ok(t.expr && t.expr.length > 0, `${file} / ${p.title}: empty query`);
      }
    }
  });

  it('show what the issue asks for: latency quantiles by pod, GPU per pod, HPA metrics against targets', () => {
    const queriesOf = (uid: string): string => dashboardQueries(files.find((f) => f.dashboard.uid === uid)!.dashboard).join('\n');
    const service = queriesOf('rtc-scale-service');
    for (const n of ['pod:rtc_frame_processing_seconds:p50', 'pod:rtc_frame_processing_seconds:p95', 'pod:rtc_frame_processing_seconds:p99',
      'pod:rtc_sessions_active:sum', 'pod:rtc_frames_received:rate1m', 'pod:rtc_frames_sent:rate1m', 'pod:rtc_frames_dropped:ratio_rate1m', 'rtc_backend_info']) {
      assert.ok(service.includes(n), `service dashboard lacks ${n}`);
    }
    const gpu = queriesOf('rtc-scale-gpu');
    for (const n of ['pod:rtc_gpu_utilization:percent', 'pod:rtc_gpu_memory_used:bytes', 'pod:rtc_gpu_busy_ratio:avg1m']) {
      assert.ok(gpu.includes(n), `GPU dashboard lacks ${n}`);
    }
    const scaling = queriesOf('rtc-scale-scaling');
    for (const n of ['kube_horizontalpodautoscaler_status_desired_replicas', 'kube_horizontalpodautoscaler_status_current_replicas',
      `metric_name="${HPA_METRICS.capacity}"`, 'pod:rtc_capacity_utilization:ratio',
      `metric_name="${HPA_METRICS.latency}"`, `metric_name="${HPA_METRICS.gpu}"`, 'deployment:rtc_frame_processing_seconds:p95']) {
      assert.ok(scaling.includes(n), `scaling dashboard lacks ${n}`);
    }
    const scalingJson = dashboardFileText(files.find((f) => f.dashboard.uid === 'rtc-scale-scaling')!.dashboard);
    assert.match(scalingJson, /"value": 0\.2,\s*"color": "red"/, 'no 200 ms objective line on the scaling dashboard');
  });

  it('query only metrics that exist: server /metrics, recording rules, DCGM counters, kube-state-metrics', () => {
    assert.ok(serverNames.includes('rtc_frame_processing_seconds_bucket'), `server /metrics lacks the frame histogram: ${serverNames.join(' ')}`);
    const known = new Set([
      ...serverNames,
      ...recordedMetricNames(readRuleGroups()),
      ...dcgmMetricNames(),
      ...KUBE_STATE_METRICS_NAMES,
      ...PROMETHEUS_TARGET_SERIES,
    ]);
    const missing: string[] = [];
    for (const { file, dashboard } of files) {
      const queries = dashboardQueries(dashboard);
      for (const q of queries) assert.ok(metricNamesInQuery(q).length > 0, `${file}: query reads no metric: ${q}`);
      missing.push(...unknownMetrics(queries, known).map((m) => `${file}: ${m}`));
    }
    // The check itself catches a misspelt series and a recording rule that does not exist.
    assert.equal(unknownMetrics(['sum(rate(rtc_frames_recieved_total[1m]))', 'pod:rtc_frame_processing_seconds:p90'], known).length, 2);
    assert.deepEqual(missing, []);
  });

  it('hold only valid PromQL (every query parsed by promtool as a rule)', () => {
    const exprs = files.flatMap((f) => dashboardQueries(f.dashboard));
    const rules = {
      groups: [{
        name: 'dashboard-queries',
        rules: exprs.map((e, i) => ({ record: `dashboard_query_${i}`, expr: e.replace(/\$__rate_interval/g, '1m') })),
      }],
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rtc-dash-'));
    try {
      const file = path.join(dir, 'queries.yml');
      writeFileSync(file, YAML.stringify(rules));
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      assert.ifError(r.error);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
