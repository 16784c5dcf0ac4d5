/**
 * Renders every kustomize overlay with `kubectl kustomize` (offline), validates every object
 * against the Kubernetes, prometheus-operator and GKE (BackendConfig, FrontendConfig,
 * ManagedCertificate: @kubernetes-models/gke) schemas of kubernetes-models, and checks the
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
import type { IDaemonSet, IDeployment } from 'kubernetes-models/apps/v1';
import type { IConfigMap, IContainer, IService } from 'kubernetes-models/v1';
import type { IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IIngress, INetworkPolicy, INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1';
import type { IHorizontalPodAutoscaler, IHPAScalingRules } from 'kubernetes-models/autoscaling/v2';
import type { IValidatingAdmissionPolicy, IValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1';

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
  // GKE's ManagedCertificate, FrontendConfig and BackendConfig CRDs.
  if (apiVersion.startsWith('networking.gke.io/') || apiVersion.startsWith('cloud.google.com/')) return `@kubernetes-models/gke/${apiVersion}`;
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
  // Readiness must not defeat pod-deletion-cost: a NotReady pod is deleted first on scale-down, so
  // a busy pod answering one probe late must stay Ready. Draining is explicit instead (deletion
  // takes the pod out of the endpoints, the preStop sleep covers the propagation).
  const rp = c.readinessProbe;
  const threshold = rp?.failureThreshold ?? 3;
  const period = rp?.periodSeconds ?? 10;
  if (threshold < 3 || threshold * period < 15 || (rp?.timeoutSeconds ?? 1) < 3) p.push(`readiness tolerates blips (>= 3 failures over >= 15 s, timeout >= 3 s): ${JSON.stringify(rp)}`);
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
  // The Role cannot name the pod; the admission policy narrows patch to the pod's own deletion cost.
  const user = `system:serviceaccount:${media(objs).metadata?.namespace}:${sa}`;
  const policy = all<IValidatingAdmissionPolicy & Obj>(objs, 'ValidatingAdmissionPolicy')
    .find((x) => (x.spec?.matchConditions ?? []).some((m) => m.expression.includes(`'${user}'`)));
  if (!policy) { p.push(`a ValidatingAdmissionPolicy matching requests of ${user}`); return p; }
  if (policy.metadata.namespace !== undefined) p.push('ValidatingAdmissionPolicy is cluster-scoped (no namespace)');
  if (policy.spec?.failurePolicy !== 'Fail') p.push('admission policy failurePolicy Fail');
  const rule = policy.spec?.matchConstraints?.resourceRules?.find((r) => (r.resources ?? []).includes('pods'));
  if (!rule || !(rule.operations ?? []).includes('UPDATE')) p.push('admission policy covers UPDATE of pods (a patch is an UPDATE)');
  const exprs = (policy.spec?.validations ?? []).map((v) => v.expression).join('\n');
  if (!exprs.includes("'authentication.kubernetes.io/pod-name'")) p.push('admission policy: only the pod the token is bound to');
  if (!/object\.spec == oldObject\.spec/.test(exprs)) p.push('admission policy: no spec change');
  if (!/labels/.test(exprs)) p.push('admission policy: no label change');
  if (!exprs.includes("'controller.kubernetes.io/pod-deletion-cost'")) p.push('admission policy: only the deletion-cost annotation');
  const binding = all<IValidatingAdmissionPolicyBinding & Obj>(objs, 'ValidatingAdmissionPolicyBinding').find((b) => b.spec?.policyName === policy.metadata.name);
  if (!binding) p.push(`a binding for ${policy.metadata.name}`);
  else if (!(binding.spec?.validationActions ?? []).includes('Deny')) p.push('admission policy binding denies (validationActions Deny)');
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

/**
 * Several replicas: each pod advertises its pod IP (downward API), all share RTC_CLUSTER_SECRET
 * from a Secret (required), may reach each other's HTTP port (forwarding), and the server's
 * keep-alive outlasts Google's load balancer's 600 s on GKE. No NVIDIA_VISIBLE_DEVICES anywhere.
 */
function checkCluster(objs: Obj[], gke: boolean): string[] {
  const p: string[] = [];
  const d = media(objs);
  const c = container(d, 'media');
  const envList = c.env ?? [];
  const at = (n: string): number => envList.findIndex((e) => e.name === n);
  const podIp = envList.find((e) => e.name === 'POD_IP');
  if (podIp?.valueFrom?.fieldRef?.fieldPath !== 'status.podIP') p.push('POD_IP from the downward API (status.podIP)');
  const advertise = envList.find((e) => e.name === 'RTC_ADVERTISE_URL');
  if (advertise?.value !== 'http://$(POD_IP):8080' || at('POD_IP') < 0 || at('POD_IP') > at('RTC_ADVERTISE_URL')) {
    p.push('RTC_ADVERTISE_URL=http://$(POD_IP):8080, after POD_IP');
  }
  const secret = envList.find((e) => e.name === 'RTC_CLUSTER_SECRET')?.valueFrom?.secretKeyRef;
  if (!secret || secret.name !== 'rtc-cluster' || secret.optional === true) p.push('RTC_CLUSTER_SECRET from Secret rtc-cluster, required');
  const env = configEnv(objs, c);
  if (env.NVIDIA_VISIBLE_DEVICES !== undefined) p.push('no NVIDIA_VISIBLE_DEVICES on the media pod (the device plugin sets it)');
  if (gke && !(Number(env.RTC_KEEP_ALIVE_TIMEOUT_S) > 600)) p.push(`RTC_KEEP_ALIVE_TIMEOUT_S above 600 on GKE, got ${env.RTC_KEEP_ALIVE_TIMEOUT_S}`);
  const labels = d.spec!.template.metadata?.labels;
  const np = all<INetworkPolicy>(objs, 'NetworkPolicy').find((o) => matches(o.spec?.podSelector?.matchLabels, labels));
  const toPeers = (np?.spec?.egress ?? []).some((r) => (r.to ?? []).some((t) => matches(t.podSelector?.matchLabels, labels) && t.namespaceSelector === undefined)
    && (r.ports ?? []).some((x) => x.protocol === 'TCP' && x.port === 8080));
  if (!toPeers) p.push('NetworkPolicy egress to the other media pods on TCP 8080 (forwarding), and only to them');
  return p;
}

