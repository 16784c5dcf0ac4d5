/**
 * Renders every kustomize overlay with `kubectl kustomize` (offline), validates every object
 * against the Kubernetes (and prometheus-operator) schemas of kubernetes-models, and checks the
 * properties the deployment depends on. Each check returns its problems as strings, so the last
 * tests can show that a broken manifest is caught.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IConfigMap, IContainer, IService } from 'kubernetes-models/v1';
import type { IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { INetworkPolicy, INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1';
import type { IHorizontalPodAutoscaler, IHPAScalingRules } from 'kubernetes-models/autoscaling/v2';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const overlays = fs.readdirSync(path.join(root, 'k8s/overlays'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();

/** Any rendered object; the typed views below are the kubernetes-models interfaces. */
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
type Labels = Record<string, string>;

function kubectlAvailable(): boolean {
  try { execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const KUBECTL_MISSING = 'kubectl not found: it renders the overlays (`kubectl kustomize`); install the google-cloud-cli '
  + 'repository\'s kubectl package, or the kubectl binary (v1.27+, kustomize v5) on PATH';

// Skipped on a developer machine without kubectl; in CI (CI=true) a missing kubectl fails instead.
const haveKubectl = kubectlAvailable();
const SKIP: string | false = haveKubectl || process.env.CI ? false : KUBECTL_MISSING;

function render(overlay: string): Obj[] {
  if (!haveKubectl) throw new Error(KUBECTL_MISSING);
  const out = execFileSync('kubectl', ['kustomize', path.join(root, 'k8s/overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

/** The kubernetes-models module for an apiVersion, or undefined for groups without models here. */
function modelModule(apiVersion: string): string | undefined {
  if (apiVersion === 'v1') return 'kubernetes-models/v1';
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  if (apiVersion.startsWith('monitoring.googleapis.com/')) return undefined; // GKE managed Prometheus CRDs
  return `kubernetes-models/${apiVersion}`;
}

type ModelClass = new (data: Obj) => { validate(): void };

async function schemaProblems(objs: Obj[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata?.name}`;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      problems.push(`${id}: apiVersion, kind and metadata.name are required`);
      continue;
    }
    const mod = modelModule(o.apiVersion);
    if (mod === undefined) continue;
    let Model: ModelClass | undefined;
    try {
      Model = (await import(mod) as Record<string, ModelClass | undefined>)[o.kind];
    } catch {
      Model = undefined;
    }
    if (!Model) { problems.push(`${id}: no schema for ${o.apiVersion} ${o.kind}`); continue; }
    try { new Model(o).validate(); } catch (err) { problems.push(`${id}: ${(err as Error).message}`); }
  }
  return problems;
}

function find<T>(objs: Obj[], kind: string, name?: string): T | undefined {
  return objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as T | undefined;
}
const all = <T>(objs: Obj[], kind: string): T[] => objs.filter((o) => o.kind === kind) as T[];
const media = (objs: Obj[]): IDeployment => find<IDeployment>(objs, 'Deployment', 'gpu-media')!;
const podSpec = (d: IDeployment) => d.spec!.template.spec!;
const container = (d: IDeployment, name: string): IContainer => podSpec(d).containers.find((c) => c.name === name)!;

/** The values a container's environment gets from its ConfigMaps (envFrom, rendered names) and plain env. */
function configEnv(objs: Obj[], c: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ref of c.envFrom ?? []) {
    const cm = ref.configMapRef?.name ? find<IConfigMap>(objs, 'ConfigMap', ref.configMapRef.name) : undefined;
    if (cm?.data) Object.assign(env, cm.data);
  }
  for (const e of c.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}

/** Kubernetes quantity to a number (cores, bytes). */
function quantity(q: string | number | undefined): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) return NaN;
  const mult: Record<string, number> = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? mult[m[2]]! : 1);
}

const matches = (selector: Labels | undefined, labels: Labels | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function checkMediaPod(objs: Obj[]): string[] {
  const p: string[] = [];
  const d = media(objs);
  if (!d) return ['Deployment gpu-media missing'];
  if (d.metadata?.namespace !== 'rtc') p.push('gpu-media not in namespace rtc');
  const labels = d.spec!.template.metadata?.labels ?? {};
  if (labels['app.kubernetes.io/name'] !== 'rtc-scale' || labels['app.kubernetes.io/component'] !== 'media') p.push('pod labels');
  const c = container(d, 'media');
  const port = (c.ports ?? []).find((x) => x.name === 'http');
  if (!port || port.containerPort !== 8080) p.push('container port http 8080');
  for (const [name, want] of [['startupProbe', '/healthz'], ['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
    const get = c[name]?.httpGet;
    if (!get || get.path !== want || get.port !== 'http') p.push(`${name} on ${want}`);
  }
  const r = c.resources ?? {};
  for (const k of ['cpu', 'memory']) {
    const req = r.requests?.[k];
    const lim = r.limits?.[k];
    if (req === undefined) p.push(`requests.${k}`);
    if (lim === undefined) p.push(`limits.${k}`);
    else if (req !== undefined && quantity(req) > quantity(lim)) p.push(`requests.${k} > limits.${k}`);
  }
  const env = configEnv(objs, c);
  if (env.RTC_HOST !== '0.0.0.0') p.push('RTC_HOST=0.0.0.0');
  const fieldRef = (n: string): string | undefined => c.env?.find((e) => e.name === n)?.valueFrom?.fieldRef?.fieldPath;
  if (fieldRef('POD_NAME') !== 'metadata.name' || fieldRef('POD_NAMESPACE') !== 'metadata.namespace') p.push('POD_NAME/POD_NAMESPACE from the downward API');
  return p;
}

function checkSecurity(objs: Obj[]): string[] {
  const p: string[] = [];
  for (const d of all<IDeployment>(objs, 'Deployment').filter((x) => x.metadata?.namespace === 'rtc')) {
    const id = d.metadata?.name;
    const spec = podSpec(d);
    const ps = spec.securityContext ?? {};
    if (ps.runAsNonRoot !== true) p.push(`${id}: runAsNonRoot`);
    if (!((ps.runAsUser ?? 0) > 0)) p.push(`${id}: runAsUser non-zero`);
    if (ps.seccompProfile?.type !== 'RuntimeDefault') p.push(`${id}: seccomp RuntimeDefault`);
    if (spec.hostNetwork) p.push(`${id}: hostNetwork`);
    for (const c of spec.containers) {
      const s = c.securityContext ?? {};
      if (s.allowPrivilegeEscalation !== false) p.push(`${id}/${c.name}: allowPrivilegeEscalation false`);
      if (s.readOnlyRootFilesystem !== true) p.push(`${id}/${c.name}: readOnlyRootFilesystem`);
      if (s.privileged === true) p.push(`${id}/${c.name}: privileged`);
      if (!(s.capabilities?.drop ?? []).includes('ALL')) p.push(`${id}/${c.name}: capabilities drop ALL`);
    }
  }
  const d = media(objs);
  const tmp = (container(d, 'media').volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
  const vol = tmp && (podSpec(d).volumes ?? []).find((v) => v.name === tmp.name);
  if (!vol?.emptyDir) p.push('gpu-media: an emptyDir on /tmp (read-only root filesystem)');
  // Access control on in every cluster: the token comes from a Secret the pod cannot start without.
  const auth = container(d, 'media').env?.find((e) => e.name === 'RTC_AUTH_TOKENS')?.valueFrom?.secretKeyRef;
  if (!auth?.name || auth.optional === true) p.push('gpu-media: RTC_AUTH_TOKENS from a required Secret');
  return p;
}

/** Zero-drop scale-down: preStop sleep, drain timeout, grace period, readiness off while draining. */
function checkDrain(objs: Obj[]): string[] {
  const p: string[] = [];
  const d = media(objs);
  const c = container(d, 'media');
  const pre = c.lifecycle?.preStop;
  const cmd = pre?.exec?.command;
  const sleepS = pre?.sleep?.seconds ?? (cmd && /(^|\/)sleep$/.test(cmd[0] ?? '') ? Number(cmd[1]) : NaN);
  if (!(sleepS > 0)) p.push('preStop sleep');
  const drain = Number(configEnv(objs, c).RTC_DRAIN_TIMEOUT_S);
  if (!(drain > 0)) p.push('RTC_DRAIN_TIMEOUT_S set');
  const grace = podSpec(d).terminationGracePeriodSeconds ?? 30;
  if (!(grace >= sleepS + drain)) p.push(`terminationGracePeriodSeconds ${grace} < preStop ${sleepS} + drain ${drain}`);
  if ((c.readinessProbe?.failureThreshold ?? 3) > 2) p.push('readiness must drop within a few seconds of draining');
  if (d.spec!.strategy?.rollingUpdate?.maxUnavailable !== 0) p.push('rolling update maxUnavailable 0');
  return p;
}

function checkRbac(objs: Obj[]): string[] {
  const p: string[] = [];
  const spec = podSpec(media(objs));
  const sa = spec.serviceAccountName ?? 'default';
  if (!find(objs, 'ServiceAccount', sa)) p.push(`ServiceAccount ${sa} missing`);
  if (spec.automountServiceAccountToken === false) p.push('token must be mounted for the deletion-cost updater');
  const forSa = (b: IRoleBinding): boolean => (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa);
  const bindings = all<IRoleBinding>(objs, 'RoleBinding').filter(forSa);
  if (bindings.length !== 1) p.push(`exactly one RoleBinding for ${sa}, got ${bindings.length}`);
  if (all<IRoleBinding>(objs, 'ClusterRoleBinding').some(forSa)) p.push('no cluster-wide rights');
  for (const b of bindings) {
    if (b.roleRef.kind !== 'Role') { p.push('bound to a Role, not a ClusterRole'); continue; }
    const role = find<IRole>(objs, 'Role', b.roleRef.name);
    if (!role) { p.push(`Role ${b.roleRef.name} missing`); continue; }
    const rules = role.rules ?? [];
    const r = rules[0];
    const ok = rules.length === 1 && r !== undefined && JSON.stringify(r.apiGroups) === '[""]' && JSON.stringify(r.resources) === '["pods"]'
      && JSON.stringify([...r.verbs].sort()) === '["get","patch"]' && r.resourceNames === undefined;
    if (!ok) p.push(`Role ${role.metadata?.name} must allow only get/patch on pods: ${JSON.stringify(rules)}`);
  }
  return p;
}

const udpRange = (ports: INetworkPolicyPort[], start: number): INetworkPolicyPort | undefined =>
  ports.find((x) => x.protocol === 'UDP' && x.port === start);

function checkServicePdbPolicy(objs: Obj[]): string[] {
  const p: string[] = [];
  const d = media(objs);
  const labels = d.spec!.template.metadata?.labels;
  const svc = find<IService>(objs, 'Service', 'gpu-media');
  if (!svc || !matches(svc.spec?.selector, labels)) p.push('Service gpu-media selects the media pods');
  else if (!(svc.spec?.ports ?? []).some((x) => x.targetPort === 'http')) p.push('Service targets port http');
  const pdb = all<IPodDisruptionBudget>(objs, 'PodDisruptionBudget').find((o) => matches(o.spec?.selector?.matchLabels, labels));
  if (!pdb) p.push('a PodDisruptionBudget for the media pods');
  else if (pdb.spec?.maxUnavailable === undefined && pdb.spec?.minAvailable === undefined) p.push('PDB sets a budget');
  const np = all<INetworkPolicy>(objs, 'NetworkPolicy').find((o) => matches(o.spec?.podSelector?.matchLabels, labels));
  if (!np) { p.push('a NetworkPolicy for the media pods'); return p; }
  const env = configEnv(objs, container(d, 'media'));
  const ingressPorts = (np.spec?.ingress ?? []).flatMap((r) => r.ports ?? []);
  const udp = udpRange(ingressPorts, Number(env.RTC_ICE_PORT_MIN));
  if (!udp || udp.endPort !== Number(env.RTC_ICE_PORT_MAX)) p.push(`NetworkPolicy UDP ingress = ICE range ${env.RTC_ICE_PORT_MIN}-${env.RTC_ICE_PORT_MAX}`);
  if (!ingressPorts.some((x) => x.protocol === 'TCP' && x.port === 8080)) p.push('NetworkPolicy allows TCP 8080');
  if (!(np.spec?.policyTypes ?? []).includes('Egress')) p.push('NetworkPolicy restricts egress');
  return p;
}

function checkGpu(objs: Obj[], wantGpu: boolean): string[] {
  const p: string[] = [];
  const spec = podSpec(media(objs));
  const c = container(media(objs), 'media');
  const gpuLimit = c.resources?.limits?.['nvidia.com/gpu'];
  const env = configEnv(objs, c);
  if (wantGpu) {
    if (quantity(gpuLimit) !== 1) p.push('limits nvidia.com/gpu: 1');
    if (quantity(c.resources?.requests?.['nvidia.com/gpu'] ?? gpuLimit) !== 1) p.push('requests nvidia.com/gpu equals the limit');
    if (!spec.nodeSelector?.['cloud.google.com/gke-accelerator']) p.push('nodeSelector cloud.google.com/gke-accelerator');
    const tol = (spec.tolerations ?? []).find((t) => t.key === 'nvidia.com/gpu');
    if (!tol || tol.effect !== 'NoSchedule' || (tol.operator !== 'Exists' && tol.operator !== 'Equal')) p.push('toleration nvidia.com/gpu NoSchedule');
    if (env.RTC_EXPECT_GPU !== '1') p.push('RTC_EXPECT_GPU=1 (a CPU fallback must raise rtc_gpu_fallback)');
  } else {
    if (gpuLimit !== undefined) p.push('no GPU on a CPU overlay');
    if (spec.nodeSelector?.['cloud.google.com/gke-accelerator']) p.push('no accelerator node selector on a CPU overlay');
    if (env.RTC_EXPECT_GPU === '1') p.push('RTC_EXPECT_GPU must be off on a CPU overlay');
  }
  return p;
}

function checkHpa(objs: Obj[]): string[] {
  const p: string[] = [];
  const hpa = find<IHorizontalPodAutoscaler & Obj>(objs, 'HorizontalPodAutoscaler');
  if (!hpa?.spec) return ['HorizontalPodAutoscaler missing'];
  const spec = hpa.spec;
  if (hpa.apiVersion !== 'autoscaling/v2') p.push('autoscaling/v2');
  const t = spec.scaleTargetRef;
  if (t.kind !== 'Deployment' || t.name !== 'gpu-media' || t.apiVersion !== 'apps/v1') p.push('targets Deployment gpu-media');
  const min = spec.minReplicas ?? 1;
  if (!(min >= 1) || !(spec.maxReplicas > min)) p.push('min/max replicas');
  const metrics = spec.metrics ?? [];
  const metric = (name: string) => metrics.find((m) => m.type === 'Pods' && m.pods?.metric.name === name)?.pods?.target;
  const p95 = metric('rtc_frame_processing_p95_seconds');
  if (p95?.type !== 'AverageValue' || quantity(p95.averageValue) !== 0.2) p.push('Pods metric rtc_frame_processing_p95_seconds, AverageValue 200m');
  const gpu = metric('rtc_gpu_utilization_percent');
  if (gpu?.type !== 'AverageValue' || quantity(gpu.averageValue) !== 70) p.push('Pods metric rtc_gpu_utilization_percent, AverageValue 70');
  if (metrics.length !== 2) p.push('exactly the two metrics');
  const up = spec.behavior?.scaleUp;
  const down = spec.behavior?.scaleDown;
  const has = (rules: IHPAScalingRules | undefined, type: string, value: number, period: number): boolean =>
    (rules?.policies ?? []).some((x) => x.type === type && x.value === value && x.periodSeconds === period);
  if (up?.stabilizationWindowSeconds !== 0 || up.selectPolicy !== 'Max' || !has(up, 'Percent', 100, 15) || !has(up, 'Pods', 4, 15)) p.push('fast scale-up: window 0, 100%/15s and 4 pods/15s, Max');
  if (down?.stabilizationWindowSeconds !== 300) p.push('scale-down stabilisation 300 s');
  const policies = down?.policies ?? [];
  const gentle = policies.every((x) => (x.type === 'Pods' && x.value / x.periodSeconds <= 1 / 60) || (x.type === 'Percent' && x.value <= 10 && x.periodSeconds >= 60));
  if (policies.length === 0 || !gentle || down?.selectPolicy === 'Disabled') p.push('gentle scale-down policy (at most 1 pod a minute)');
  if (media(objs).spec!.replicas !== undefined) p.push('Deployment must not set replicas under an HPA (apply would reset the count)');
  return p;
}

function checkTurn(objs: Obj[]): string[] {
  const p: string[] = [];
  const d = find<IDeployment>(objs, 'Deployment', 'coturn');
  const svc = find<IService>(objs, 'Service', 'coturn');
  if (!d || !svc) return ['coturn Deployment and Service'];
  const cm = all<IConfigMap & Obj>(objs, 'ConfigMap').find((o) => o.metadata.name.startsWith('coturn-config'));
  const conf = cm?.data?.['turnserver.conf'] ?? '';
  const lines = conf.split('\n').map((l) => l.trim());
  const opt = (k: string): string | undefined => {
    const line = lines.find((l) => l === k || l.startsWith(`${k}=`));
    return line === undefined ? undefined : line.slice(k.length + 1);
  };
  if (opt('use-auth-secret') === undefined) p.push('coturn use-auth-secret');
  const min = Number(opt('min-port'));
  const max = Number(opt('max-port'));
  if (!(min > 1024 && max >= min)) p.push('coturn relay port range');
  const ports = svc.spec?.ports ?? [];
  if (!ports.some((x) => x.port === 3478 && x.protocol === 'UDP')) p.push('Service UDP 3478');
  for (let port = min; port <= max; port++) {
    if (!ports.some((x) => x.port === port && x.protocol === 'UDP' && (x.targetPort ?? port) === port)) { p.push(`Service lacks relay port ${port}/UDP`); break; }
  }
  const podLabels = d.spec!.template.metadata?.labels;
  if (!matches(svc.spec?.selector, podLabels)) p.push('coturn Service selects coturn');
  const c = podSpec(d).containers[0]!;
  const secretOf = (cc: IContainer, name: string): string | undefined => cc.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.name;
  const mediaSecret = secretOf(container(media(objs), 'media'), 'RTC_TURN_SECRET');
  if (!mediaSecret || secretOf(c, 'TURN_SECRET') !== mediaSecret) p.push('coturn and gpu-media read the same shared secret');
  if (!(c.args ?? []).join(' ').includes('static-auth-secret')) p.push('coturn gets static-auth-secret');
  const np = all<INetworkPolicy>(objs, 'NetworkPolicy').find((o) => matches(o.spec?.podSelector?.matchLabels, podLabels));
  const relay = np && udpRange((np.spec?.ingress ?? []).flatMap((r) => r.ports ?? []), min);
  if (!relay || relay.endPort !== max) p.push('coturn NetworkPolicy admits the relay range');
  return p;
}

interface AdapterRule {
  seriesQuery: string;
  resources?: { overrides?: Record<string, { resource?: string }> };
  name?: { matches?: string; as?: string };
  metricsQuery: string;
}

/** prometheus-adapter rules serve exactly the HPA's metrics, from recording rules that exist. */
function checkAdapter(objs: Obj[]): string[] {
  const p: string[] = [];
  const values = parseYaml(fs.readFileSync(path.join(root, 'k8s/prometheus-adapter/values.yaml'), 'utf8')) as { rules: { default: boolean; custom: AdapterRule[] } };
  const rules = values.rules.custom;
  if (values.rules.default !== false) p.push('adapter default rules off');
  const hpa = find<IHorizontalPodAutoscaler>(objs, 'HorizontalPodAutoscaler')!;
  const recordingFile = path.join(root, 'monitoring/prometheus/rules.yml');
  const recorded = fs.existsSync(recordingFile) ? fs.readFileSync(recordingFile, 'utf8') : undefined;
  for (const m of hpa.spec?.metrics ?? []) {
    const name = m.pods?.metric.name ?? '';
    const rule = rules.find((r) => r.name?.as === name);
    if (!rule) { p.push(`adapter rule for ${name}`); continue; }
    const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(rule.seriesQuery)?.[1] ?? '';
    if (!new RegExp(rule.name?.matches ?? '.*').test(series)) p.push(`${name}: name.matches covers ${series}`);
    const ov = rule.resources?.overrides ?? {};
    if (ov.pod?.resource !== 'pod' || ov.namespace?.resource !== 'namespace') p.push(`${name}: pod and namespace labels map to resources`);
    if (!rule.metricsQuery.includes('<<.LabelMatchers>>') || !rule.metricsQuery.includes('<<.GroupBy>>')) p.push(`${name}: metricsQuery uses LabelMatchers and GroupBy`);
    if (recorded !== undefined && !new RegExp(`record:\\s*${series.replace(/[.:]/g, '\\$&')}\\s*$`, 'm').test(recorded)) p.push(`${series} is not a recording rule in monitoring/prometheus/rules.yml`);
  }
  return p;
}

const rendered = new Map<string, Obj[]>();
const get = (o: string): Obj[] => {
  if (!rendered.has(o)) rendered.set(o, render(o));
  return rendered.get(o)!;
};

test('there is a gke and a local overlay', () => {
  assert.ok(overlays.includes('gke') && overlays.includes('local'), overlays.join(','));
});

for (const overlay of overlays) {
  test(`overlay ${overlay}: renders, and every object passes its schema`, { skip: SKIP }, async () => {
    const objs = get(overlay);
    assert.ok(objs.length >= 8);
    assert.deepEqual(await schemaProblems(objs), []);
    const ids = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate objects');
    assert.ok(find(objs, 'Namespace', 'rtc'));
  });

  test(`overlay ${overlay}: media pod, security, drain, RBAC, Service/PDB/NetworkPolicy`, { skip: SKIP }, () => {
    const objs = get(overlay);
    assert.deepEqual(checkMediaPod(objs), []);
    assert.deepEqual(checkSecurity(objs), []);
    assert.deepEqual(checkDrain(objs), []);
    assert.deepEqual(checkRbac(objs), []);
    assert.deepEqual(checkServicePdbPolicy(objs), []);
    assert.deepEqual(checkGpu(objs, overlay === 'gke'), []);
  });
}

test('gke overlay: HPA on the two Pods metrics, prometheus-adapter rules, coturn', { skip: SKIP }, () => {
  const objs = get('gke');
  assert.deepEqual(checkHpa(objs), []);
  assert.deepEqual(checkAdapter(objs), []);
  assert.deepEqual(checkTurn(objs), []);
  assert.match(container(media(objs), 'media').image ?? '', /(^|\/)rtc-gpu-app(:|@)/);
});

test('gke overlay includes the monitoring kustomization when there is one', () => {
  const mon = path.join(root, 'monitoring/k8s/kustomization.yaml');
  const k = parseYaml(fs.readFileSync(path.join(root, 'k8s/overlays/gke/kustomization.yaml'), 'utf8')) as { resources: string[]; namespace?: string };
  if (fs.existsSync(mon)) assert.ok(k.resources.includes('../../../monitoring/k8s'), 'gke overlay lists ../../../monitoring/k8s');
  // Overlays must not set a namespace: it would move the monitoring objects into rtc.
  assert.equal(k.namespace, undefined);
});

// The checks above must be able to fail: break a copy of the rendered gke overlay in the ways a
// careless edit would, and expect each to be reported.
test('the checks catch broken manifests', { skip: SKIP }, async () => {
  const breakIt = (fn: (objs: Obj[]) => void): Obj[] => { const o = structuredClone(get('gke')); fn(o); return o; };
  const mc = (x: Obj[]): IContainer => container(media(x), 'media');
  const hpa = (x: Obj[]): IHorizontalPodAutoscaler => find<IHorizontalPodAutoscaler>(x, 'HorizontalPodAutoscaler')!;
  const cases: Array<[string, (x: Obj[]) => void, (x: Obj[]) => string[], string]> = [
    ['GPU limit removed', (x) => { delete mc(x).resources!.limits!['nvidia.com/gpu']; }, (x) => checkGpu(x, true), 'nvidia.com/gpu'],
    ['toleration removed', (x) => { podSpec(media(x)).tolerations = []; }, (x) => checkGpu(x, true), 'toleration'],
    ['short grace period', (x) => { podSpec(media(x)).terminationGracePeriodSeconds = 30; }, checkDrain, 'terminationGracePeriodSeconds'],
    ['no preStop', (x) => { delete mc(x).lifecycle; }, checkDrain, 'preStop'],
    ['readiness on /healthz', (x) => { mc(x).readinessProbe!.httpGet!.path = '/healthz'; }, checkMediaPod, 'readinessProbe'],
    ['writable root', (x) => { mc(x).securityContext!.readOnlyRootFilesystem = false; }, checkSecurity, 'readOnlyRootFilesystem'],
    ['auth optional', (x) => { mc(x).env!.find((e) => e.name === 'RTC_AUTH_TOKENS')!.valueFrom!.secretKeyRef!.optional = true; }, checkSecurity, 'RTC_AUTH_TOKENS'],
    ['Role grows', (x) => { find<IRole>(x, 'Role', 'gpu-media-pod-deletion-cost')!.rules![0]!.verbs.push('delete'); }, checkRbac, 'only get/patch'],
    ['no scale-down window', (x) => { hpa(x).spec!.behavior!.scaleDown!.stabilizationWindowSeconds = 0; }, checkHpa, '300'],
    ['p95 target 2 s', (x) => { hpa(x).spec!.metrics![0]!.pods!.target.averageValue = '2'; }, checkHpa, '200m'],
    ['replicas pinned', (x) => { media(x).spec!.replicas = 3; }, checkHpa, 'replicas'],
    ['relay port dropped', (x) => { find<IService>(x, 'Service', 'coturn')!.spec!.ports!.pop(); }, checkTurn, 'relay port'],
    ['PDB selects nothing', (x) => { find<IPodDisruptionBudget>(x, 'PodDisruptionBudget')!.spec!.selector!.matchLabels!['app.kubernetes.io/component'] = 'other'; }, checkServicePdbPolicy, 'PodDisruptionBudget'],
  ];
  for (const [what, mutate, check, expect] of cases) {
    assert.ok(check(breakIt(mutate)).some((s) => s.includes(expect)), `${what} is reported`);
  }
  // And the schema validation rejects a wrong type.
  const bad = breakIt((x) => { (mc(x).ports![0] as { containerPort: unknown }).containerPort = 'eighty'; });
  assert.ok((await schemaProblems(bad)).some((s) => s.includes('containerPort')));
});
