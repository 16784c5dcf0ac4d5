/**
 * Reads monitoring/prometheus/rules.yml, the one source of the Prometheus rules: the k8s
 * manifests and the dashboard checks are derived from what this returns.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../repo-root.js';

/** A recording or alerting rule as written in a Prometheus rules file. */
export interface PrometheusRule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A rule group as written in a Prometheus rules file. */
export interface PrometheusRuleGroup {
  name: string;
  interval?: string;
  rules: PrometheusRule[];
}

/** Thrown when the rules file does not have the shape of a Prometheus rules file. */
export class RulesFileFormatError extends Error {
  override name = 'RulesFileFormatError';
}

/** Path of the rules file. */
export function rulesFilePath(): string {
  return path.join(repoRoot(), 'monitoring', 'prometheus', 'rules.yml');
}

/** The rule groups of rules.yml (or of another rules file). */
export function readRuleGroups(file: string = rulesFilePath()): PrometheusRuleGroup[] {
  const doc = YAML.parse(readFileSync(file, 'utf8')) as { groups?: unknown };
  if (!Array.isArray(doc?.groups)) throw new RulesFileFormatError(`${file}: no groups list`);
  for (const g of doc.groups as PrometheusRuleGroup[]) {
    if (typeof g.name !== 'string' || !Array.isArray(g.rules)) throw new RulesFileFormatError(`${file}: malformed group`);
    for (const r of g.rules) {
      if (typeof r.expr !== 'string' || (typeof r.record !== 'string') === (typeof r.alert !== 'string')) {
        throw new RulesFileFormatError(`${file}: group ${g.name}: a rule needs expr and exactly one of record/alert`);
      }
    }
  }
  return doc.groups as PrometheusRuleGroup[];
}

/** Names of the series the recording rules write. */
export function recordedMetricNames(groups: PrometheusRuleGroup[]): string[] {
  return groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
}

/** Names of the alerts. */
export function alertNames(groups: PrometheusRuleGroup[]): string[] {
  return groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
}