function checkGpu(objs: Obj[], wantGpu: boolean): string[] {
  const p: string[] = [];
  const spec = podSpec(media(objs));
  const c = container(media(objs), 'media');
  const gpuLimit = c.resources?.limits?.['nvidia.com/gpu'];
  const env = configEnv(objs, c);
  const accelTerms = (spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [])
    .flatMap((t) => t.matchExpressions ?? []).filter((e) => e.key === 'cloud.google.com/gke-accelerator');
  if (wantGpu) {
    if (quantity(gpuLimit) !== 1) p.push('limits nvidia.com/gpu: 1');
    if (quantity(c.resources?.requests?.['nvidia.com/gpu'] ?? gpuLimit) !== 1) p.push('requests nvidia.com/gpu equals the limit');
    // L4 (G2 machines) and T4 (N1 machines): the node pool decides; the Deployment must not pin one.
    if (spec.nodeSelector?.['cloud.google.com/gke-accelerator']) p.push('no nodeSelector pinning one accelerator type');
    const values = accelTerms.find((e) => e.operator === 'In')?.values ?? [];
    for (const gpu of ['nvidia-l4', 'nvidia-tesla-t4']) if (!values.includes(gpu)) p.push(`node affinity admits ${gpu}`);
    const tol = (spec.tolerations ?? []).find((t) => t.key === 'nvidia.com/gpu');
    if (!tol || tol.effect !== 'NoSchedule' || (tol.operator !== 'Exists' && tol.operator !== 'Equal')) p.push('toleration nvidia.com/gpu NoSchedule');
    if (env.RTC_EXPECT_GPU !== '1') p.push('RTC_EXPECT_GPU=1 (a CPU fallback must raise rtc_gpu_fallback)');
  } else {
    if (gpuLimit !== undefined) p.push('no GPU on a CPU overlay');
    if (spec.nodeSelector?.['cloud.google.com/gke-accelerator'] || accelTerms.length) p.push('no accelerator node selector on a CPU overlay');
    if (env.RTC_EXPECT_GPU === '1') p.push('RTC_EXPECT_GPU must be off on a CPU overlay');
  }
  return p;
}

