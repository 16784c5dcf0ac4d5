/**
 * `npm run dashboards`: writes every generated file under monitoring/ — the Grafana dashboards
 * (monitoring/grafana/dashboards/*.json) and the rule manifests for Kubernetes
 * (monitoring/k8s/.../prometheusrule.yaml, clusterrules.yaml, from rules.yml). Commit the output;
 * tests fail when it differs from what this writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ruleManifestFiles } from '../manifests/rule-manifests.js';
import { repoRoot } from '../repo-root.js';
import { dashboardFileText, dashboardFiles } from './catalog.js';

const root = repoRoot();
const outputs = [
  ...dashboardFiles().map((d) => ({ path: path.join('monitoring', 'grafana', 'dashboards', d.file), text: dashboardFileText(d.dashboard) })),
  ...ruleManifestFiles(),
];
for (const o of outputs) {
  const full = path.join(root, o.path);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, o.text);
  console.log(`wrote ${o.path}`);
}
