/**
 * The Prometheus rules as Kubernetes objects, derived from monitoring/prometheus/rules.yml so
 * nothing is copied by hand: a PrometheusRule for prometheus-operator and a ClusterRules object for
 * GKE managed Prometheus. ClusterRules rather than the namespaced Rules, because a Rules object
 * only sees series of its own namespace, and the DCGM series live in the exporter's namespace.
 */
import YAML from 'yaml';
import { readRuleGroups, type PrometheusRuleGroup } from '../prometheus/rule-groups.js';

/** How often GKE managed Prometheus evaluates the groups (it requires an interval per group). */
export const GMP_EVALUATION_INTERVAL = '30s';

/** A generated manifest: its path from the repository root and its text. */
export interface ManifestFile {
  path: string;
  text: string;
}

const HEADER = '# Generated from monitoring/prometheus/rules.yml by `npm run dashboards`. Do not edit:\n'
  + '# change rules.yml and regenerate (test/deploy/monitoring-manifests.test.ts checks they agree).\n';

const LABELS = { 'app.kubernetes.io/name': 'rtc-scale', 'app.kubernetes.io/component': 'monitoring' };

function toYaml(doc: unknown): string {
  return HEADER + YAML.stringify(doc, { lineWidth: 0, blockQuote: 'literal' });
}

/** The PrometheusRule (monitoring.coreos.com/v1) carrying every group. */
export function prometheusRule(groups: PrometheusRuleGroup[]): unknown {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'rtc-scale',
      namespace: 'rtc',
      // kube-prometheus-stack's default ruleSelector matches its release label.
      labels: { ...LABELS, release: 'kube-prometheus-stack' },
    },
    spec: { groups },
  };
}

/** The ClusterRules (monitoring.googleapis.com/v1) carrying every group, each with an interval. */
export function gmpClusterRules(groups: PrometheusRuleGroup[]): unknown {
  return {
    apiVersion: 'monitoring.googleapis.com/v1',
    kind: 'ClusterRules',
    metadata: { name: 'rtc-scale', labels: LABELS },
    spec: { groups: groups.map((g) => ({ name: g.name, interval: g.interval ?? GMP_EVALUATION_INTERVAL, rules: g.rules })) },
  };
}

/** The generated manifest files, from the rules file. */
export function ruleManifestFiles(groups: PrometheusRuleGroup[] = readRuleGroups()): ManifestFile[] {
  return [
    { path: 'monitoring/k8s/prometheus-operator/prometheusrule.yaml', text: toYaml(prometheusRule(groups)) },
    { path: 'monitoring/k8s/gke-managed/clusterrules.yaml', text: toYaml(gmpClusterRules(groups)) },
  ];
}