function checkHpa(objs: Obj[], managed = false): string[] {
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
  // What fills a pod first, then the filter's latency and the GPU.
  const names = managed
    ? ['prometheus.googleapis.com|pod:rtc_capacity_utilization:ratio|gauge', 'prometheus.googleapis.com|pod:rtc_frame_processing_seconds:p95|gauge', 'prometheus.googleapis.com|pod:rtc_gpu_utilization:percent|gauge']
    : ['rtc_capacity_utilization_ratio', 'rtc_frame_processing_p95_seconds', 'rtc_gpu_utilization_percent'];
  const targets = [0.7, 0.2, 70];
  if (JSON.stringify(metrics.map((m) => m.pods?.metric.name)) !== JSON.stringify(names)) p.push(`metrics are exactly ${names.join(', ')}`);
  names.forEach((name, i) => {
    const m = metrics.find((x) => x.type === 'Pods' && x.pods?.metric.name === name)?.pods?.target;
    if (m?.type !== 'AverageValue' || !(Math.abs(quantity(m.averageValue) - targets[i]!) < 1e-9)) p.push(`Pods metric ${name}, AverageValue ${targets[i]}`);
  });
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
  const services = all<IService & Obj>(objs, 'Service').filter((x) => x.metadata.name.startsWith('coturn'));
  if (!d || services.length === 0) return ['coturn Deployment and Services'];
  const cm = all<IConfigMap & Obj>(objs, 'ConfigMap').find((o) => o.metadata.name.startsWith('coturn-config'));
  const conf = cm?.data?.['turnserver.conf'] ?? '';
  const lines = conf.split('\n').map((l) => l.trim());
  const opt = (k: string): string | undefined => {
    const line = lines.find((l) => l === k || l.startsWith(`${k}=`));
    return line === undefined ? undefined : line.slice(k.length + 1);
  };
  if (opt('use-auth-secret') === undefined) p.push('coturn use-auth-secret');
  if (opt('no-tls') !== undefined) p.push('coturn must not disable TLS in its static config');
  const min = Number(opt('min-port'));
  const max = Number(opt('max-port'));
  if (!(min > 1024 && max >= min)) p.push('coturn relay port range');
  // Two or more replicas, rolled one at a time, kept through voluntary disruptions.
  if (!((d.spec?.replicas ?? 1) >= 2)) p.push('coturn: two or more replicas');
  if (d.spec?.strategy?.type === 'Recreate' || d.spec?.strategy?.rollingUpdate?.maxUnavailable !== 0) p.push('coturn: RollingUpdate with maxUnavailable 0');
  const podLabels = d.spec!.template.metadata?.labels;
  const pdb = all<IPodDisruptionBudget>(objs, 'PodDisruptionBudget').find((o) => matches(o.spec?.selector?.matchLabels, podLabels));
  if (!pdb || !(Number(pdb.spec?.minAvailable ?? 0) >= 1)) p.push('coturn: a PodDisruptionBudget with minAvailable >= 1');
  // TURN over UDP and TCP on 3478 and over TLS on 443, on LoadBalancer Services selecting coturn.
  const c = podSpec(d).containers[0]!;
  const containerPort = (name: string): { containerPort: number; protocol?: string } | undefined => (c.ports ?? []).find((x) => x.name === name);
  const exposed = services.flatMap((svc) => (svc.spec?.ports ?? []).map((x) => ({ svc, x })));
  const want: Array<[number, string, number]> = [[3478, 'UDP', 3478], [3478, 'TCP', 3478], [443, 'TCP', Number(opt('tls-listening-port'))]];
  for (const [port, proto, target] of want) {
    const e = exposed.find(({ x }) => x.port === port && (x.protocol ?? 'TCP') === proto);
    const cp = e && typeof e.x.targetPort === 'string' ? containerPort(e.x.targetPort) : undefined;
    if (!e || !cp || cp.containerPort !== target || (cp.protocol ?? 'TCP') !== proto) p.push(`TURN ${port}/${proto} reaches container port ${target}/${proto}`);
  }
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer' || !matches(svc.spec?.selector, podLabels)) p.push(`${svc.metadata.name}: a LoadBalancer selecting coturn`);
    if (svc.spec?.externalTrafficPolicy !== 'Local') p.push(`${svc.metadata.name}: externalTrafficPolicy Local (client addresses)`);
  }
  // Relay addresses are pod IPs: the relay range is not on the load balancer.
  if (exposed.some(({ x }) => x.port >= min && x.port <= max)) p.push('relay ports must not be on the load balancer (relays are on pod IPs)');
  const args = (c.args ?? []).join(' ');
  if (!args.includes('relay-ip=') || !(c.env ?? []).some((e) => e.name === 'POD_IP' && e.valueFrom?.fieldRef?.fieldPath === 'status.podIP')) p.push('coturn relays on its pod IP');
  if (!args.includes('static-auth-secret')) p.push('coturn gets static-auth-secret');
  const tlsVol = (podSpec(d).volumes ?? []).find((v) => v.secret?.secretName === 'turn-tls');
  if (!tlsVol || !(c.volumeMounts ?? []).some((m) => m.name === tlsVol.name)) p.push('coturn mounts the Secret turn-tls');
  const secretOf = (cc: IContainer, name: string): string | undefined => cc.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.name;
  const mediaSecret = secretOf(container(media(objs), 'media'), 'RTC_TURN_SECRET');
  if (!mediaSecret || secretOf(c, 'TURN_SECRET') !== mediaSecret) p.push('coturn and gpu-media read the same shared secret');
  const np = all<INetworkPolicy>(objs, 'NetworkPolicy').find((o) => matches(o.spec?.podSelector?.matchLabels, podLabels));
  const relayRule = np?.spec?.ingress?.find((r) => udpRange(r.ports ?? [], min));
  const relay = relayRule && udpRange(relayRule.ports ?? [], min);
  if (!relay || relay.endPort !== max) p.push('coturn NetworkPolicy admits the relay range');
  else if (!(relayRule.from ?? []).length || !(relayRule.from ?? []).every((f) => matches(f.podSelector?.matchLabels, media(objs).spec!.template.metadata?.labels))) p.push('relay range only from the media pods');
  const ingressPorts = (np?.spec?.ingress ?? []).flatMap((r) => r.ports ?? []);
  for (const [port, proto] of [[3478, 'UDP'], [3478, 'TCP'], [Number(opt('tls-listening-port')), 'TCP']] as const) {
    if (!ingressPorts.some((x) => x.port === port && x.protocol === proto)) p.push(`coturn NetworkPolicy admits ${port}/${proto}`);
  }
  return p;
}

