/**
 * The metric names that exist outside the rules: the server's own (/metrics exposition text),
 * the DCGM exporter's (its counters file), kube-state-metrics' and Prometheus' `up`. Tests check
 * every name a rule or a dashboard reads against these, so nothing points at a series nobody exports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './repo-root.js';

/** kube-state-metrics series the scaling dashboard reads (kube-state-metrics 2.7 or later: autoscaling/v2 HPAs). */
export const KUBE_STATE_METRICS_NAMES: readonly string[] = [
  'kube_horizontalpodautoscaler_info',
  'kube_horizontalpodautoscaler_spec_max_replicas',
  'kube_horizontalpodautoscaler_spec_min_replicas',
  'kube_horizontalpodautoscaler_spec_target_metric',
  'kube_horizontalpodautoscaler_status_condition',
  'kube_horizontalpodautoscaler_status_current_replicas',
  'kube_horizontalpodautoscaler_status_desired_replicas',
  'kube_horizontalpodautoscaler_status_target_metric',
  'kube_deployment_spec_replicas',
  'kube_deployment_status_replicas_available',
];

/** Series Prometheus writes itself for every target. */
export const PROMETHEUS_TARGET_SERIES: readonly string[] = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

/**
 * Every series name a Prometheus text exposition can produce, from its # TYPE lines (so a labelled
 * histogram that has no observation yet still counts) and its sample lines.
 */
export function metricNamesFromExposition(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    const name = type?.[1];
    if (type && name) {
      const kind = type[2];
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      if (kind === 'counter' && !name.endsWith('_total')) names.add(`${name}_total`);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample?.[1]) names.add(sample[1]);
  }
  return [...names].sort();
}

/** Path of the DCGM exporter's counters file (monitoring/k8s/dcgm-exporter/counters.csv). */
export function dcgmCountersPath(): string {
  return path.join(repoRoot(), 'monitoring', 'k8s', 'dcgm-exporter', 'counters.csv');
}

/** The DCGM_FI_* names the DCGM exporter is configured to export. */
export function dcgmMetricNames(file: string = dcgmCountersPath()): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.split(',')[0] ?? '').trim())
    .sort();
}
