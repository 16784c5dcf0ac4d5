/**
 * The cluster pieces under monitoring/k8s: the rule manifests are what the generator makes from
 * rules.yml, every kustomization renders with `kubectl kustomize` and its objects pass the
 * kubernetes-models schemas, the Grafana ConfigMaps carry the committed dashboards byte for byte,
 * the DCGM exporter exports every DCGM field the rules and dashboards read, and the scrape objects
 * select the gpu-media pods of k8s/base (and not the TURN pods).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { dashboardFileText, dashboardFiles, dashboardQueries } from '../../monitoring/dashboards/catalog.js';
import { metricNamesInQuery } from '../../monitoring/dashboards/promql-metric-names.js';
import { GMP_EVALUATION_INTERVAL, ruleManifestFiles } from '../../monitoring/manifests/rule-manifests.js';
import { dcgmMetricNames } from '../../monitoring/metric-sources.js';
import { readRuleGroups } from '../../monitoring/prometheus/rule-groups.js';
import { repoRoot } from '../../monitoring/repo-root.js';

const root = repoRoot();

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const SKIP_NO_KUBECTL = !kubectlAvailable() && 'kubectl not found: it renders the kustomizations (kubectl >= 1.27 with kustomize v5)';

function render(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(root, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return YAML.parseAllDocuments(out).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name.startsWith(name));
  assert.ok(o, `${kind}/${name} not rendered; have ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

type ModelClass = new (data: Obj) => { validate(): void };

/** Validate each object whose API group kubernetes-models knows; returns the groups it skipped. */
async function validateSchemas(objs: Obj[]): Promise<string[]> {
  const skipped: string[] = [];
  for (const o of objs) {
    let mod: string;
    if (o.apiVersion === 'v1') mod = 'kubernetes-models/v1';
    else if (o.apiVersion.startsWith('monitoring.coreos.com/')) mod = `@kubernetes-models/prometheus-operator/${o.apiVersion}`;
    else if (o.apiVersion.startsWith('monitoring.googleapis.com/')) { skipped.push(`${o.kind}/${o.metadata.name}`); continue; }
    else mod = `kubernetes-models/${o.apiVersion}`;
    const Model = ((await import(mod)) as Record<string, ModelClass>)[o.kind];
    assert.ok(Model, `no model for ${o.apiVersion} ${o.kind}`);
    assert.doesNotThrow(() => new Model(o).validate(), `${o.kind}/${o.metadata.name} fails its schema`);
  }
  return skipped;
}

describe('rule manifests (generated from rules.yml)', () => {
  const groups = readRuleGroups();

  it('are committed exactly as `npm run dashboards` generates them', () => {
    for (const f of ruleManifestFiles(groups)) {
      const committed = readFileSync(path.join(root, f.path), 'utf8');
      assert.ok(committed === f.text, `${f.path} is stale: run npm run build && npm run dashboards`);
    }
  });

  it('carry every group and rule of rules.yml unchanged (ClusterRules adds only the interval)', () => {
    type RuleFile = { kind: string; spec: { groups: unknown[] } };
    const files = ruleManifestFiles(groups).map((f) => YAML.parse(f.text) as RuleFile);
    assert.equal(files.length, 2);
    const [promRule, clusterRules] = files as [RuleFile, RuleFile];
    assert.equal(promRule.kind, 'PrometheusRule');
    assert.deepEqual(promRule.spec.groups, groups);
    assert.equal(clusterRules.kind, 'ClusterRules');
    assert.deepEqual(clusterRules.spec.groups, groups.map((g) => ({ name: g.name, interval: GMP_EVALUATION_INTERVAL, rules: g.rules })));
  });
});