/** HTTPS signalling: an Ingress with TLS routes only the public paths to gpu-media's http port. */
function checkTls(objs: Obj[], gke: boolean): string[] {
  const p: string[] = [];
  const ing = all<IIngress & Obj>(objs, 'Ingress').find((x) => x.metadata.name === 'gpu-media');
  if (!ing) return ['Ingress gpu-media'];
  const paths = (ing.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []);
  const routed = paths.map((x) => x.path ?? '');
  for (const want of ['/app', '/offer', '/ice-servers', '/sessions']) if (!routed.includes(want)) p.push(`Ingress routes ${want}`);
  // WHIP/WHEP endpoints and their resources (/whip/sessions/ID, /whep/viewers/ID) under one prefix each.
  for (const want of ['/whip', '/whep']) if (!paths.some((x) => x.path === want && x.pathType === 'Prefix')) p.push(`Ingress routes ${want} (Prefix)`);
  for (const never of ['/metrics', '/backends']) {
    if (paths.some((x) => x.path === never || (x.pathType === 'Prefix' && never.startsWith(`${x.path}`) && x.path !== '/'))) p.push(`Ingress must not route ${never}`);
  }
  if (paths.some((x) => x.path === '/' && x.pathType !== 'Exact')) p.push('"/" only as Exact (a Prefix "/" would route everything)');
  if (!paths.every((x) => x.backend.service?.name === 'gpu-media' && x.backend.service.port?.name === 'http')) p.push('every path goes to gpu-media:http');
  const ann = ing.metadata.annotations ?? {};
  if (gke) {
    const certName = ann['networking.gke.io/managed-certificates'];
    const cert = certName ? all<Obj & { spec?: { domains?: string[] } }>(objs, 'ManagedCertificate').find((x) => x.metadata.name === certName) : undefined;
    if (!cert || !(cert.spec?.domains ?? []).length) p.push('Ingress uses a ManagedCertificate with a domain');
    if (!ann['kubernetes.io/ingress.global-static-ip-name']) p.push('Ingress on a reserved global static IP');
    const fcName = ann['networking.gke.io/v1beta1.FrontendConfig'];
    const fc = all<Obj & { spec?: { redirectToHttps?: { enabled?: boolean } } }>(objs, 'FrontendConfig').find((x) => x.metadata.name === fcName);
    if (fc?.spec?.redirectToHttps?.enabled !== true) p.push('FrontendConfig redirects http to https');
    const svc = find<IService & Obj>(objs, 'Service', 'gpu-media')!;
    if (svc.spec?.type === 'LoadBalancer' || svc.spec?.type === 'NodePort') p.push('gpu-media Service is not exposed on its own (only through the Ingress)');
    const bcRef = (svc.metadata as { annotations?: Record<string, string> }).annotations?.['cloud.google.com/backend-config'] ?? '';
    const bcName = (JSON.parse(bcRef || '{}') as { default?: string }).default;
    const bc = all<Obj & { spec?: { healthCheck?: { requestPath?: string } } }>(objs, 'BackendConfig').find((x) => x.metadata.name === bcName);
    if (bc?.spec?.healthCheck?.requestPath !== '/readyz') p.push('BackendConfig health check on /readyz');
  } else {
    const tls = ing.spec?.tls?.[0];
    if (!tls?.secretName || !(tls.hosts ?? []).length) p.push('local Ingress terminates TLS with a Secret (scripts/local-tls.sh)');
  }
  return p;
}

/** /metrics on its own port: set in the config, not on any Service, only the scrapers may connect. */
function checkMetricsPort(objs: Obj[]): string[] {
  const p: string[] = [];
  const d = media(objs);
  const c = container(d, 'media');
  const port = Number(configEnv(objs, c).RTC_METRICS_PORT);
  const cp = (c.ports ?? []).find((x) => x.name === 'metrics');
  if (!(port > 0) || cp?.containerPort !== port) p.push(`RTC_METRICS_PORT (${port}) is the container port named metrics`);
  if (port === Number(configEnv(objs, c).PORT)) p.push('metrics port differs from the signalling port');
  for (const svc of all<IService & Obj>(objs, 'Service').filter((x) => matches(x.spec?.selector, d.spec!.template.metadata?.labels))) {
    if ((svc.spec?.ports ?? []).some((x) => x.targetPort === 'metrics' || x.targetPort === port)) p.push(`${svc.metadata.name} must not expose the metrics port`);
  }
  const np = all<INetworkPolicy>(objs, 'NetworkPolicy').find((o) => matches(o.spec?.podSelector?.matchLabels, d.spec!.template.metadata?.labels));
  const rules = (np?.spec?.ingress ?? []).filter((r) => (r.ports ?? []).some((x) => x.port === port));
  if (rules.length === 0) p.push('NetworkPolicy admits the scrapers on the metrics port');
  if (rules.some((r) => !(r.from ?? []).length)) p.push('metrics port not open to everyone');
  return p;
}

/** One monitoring path per overlay, and the DCGM exporter shaped for GKE where it runs. */
function checkMonitoring(objs: Obj[], overlay: string): string[] {
  const p: string[] = [];
  const groups = new Set(objs.map((o) => o.apiVersion.split('/')[0]));
  if (overlay === 'gke') {
    if (groups.has('monitoring.googleapis.com')) p.push('gke: no managed-Prometheus objects');
    const pm = all<Obj & { spec?: { podMetricsEndpoints?: Array<{ port?: string }> } }>(objs, 'PodMonitor').find((x) => x.metadata.name === 'rtc-scale');
    if (pm?.spec?.podMetricsEndpoints?.[0]?.port !== 'metrics') p.push('gke: PodMonitor on the metrics port');
    const ds = find<IDaemonSet & Obj>(objs, 'DaemonSet', 'dcgm-exporter');
    if (!ds) return [...p, 'gke: the DCGM exporter'];
    const spec = ds.spec!.template.spec!;
    const c = spec.containers[0]!;
    if (c.securityContext?.privileged !== true) p.push('DCGM exporter privileged (no NVIDIA runtime on GKE)');
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    if (env.DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE !== 'device-name') p.push('DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE=device-name');
    if (!(env.LD_LIBRARY_PATH ?? '').split(':').includes('/usr/local/nvidia/lib64')) p.push('LD_LIBRARY_PATH has /usr/local/nvidia/lib64');
    if (env.NVIDIA_VISIBLE_DEVICES !== undefined) p.push('no NVIDIA_VISIBLE_DEVICES (nothing on GKE reads it)');
    const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === '/usr/local/nvidia');
    const vol = mount && (spec.volumes ?? []).find((v) => v.name === mount.name);
    if (vol?.hostPath?.path !== '/home/kubernetes/bin/nvidia') p.push('host driver /home/kubernetes/bin/nvidia mounted at /usr/local/nvidia');
    const ns = find<Obj>(objs, 'Namespace', ds.metadata.namespace);
    if (ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'privileged') p.push('exporter namespace admits privileged pods');
    if (spec.priorityClassName?.startsWith('system-') && !all<Obj & { spec?: { scopeSelector?: { matchExpressions?: Array<{ values?: string[] }> } } }>(objs, 'ResourceQuota')
      .some((q) => q.metadata.namespace === ds.metadata.namespace && (q.spec?.scopeSelector?.matchExpressions ?? []).some((e) => (e.values ?? []).includes(spec.priorityClassName!)))) {
      p.push('a ResourceQuota admitting the exporter\'s priority class outside kube-system');
    }
  } else if (overlay === 'gke-managed') {
    if (groups.has('monitoring.coreos.com')) p.push('gke-managed: no prometheus-operator objects (the CRDs do not exist there)');
    if (find(objs, 'DaemonSet', 'dcgm-exporter')) p.push('gke-managed: GKE runs DCGM, no exporter');
    const pm = all<Obj & { spec?: { endpoints?: Array<{ port?: string }> } }>(objs, 'PodMonitoring').find((x) => x.metadata.name === 'rtc-scale');
    if (pm?.spec?.endpoints?.[0]?.port !== 'metrics') p.push('gke-managed: PodMonitoring on the metrics port');
    if (!find(objs, 'ClusterRules', 'rtc-scale')) p.push('gke-managed: ClusterRules');
  }
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

