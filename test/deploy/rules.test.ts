/**
 * The Prometheus rules: promtool accepts them and their unit tests pass (rules.test.yml), every
 * rule is covered by a unit test, the names the HPA and the other helpers depend on exist, and
 * every metric a rule reads is exported by someone (the server, DCGM, Prometheus itself).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { metricNamesInQuery } from '../../monitoring/dashboards/promql-metric-names.js';
import { PROMETHEUS_TARGET_SERIES, dcgmMetricNames, metricNamesFromExposition } from '../../monitoring/metric-sources.js';
import { alertNames, readRuleGroups, recordedMetricNames, rulesFilePath } from '../../monitoring/prometheus/rule-groups.js';
import { repoRoot } from '../../monitoring/repo-root.js';
import { Metrics } from '../../src/server/metrics.js';

const RULES = rulesFilePath();
const RULES_TEST = path.join(repoRoot(), 'monitoring', 'prometheus', 'rules.test.yml');

function promtool(args: string[], cwd?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}); scripts/install-system-deps.sh installs Debian's prometheus package`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface RulesTestFile {
  tests: Array<{
    promql_expr_test?: Array<{ expr: string }>;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
  }>;
}

describe('Prometheus rules (monitoring/prometheus/rules.yml)', () => {
  const groups = readRuleGroups();

  it('pass promtool check rules', () => {
    const r = promtool(['check', 'rules', RULES]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS: \d+ rules found/);
  });

  it('pass their unit tests (promtool test rules rules.test.yml)', () => {
    const r = promtool(['test', 'rules', RULES_TEST]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });

  it('fail the unit tests when a threshold or a quantile changes (the tests can fail)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rtc-rules-'));
    try {
      copyFileSync(RULES_TEST, path.join(dir, 'rules.test.yml'));
      const original = readFileSync(RULES, 'utf8');
      for (const [from, to] of [
        ['pod:rtc_frame_processing_seconds:p95 > 0.2', 'pod:rtc_frame_processing_seconds:p95 > 0.5'],
        ['or on (namespace, pod)\n          pod:rtc_sessions_utilization:ratio', 'or on (namespace, pod)\n          pod:rtc_sessions_active:sum'],
        ['unless on (namespace, pod) pod:rtc_gpu_utilization:percent', 'unless on (namespace, pod) rtc_sessions_active'],
        ['histogram_quantile(0.95, deployment:', 'histogram_quantile(0.9, deployment:'],
        ['"namespace", "$1", "exported_namespace"', '"namespace_", "$1", "exported_namespace"'],
      ] as const) {
        assert.ok(original.includes(from), `mutation anchor missing: ${from}`);
        writeFileSync(path.join(dir, 'rules.yml'), original.replace(from, to));
        const r = promtool(['test', 'rules', 'rules.test.yml'], dir);
        assert.notEqual(r.status, 0, `promtool test passed with ${from} -> ${to}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('load in the local Prometheus config (promtool check config prometheus.local.yml)', () => {
    const r = promtool(['check', 'config', path.join(repoRoot(), 'monitoring', 'prometheus', 'prometheus.local.yml')]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS: 1 rule files found/);
  });

  it('define the names the HPA and prometheus-adapter use', () => {
    const recorded = new Set(recordedMetricNames(groups));
    for (const name of [
      'pod:rtc_frame_processing_seconds:p50', 'pod:rtc_frame_processing_seconds:p95', 'pod:rtc_frame_processing_seconds:p99',
      'deployment:rtc_frame_processing_seconds:p95', 'deployment:rtc_frame_processing_seconds:p99',
      'pod:rtc_gpu_utilization:percent',
      'pod:rtc_frames_received:rate1m', 'pod:rtc_frames_sent:rate1m', 'pod:rtc_frames_dropped:ratio_rate1m',
      'pod:rtc_sessions_active:sum', 'pod:rtc_gpu_busy_ratio:avg1m', 'pod:rtc_frame_server_latency_seconds:p95',
      'pod:rtc_capacity_utilization:ratio',
    ]) assert.ok(recorded.has(name), `recording rule ${name} missing`);
    assert.deepEqual(new Set(alertNames(groups)), new Set([
      'RtcFrameLatencyP95High', 'RtcFrameDropRatioHigh', 'RtcGpuSaturated', 'RtcGpuFallbackToCpu', 'RtcHpaGpuMetricMissing', 'RtcNoTargetsUp',
    ]));
    // The capacity metric: the engine's own figure, else sessions over the limit (until the server exports it).
    const capacity = groups.flatMap((g) => g.rules).find((r) => r.record === 'pod:rtc_capacity_utilization:ratio')!;
    assert.match(capacity.expr, /max by \(namespace, pod\) \(rtc_capacity_utilization_ratio\)\s+or on \(namespace, pod\)\s+pod:rtc_sessions_utilization:ratio/);
    const p95 = groups.flatMap((g) => g.rules).find((r) => r.record === 'pod:rtc_frame_processing_seconds:p95')!;
    assert.match(p95.expr, /histogram_quantile\(0\.95, pod:rtc_frame_processing_seconds_bucket:rate1m\)/);
    const bucketRate = groups.flatMap((g) => g.rules).find((r) => r.record === 'pod:rtc_frame_processing_seconds_bucket:rate1m')!;
    assert.equal(bucketRate.expr, 'sum by (namespace, pod, le) (rate(rtc_frame_processing_seconds_bucket[1m]))');
    const latency = groups.flatMap((g) => g.rules).find((r) => r.alert === 'RtcFrameLatencyP95High')!;
    assert.equal(latency.for, '5m');
    assert.match(latency.expr, /> 0\.2$/);
  });

  it('are each covered by a unit test, and every alert is tested firing and not firing', () => {
    const tests = (YAML.parse(readFileSync(RULES_TEST, 'utf8')) as RulesTestFile).tests;
    const exprs = tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr));
    const alertTests = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of recordedMetricNames(groups)) {
      assert.ok(exprs.some((e) => metricNamesInQuery(e).includes(name)), `no promql_expr_test reads ${name}`);
    }
    for (const name of alertNames(groups)) {
      const mine = alertTests.filter((a) => a.alertname === name);
      assert.ok(mine.some((a) => (a.exp_alerts ?? []).length > 0), `${name}: no test where it fires`);
      assert.ok(mine.some((a) => (a.exp_alerts ?? []).length === 0), `${name}: no test where it stays silent`);
    }
  });

  it('read only metrics the server, the DCGM exporter, Prometheus or another rule produce', async () => {
    const known = new Set([
      ...metricNamesFromExposition(await new Metrics().registry.metrics()),
      ...dcgmMetricNames(),
      ...PROMETHEUS_TARGET_SERIES,
      ...recordedMetricNames(groups),
    ]);
    for (const rule of groups.flatMap((g) => g.rules)) {
      for (const name of metricNamesInQuery(rule.expr)) {
        assert.ok(known.has(name), `${rule.record ?? rule.alert} reads ${name}, which nothing exports`);
      }
    }
  });

  it('evaluate in the order they depend on each other (a rule reads only rules recorded before it or in an earlier group)', () => {
    const seen = new Set<string>();
    const all = new Set(recordedMetricNames(groups));
    for (const g of groups) {
      for (const r of g.rules) {
        for (const n of metricNamesInQuery(r.expr)) {
          if (all.has(n)) assert.ok(seen.has(n), `${r.record ?? r.alert} reads ${n} before it is recorded`);
        }
        if (r.record) seen.add(r.record);
      }
    }
  });

  it('are the file promtool reports as the rules (no stale YAML anchors or duplicate records)', () => {
    const names = recordedMetricNames(groups);
    assert.equal(new Set(names).size, names.length, 'a series is recorded twice');
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    const count = Number(/SUCCESS: (\d+) rules found/.exec(out)![1]);
    assert.equal(count, groups.reduce((n, g) => n + g.rules.length, 0));
  });
});