describe('monitoring/k8s kustomizations', { skip: SKIP_NO_KUBECTL }, () => {
  it('render: the full self-managed stack, and each part on its own', async () => {
    const all = render('monitoring/k8s');
    const kinds = all.map((o) => `${o.kind}/${o.kind === 'ConfigMap' ? o.metadata.name.replace(/-[a-z0-9]{10}$/, '') : o.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      'ConfigMap/dcgm-exporter-counters',
      'ConfigMap/grafana-dashboard-provider-rtc-scale',
      'ConfigMap/grafana-dashboard-rtc-scale-gpu',
      'ConfigMap/grafana-dashboard-rtc-scale-scaling',
      'ConfigMap/grafana-dashboard-rtc-scale-service',
      'ConfigMap/grafana-datasource-rtc-scale',
      'DaemonSet/dcgm-exporter',
      'Namespace/gpu-monitoring',
      'PodMonitor/rtc-scale',
      'PrometheusRule/rtc-scale',
      'ResourceQuota/dcgm-exporter-critical-pods',
      'Service/dcgm-exporter',
      'ServiceMonitor/dcgm-exporter',
    ]);
    assert.deepEqual(await validateSchemas(all), []);
    const gke = render('monitoring/k8s/gke-managed');
    assert.deepEqual(gke.map((o) => o.kind).sort(), ['ClusterRules', 'PodMonitoring']);
    for (const part of ['prometheus-operator', 'dcgm-exporter', 'grafana']) assert.ok(render(`monitoring/k8s/${part}`).length > 0);
  });

  it('GKE managed Prometheus objects: PodMonitoring keeps the pod label, ClusterRules has an interval per group', () => {
    const gke = render('monitoring/k8s/gke-managed');
    const pm = find(gke, 'PodMonitoring', 'rtc-scale');
    assert.equal(pm.apiVersion, 'monitoring.googleapis.com/v1');
    assert.equal(pm.metadata.namespace, 'rtc');
    assert.equal(pm.metadata.name, 'rtc-scale', 'the PodMonitoring name is the job label RtcNoTargetsUp selects');
    const spec = pm.spec as { endpoints: Array<{ port: string; path: string }>; targetLabels: { metadata: string[] } };
    assert.deepEqual(spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
    assert.ok(spec.targetLabels.metadata.includes('pod'));
    const cr = find(gke, 'ClusterRules', 'rtc-scale');
    const groups = (cr.spec as { groups: Array<{ interval?: string }> }).groups;
    assert.ok(groups.length > 0 && groups.every((g) => g.interval === GMP_EVALUATION_INTERVAL));
  });

  it('Grafana ConfigMaps carry the committed dashboards byte for byte, labelled for the sidecar', () => {
    const objs = render('monitoring/k8s/grafana');
    for (const f of dashboardFiles()) {
      const cm = find(objs, 'ConfigMap', `grafana-dashboard-${f.file.replace(/\.json$/, '')}`);
      assert.equal(cm.metadata.namespace, 'monitoring');
      assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
      assert.equal(cm.data?.[f.file], readFileSync(path.join(root, 'monitoring/grafana/dashboards', f.file), 'utf8'));
      assert.equal(cm.data?.[f.file], dashboardFileText(f.dashboard));
    }
    const ds = find(objs, 'ConfigMap', 'grafana-datasource-rtc-scale');
    assert.equal(ds.metadata.labels?.grafana_datasource, '1');
    const dsDoc = YAML.parse(ds.data!['datasource.yaml']!) as { datasources: Array<{ type: string; url: string }> };
    assert.equal(dsDoc.datasources[0]!.type, 'prometheus');
    assert.match(dsDoc.datasources[0]!.url, /^http:\/\/.+:9090$/);
  });

  it('DCGM exporter: exports every DCGM field the rules and dashboards read, and its Service and ServiceMonitor line up', () => {
    const exported = new Set(dcgmMetricNames());
    const used = [
      ...readRuleGroups().flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboardFiles().flatMap((f) => dashboardQueries(f.dashboard)),
    ].flatMap(metricNamesInQuery).filter((n) => n.startsWith('DCGM_'));
    assert.ok(used.includes('DCGM_FI_DEV_GPU_UTIL'));
    for (const n of used) assert.ok(exported.has(n), `${n} is read but not in counters.csv`);

    const objs = render('monitoring/k8s');
    const ds = find(objs, 'DaemonSet', 'dcgm-exporter');
    const cm = find(objs, 'ConfigMap', 'dcgm-exporter-counters');
    const pod = (ds.spec as { template: { metadata: { labels: Record<string, string> }; spec: {
      volumes: Array<{ name: string; configMap?: { name: string } }>;
      containers: Array<{ ports: Array<{ name: string; containerPort: number }>; env: Array<{ name: string; value?: string }> }>;
    } } }).template;
    assert.ok(pod.spec.volumes.some((v) => v.configMap?.name === cm.metadata.name), 'DaemonSet does not mount the generated counters ConfigMap');
    assert.ok(pod.spec.containers[0]!.env.some((e) => e.name === 'DCGM_EXPORTER_KUBERNETES' && e.value === 'true'), 'pod mapping is off');
    const svc = find(objs, 'Service', 'dcgm-exporter');
    const svcSpec = svc.spec as { selector: Record<string, string>; ports: Array<{ name: string }> };
    assert.ok(matches(svcSpec.selector, pod.metadata.labels));
    const sm = find(objs, 'ServiceMonitor', 'dcgm-exporter');
    const smSpec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; honorLabels?: boolean }> };
    assert.ok(matches(smSpec.selector.matchLabels, svc.metadata.labels));
    assert.ok(svcSpec.ports.some((p) => p.name === smSpec.endpoints[0]!.port));
    assert.notEqual(smSpec.endpoints[0]!.honorLabels, true, 'honorLabels would keep pod/namespace instead of exported_pod/exported_namespace');
  });

  it('scrape objects select the gpu-media pods of k8s/base on their metrics port (RTC_METRICS_PORT), and not the TURN pods', { skip: !existsSync(path.join(root, 'k8s/base/kustomization.yaml')) && 'k8s/base not present' }, () => {
    const app = [...render('k8s/base'), ...(existsSync(path.join(root, 'k8s/coturn/kustomization.yaml')) ? render('k8s/coturn') : [])];
    const deploy = find(app, 'Deployment', 'gpu-media');
    const tmpl = (deploy.spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{
      ports?: Array<{ name?: string; containerPort: number }>; envFrom?: Array<{ configMapRef?: { name: string } }>;
    }> } } }).template;
    // /metrics is on RTC_METRICS_PORT, the container port named `metrics`; no Service exposes it.
    const cm = app.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('gpu-media-config'));
    const metricsPort = Number(cm?.data?.RTC_METRICS_PORT);
    const port = tmpl.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'metrics');
    assert.ok(metricsPort > 0 && port?.containerPort === metricsPort, `container port metrics = RTC_METRICS_PORT (${metricsPort})`);

    const pmo = find(render('monitoring/k8s/prometheus-operator'), 'PodMonitor', 'rtc-scale');
    const pmoSpec = pmo.spec as { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; podMetricsEndpoints: Array<{ port: string; path: string; relabelings: Array<{ targetLabel: string; replacement: string }> }> };
    const workloads = (sel: Record<string, string>, ns: string[]): string[] => app.filter((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet')
      && ns.includes(o.metadata.namespace ?? '')
      && matches(sel, (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels)).map((o) => o.metadata.name);
    assert.deepEqual(workloads(pmoSpec.selector.matchLabels, pmoSpec.namespaceSelector.matchNames), ['gpu-media'], 'the PodMonitor must select exactly the gpu-media pods');
    assert.deepEqual(pmoSpec.podMetricsEndpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
    assert.ok(pmoSpec.podMetricsEndpoints[0]!.relabelings.some((r) => r.targetLabel === 'job' && r.replacement === 'rtc-scale'));
    assert.equal(pmo.metadata.labels?.release, 'kube-prometheus-stack', "matches kube-prometheus-stack's podMonitorSelector");

    const pm = find(render('monitoring/k8s/gke-managed'), 'PodMonitoring', 'rtc-scale');
    const pmSpec = pm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string }> };
    assert.deepEqual(workloads(pmSpec.selector.matchLabels, [pm.metadata.namespace ?? '']), ['gpu-media'], 'the PodMonitoring must select exactly the gpu-media pods');
    assert.equal(pmSpec.endpoints[0]!.port, 'metrics');
    // And the Service of the media pods does not carry the metrics port.
    const svc = find(app, 'Service', 'gpu-media');
    const svcPorts = (svc.spec as { ports: Array<{ targetPort: string | number }> }).ports;
    assert.ok(!svcPorts.some((p) => p.targetPort === 'metrics' || p.targetPort === metricsPort));
  });
});