/** Google's adapter: each HPA metric names a gauge that the ClusterRules of the overlay record. */
function checkManagedMetrics(objs: Obj[]): string[] {
  const p: string[] = [];
  const hpa = find<IHorizontalPodAutoscaler>(objs, 'HorizontalPodAutoscaler')!;
  const cr = find<Obj & { spec?: { groups?: Array<{ rules: Array<{ record?: string }> }> } }>(objs, 'ClusterRules', 'rtc-scale');
  const recorded = new Set((cr?.spec?.groups ?? []).flatMap((g) => g.rules.map((r) => r.record)));
  for (const m of hpa.spec?.metrics ?? []) {
    const parts = /^prometheus\.googleapis\.com\|([a-zA-Z_:][a-zA-Z0-9_:]*)\|gauge$/.exec(m.pods?.metric.name ?? '');
    if (!parts) { p.push(`${m.pods?.metric.name}: prometheus.googleapis.com|<series>|gauge`); continue; }
    if (!recorded.has(parts[1])) p.push(`${parts[1]} is not recorded by the ClusterRules`);
  }
  return p;
}

const rendered = new Map<string, Obj[]>();
const get = (o: string): Obj[] => {
  if (!rendered.has(o)) rendered.set(o, render(o));
  return rendered.get(o)!;
};

test('there are the two GKE overlays (one per monitoring path) and a local one', () => {
  for (const o of ['gke', 'gke-managed', 'local']) assert.ok(overlays.includes(o), overlays.join(','));
});

const GKE = ['gke', 'gke-managed'];

for (const overlay of overlays) {
  test(`overlay ${overlay}: renders, and every object passes its schema`, { skip: SKIP }, async () => {
    const objs = get(overlay);
    assert.ok(objs.length >= 8);
    assert.deepEqual(await schemaProblems(objs), []);
    const ids = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate objects');
    assert.ok(find(objs, 'Namespace', 'rtc'));
  });

  test(`overlay ${overlay}: media pod, security, drain, RBAC and admission policy, Service/PDB/NetworkPolicy, metrics port, TLS`, { skip: SKIP }, () => {
    const objs = get(overlay);
    assert.deepEqual(checkMediaPod(objs), []);
    assert.deepEqual(checkSecurity(objs), []);
    assert.deepEqual(checkDrain(objs), []);
    assert.deepEqual(checkRbac(objs), []);
    assert.deepEqual(checkServicePdbPolicy(objs), []);
    assert.deepEqual(checkGpu(objs, GKE.includes(overlay)), []);
    assert.deepEqual(checkMetricsPort(objs), []);
    assert.deepEqual(checkTls(objs, GKE.includes(overlay)), []);
    assert.deepEqual(checkMonitoring(objs, overlay), []);
    assert.deepEqual(checkCluster(objs, GKE.includes(overlay)), []);
  });
}

for (const overlay of GKE) {
  test(`${overlay} overlay: HPA on capacity, p95 and GPU, its adapter's metrics, coturn`, { skip: SKIP }, () => {
    const objs = get(overlay);
    assert.deepEqual(checkHpa(objs, overlay === 'gke-managed'), []);
    assert.deepEqual(overlay === 'gke' ? checkAdapter(objs) : checkManagedMetrics(objs), []);
    assert.deepEqual(checkTurn(objs), []);
    assert.match(container(media(objs), 'media').image ?? '', /(^|\/)rtc-gpu-app(:|@)/);
  });
}

test('the local overlay has no HPA, no TURN and no GPU', { skip: SKIP }, () => {
  const objs = get('local');
  assert.equal(find(objs, 'HorizontalPodAutoscaler'), undefined);
  assert.equal(find(objs, 'Deployment', 'coturn'), undefined);
});

test('each GKE overlay includes exactly one monitoring path and no namespace', () => {
  const k = (o: string): { resources: string[]; namespace?: string; components?: string[] } =>
    parseYaml(fs.readFileSync(path.join(root, 'k8s/overlays', o, 'kustomization.yaml'), 'utf8')) as { resources: string[]; namespace?: string; components?: string[] };
  const gke = k('gke');
  const managed = k('gke-managed');
  assert.ok(gke.resources.includes('../../../monitoring/k8s') && !gke.resources.includes('../../../monitoring/k8s/gke-managed'));
  assert.ok(managed.resources.includes('../../../monitoring/k8s/gke-managed') && !managed.resources.includes('../../../monitoring/k8s'));
  for (const o of [gke, managed]) {
    assert.ok(o.components?.includes('../../components/gke'));
    // Overlays must not set a namespace: it would move the monitoring and cluster-scoped objects.
    assert.equal(o.namespace, undefined);
  }
});

/** Allocatable CPU of the GKE machine types the scripts use (GKE's reservation: 6 % of the first core, 1 % of the second, 0.5 % of cores 3-4, 0.25 % above). */
function allocatableCpu(machine: string): number {
  const cores = Number(/-(\d+)$/.exec(machine)?.[1]);
  const reserved = [0.06, 0.01, 0.005, 0.005].slice(0, cores).reduce((a, b) => a + b, 0) + Math.max(0, cores - 4) * 0.0025;
  return cores - reserved;
}

test('the load generator Job fits the loadgen pool of gke-setup.sh, not the system or GPU pools, and tolerates its taint', { skip: SKIP }, () => {
  const out = execFileSync('kubectl', ['kustomize', path.join(root, 'k8s/loadgen')], { encoding: 'utf8' });
  const job = parseAllDocuments(out).map((d) => d.toJS() as Obj).find((o) => o.kind === 'Job') as unknown as { spec: { template: { spec: { containers: IContainer[]; tolerations?: Array<{ key?: string; effect?: string }>; affinity?: { nodeAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: Array<{ preference: { matchExpressions?: Array<{ key: string; values?: string[] }> } }> } } } } } };
  const cpu = quantity(job.spec.template.spec.containers[0]!.resources?.requests?.cpu);
  const setup = fs.readFileSync(path.join(root, 'scripts/gke-setup.sh'), 'utf8');
  const setting = (name: string): string => new RegExp(`${name}="\\$\\{${name}:-([^}]+)\\}"`).exec(setup)?.[1] ?? '';
  const loadgenMachine = setting('LOADGEN_MACHINE_TYPE');
  assert.ok(cpu <= allocatableCpu(loadgenMachine), `${cpu} CPU fits ${loadgenMachine} (${allocatableCpu(loadgenMachine)})`);
  assert.ok(cpu > allocatableCpu(setting('SYSTEM_MACHINE_TYPE')), 'the pool is needed: the system pool is too small');
  const taint = /--node-taints "([^=]+)=[^:]*:(\w+)"/.exec(setup);
  assert.ok(taint, 'the loadgen pool is tainted');
  assert.ok(job.spec.template.spec.tolerations?.some((t) => t.key === taint[1] && t.effect === taint[2]), 'the Job tolerates the taint');
  const label = /--node-labels "rtc-scale\/pool=loadgen"/.test(setup);
  const prefers = job.spec.template.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.some((x) =>
    (x.preference.matchExpressions ?? []).some((e) => e.key === 'rtc-scale/pool' && (e.values ?? []).includes('loadgen')));
  assert.ok(label && prefers, 'the Job prefers the loadgen pool by its label');
});

test('the load generator Job gets the deployed image (scripts/loadgen-job.sh), never an unpushed rtc-gpu-app:latest', { skip: SKIP }, () => {
  const k = fs.readFileSync(path.join(root, 'k8s/loadgen/kustomization.yaml'), 'utf8');
  assert.doesNotMatch(k, /newTag:\s*latest/);
  const dir = fs.mkdtempSync(path.join(root, 'k8s/.loadgen-run-test-'));
  try {
    const image = 'us-central1-docker.pkg.dev/p/rtc/rtc-gpu-app';
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'),
      `resources: ["../loadgen"]\nimages:\n  - name: rtc-gpu-app\n    newName: ${image}\n    newTag: "abc123"\n`);
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    const job = parseAllDocuments(out).map((d) => d.toJS() as Obj).find((o) => o.kind === 'Job') as unknown as { spec: { template: { spec: { containers: IContainer[] } } } };
    assert.equal(job.spec.template.spec.containers[0]!.image, `${image}:abc123`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const script = fs.readFileSync(path.join(root, 'scripts/loadgen-job.sh'), 'utf8');
  assert.match(script, /get deployment gpu-media/, 'the script takes the image the media Deployment runs');
});

// The checks above must be able to fail: break a copy of the rendered gke overlay in the ways a
// careless edit would, and expect each to be reported.
test('the checks catch broken manifests', { skip: SKIP }, async () => {
  const breakIt = (fn: (objs: Obj[]) => void, overlay = 'gke'): Obj[] => { const o = structuredClone(get(overlay)); fn(o); return o; };
  const mc = (x: Obj[]): IContainer => container(media(x), 'media');
  const hpa = (x: Obj[]): IHorizontalPodAutoscaler => find<IHorizontalPodAutoscaler>(x, 'HorizontalPodAutoscaler')!;
  const turn = (x: Obj[]): IDeployment => find<IDeployment>(x, 'Deployment', 'coturn')!;
  const dcgm = (x: Obj[]): IContainer => find<IDaemonSet>(x, 'DaemonSet', 'dcgm-exporter')!.spec!.template.spec!.containers[0]!;
  const ingress = (x: Obj[]): IIngress => find<IIngress>(x, 'Ingress', 'gpu-media')!;
  const cases: Array<[string, (x: Obj[]) => void, (x: Obj[]) => string[], string]> = [
    ['GPU limit removed', (x) => { delete mc(x).resources!.limits!['nvidia.com/gpu']; }, (x) => checkGpu(x, true), 'nvidia.com/gpu'],
    ['toleration removed', (x) => { podSpec(media(x)).tolerations = []; }, (x) => checkGpu(x, true), 'toleration'],
    ['pinned to L4', (x) => { podSpec(media(x)).nodeSelector = { 'cloud.google.com/gke-accelerator': 'nvidia-l4' }; }, (x) => checkGpu(x, true), 'nodeSelector'],
    ['T4 not admitted', (x) => { podSpec(media(x)).affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.values = ['nvidia-l4']; }, (x) => checkGpu(x, true), 'nvidia-tesla-t4'],
    ['short grace period', (x) => { podSpec(media(x)).terminationGracePeriodSeconds = 30; }, checkDrain, 'terminationGracePeriodSeconds'],
    ['no preStop', (x) => { delete mc(x).lifecycle; }, checkDrain, 'preStop'],
    ['twitchy readiness', (x) => { mc(x).readinessProbe!.failureThreshold = 1; }, checkDrain, 'readiness tolerates blips'],
    ['readiness on /healthz', (x) => { mc(x).readinessProbe!.httpGet!.path = '/healthz'; }, checkMediaPod, 'readinessProbe'],
    ['writable root', (x) => { mc(x).securityContext!.readOnlyRootFilesystem = false; }, checkSecurity, 'readOnlyRootFilesystem'],
    ['auth optional', (x) => { mc(x).env!.find((e) => e.name === 'RTC_AUTH_TOKENS')!.valueFrom!.secretKeyRef!.optional = true; }, checkSecurity, 'RTC_AUTH_TOKENS'],
    ['Role grows', (x) => { find<IRole>(x, 'Role', 'gpu-media-pod-deletion-cost')!.rules![0]!.verbs.push('delete'); }, checkRbac, 'only get/patch'],
    ['admission policy binding only warns', (x) => { find<IValidatingAdmissionPolicyBinding>(x, 'ValidatingAdmissionPolicyBinding')!.spec!.validationActions = ['Warn']; }, checkRbac, 'Deny'],
    ['admission policy lets spec change', (x) => { const v = find<IValidatingAdmissionPolicy>(x, 'ValidatingAdmissionPolicy')!.spec!.validations!; v.splice(v.findIndex((e) => e.expression.includes('object.spec')), 1); }, checkRbac, 'no spec change'],
    ['admission policy removed', (x) => { x.splice(x.findIndex((o) => o.kind === 'ValidatingAdmissionPolicy'), 1); }, checkRbac, 'ValidatingAdmissionPolicy'],
    ['no scale-down window', (x) => { hpa(x).spec!.behavior!.scaleDown!.stabilizationWindowSeconds = 0; }, checkHpa, '300'],
    ['p95 target 2 s', (x) => { hpa(x).spec!.metrics![1]!.pods!.target.averageValue = '2'; }, checkHpa, 'AverageValue 0.2'],
    ['capacity metric dropped', (x) => { hpa(x).spec!.metrics!.shift(); }, checkHpa, 'rtc_capacity_utilization_ratio'],
    ['capacity target 0.9', (x) => { hpa(x).spec!.metrics![0]!.pods!.target.averageValue = '900m'; }, checkHpa, 'AverageValue 0.7'],
    ['replicas pinned', (x) => { media(x).spec!.replicas = 3; }, checkHpa, 'replicas'],
    ['one TURN replica', (x) => { turn(x).spec!.replicas = 1; }, checkTurn, 'two or more'],
    ['no TURN over TLS', (x) => { const svc = find<IService>(x, 'Service', 'coturn-tcp')!; svc.spec!.ports = svc.spec!.ports!.filter((q) => q.port !== 443); }, checkTurn, '443/TCP'],
    ['relay ports on the load balancer', (x) => { find<IService>(x, 'Service', 'coturn-udp')!.spec!.ports!.push({ name: 'relay', port: 49160, protocol: 'UDP' }); }, checkTurn, 'relay ports'],
    ['TURN PDB removed', (x) => { x.splice(x.findIndex((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'coturn'), 1); }, checkTurn, 'PodDisruptionBudget'],
    ['PDB selects nothing', (x) => { find<IPodDisruptionBudget>(x, 'PodDisruptionBudget', 'gpu-media')!.spec!.selector!.matchLabels!['app.kubernetes.io/component'] = 'other'; }, checkServicePdbPolicy, 'PodDisruptionBudget'],
    ['metrics on the Service', (x) => { find<IService>(x, 'Service', 'gpu-media')!.spec!.ports!.push({ name: 'metrics', port: 9090, targetPort: 'metrics' }); }, checkMetricsPort, 'must not expose the metrics port'],
    ['metrics port open to all', (x) => { const np = find<INetworkPolicy>(x, 'NetworkPolicy', 'gpu-media')!; np.spec!.ingress!.find((r) => (r.ports ?? []).some((q) => q.port === 9090))!.from = []; }, checkMetricsPort, 'not open to everyone'],
    ['Ingress routes /backends', (x) => { ingress(x).spec!.rules![0]!.http!.paths.push({ path: '/backends', pathType: 'Exact', backend: { service: { name: 'gpu-media', port: { name: 'http' } } } }); }, (x) => checkTls(x, true), '/backends'],
    ['Ingress routes everything', (x) => { ingress(x).spec!.rules![0]!.http!.paths.find((q) => q.path === '/')!.pathType = 'Prefix'; }, (x) => checkTls(x, true), 'Exact'],
    ['signalling Service public again', (x) => { find<IService>(x, 'Service', 'gpu-media')!.spec!.type = 'LoadBalancer'; }, (x) => checkTls(x, true), 'only through the Ingress'],
    ['no https redirect', (x) => { x.splice(x.findIndex((o) => o.kind === 'FrontendConfig'), 1); }, (x) => checkTls(x, true), 'redirects'],
    ['DCGM exporter unprivileged', (x) => { dcgm(x).securityContext = { capabilities: { add: ['SYS_ADMIN'] } }; }, (x) => checkMonitoring(x, 'gke'), 'privileged'],
    ['DCGM without the host driver', (x) => { dcgm(x).volumeMounts = (dcgm(x).volumeMounts ?? []).filter((m) => m.mountPath !== '/usr/local/nvidia'); }, (x) => checkMonitoring(x, 'gke'), '/home/kubernetes/bin/nvidia'],
    ['DCGM by UUID', (x) => { dcgm(x).env = (dcgm(x).env ?? []).filter((e) => e.name !== 'DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE'); }, (x) => checkMonitoring(x, 'gke'), 'device-name'],
    ['no /whip route', (x) => { const r = ingress(x).spec!.rules![0]!.http!; r.paths = r.paths.filter((q) => q.path !== '/whip'); }, (x) => checkTls(x, true), '/whip'],
    ['no /whep route', (x) => { const r = ingress(x).spec!.rules![0]!.http!; r.paths = r.paths.filter((q) => q.path !== '/whep'); }, (x) => checkTls(x, true), '/whep'],
    ['cluster secret optional', (x) => { mc(x).env!.find((e) => e.name === 'RTC_CLUSTER_SECRET')!.valueFrom!.secretKeyRef!.optional = true; }, (x) => checkCluster(x, true), 'RTC_CLUSTER_SECRET'],
    ['advertised on a name', (x) => { mc(x).env!.find((e) => e.name === 'RTC_ADVERTISE_URL')!.value = 'http://gpu-media:8080'; }, (x) => checkCluster(x, true), 'RTC_ADVERTISE_URL'],
    ['keep-alive at fastify\'s default', (x) => { for (const cm of all<IConfigMap>(x, 'ConfigMap')) delete cm.data?.RTC_KEEP_ALIVE_TIMEOUT_S; }, (x) => checkCluster(x, true), 'RTC_KEEP_ALIVE_TIMEOUT_S'],
    ['no egress to the other replicas', (x) => { const np = find<INetworkPolicy>(x, 'NetworkPolicy', 'gpu-media')!; np.spec!.egress = np.spec!.egress!.filter((r) => !r.to); }, (x) => checkCluster(x, true), 'egress to the other media pods'],
    ['NVIDIA_VISIBLE_DEVICES on the pod', (x) => { mc(x).env!.push({ name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' }); }, (x) => checkCluster(x, true), 'NVIDIA_VISIBLE_DEVICES'],
    ['both monitoring paths', (x) => { x.push({ apiVersion: 'monitoring.googleapis.com/v1', kind: 'PodMonitoring', metadata: { name: 'x', namespace: 'rtc' } }); }, (x) => checkMonitoring(x, 'gke'), 'no managed-Prometheus'],
  ];
  for (const [what, mutate, check, expect] of cases) {
    assert.ok(check(breakIt(mutate)).some((s) => s.includes(expect)), `${what} is reported: ${JSON.stringify(check(breakIt(mutate)))}`);
  }
  // The managed overlay's own checks.
  const managedUnrecorded = breakIt((x) => { find<IHorizontalPodAutoscaler>(x, 'HorizontalPodAutoscaler')!.spec!.metrics![0]!.pods!.metric.name = 'prometheus.googleapis.com|pod:nothing:ratio|gauge'; }, 'gke-managed');
  assert.ok(checkManagedMetrics(managedUnrecorded).some((s) => s.includes('pod:nothing:ratio')));
  const operatorOnManaged = breakIt((x) => { x.push({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'x', namespace: 'rtc' } }); }, 'gke-managed');
  assert.ok(checkMonitoring(operatorOnManaged, 'gke-managed').some((s) => s.includes('no prometheus-operator')));
  // And the schema validation rejects a wrong type, the GKE custom resources' too.
  const bad = breakIt((x) => { (mc(x).ports![0] as { containerPort: unknown }).containerPort = 'eighty'; });
  assert.ok((await schemaProblems(bad)).some((s) => s.includes('containerPort')));
  const badGke = breakIt((x) => {
    (find<Obj & { spec: { timeoutSec: unknown } }>(x, 'BackendConfig')!.spec).timeoutSec = 'sixty';
    (find<Obj & { spec: { domains: unknown } }>(x, 'ManagedCertificate')!.spec).domains = 'rtc.example.invalid';
    (find<Obj & { spec: { redirectToHttps: unknown } }>(x, 'FrontendConfig')!.spec).redirectToHttps = true;
  });
  const gkeProblems = await schemaProblems(badGke);
  for (const kind of ['BackendConfig', 'ManagedCertificate', 'FrontendConfig']) assert.ok(gkeProblems.some((s) => s.startsWith(`${kind}/`)), `${kind}: ${gkeProblems.join('; ')}`);
});
