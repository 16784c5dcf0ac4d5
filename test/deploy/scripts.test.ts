/**
 * scripts/gke-setup.sh, scripts/deploy.sh and scripts/local-tls.sh: shellcheck, --dry-run (prints
 * everything, runs nothing), and real runs against fake gcloud/kubectl/docker/helm
 * (test/support/fake-bin) that log their argv and remember what they "created", so running twice
 * shows the idempotence; the image tag of scripts/lib/image-tag.sh on a real git repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IPriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fakeBin = path.join(root, 'test/support/fake-bin');
const scripts = ['scripts/gke-setup.sh', 'scripts/deploy.sh', 'scripts/local-tls.sh', 'scripts/lib/image-tag.sh', 'scripts/docker-entrypoint.sh',
  'scripts/loadgen-job.sh', 'scripts/image-check.sh'];

function which(cmd: string): string | undefined {
  const r = spawnSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const shellcheck = which('shellcheck');
const realKubectl = which('kubectl');

interface Run { code: number | null; out: string; log: string[] }

/** Runs a script with the fakes first on PATH; `state` persists between runs of one scenario. */
function runScript(script: string, args: string[], state: string, env: Record<string, string> = {}): Run {
  const log = path.join(state, 'log');
  fs.rmSync(log, { force: true });
  const r = spawnSync('bash', [path.join(root, script), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      PATH: `${fakeBin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: state,
      FAKE_LOG: log,
      FAKE_STATE: state,
      ...(realKubectl ? { FAKE_REAL_KUBECTL: realKubectl } : {}),
      ...env,
    },
    timeout: 60_000,
  });
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { code: r.status, out: `${r.stdout}${r.stderr}`, log: lines };
}

/** Index of the first entry starting with `prefix`, -1 if none. */
const at = (lines: string[], prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));

/** Asserts the prefixes occur in this order. */
function assertOrder(lines: string[], prefixes: string[]): void {
  let last = -1;
  for (const p of prefixes) {
    const i = lines.findIndex((l, k) => k > last && l.startsWith(p));
    assert.ok(i > last, `"${p}" after the previous step in:\n${lines.join('\n')}`);
    last = i;
  }
}

const tmpState = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-scripts-'));
const leftovers = (): string[] => fs.readdirSync(path.join(root, 'k8s/overlays')).filter((n) => n.startsWith('.deploy-'));

test('scripts are shellcheck-clean', { skip: !shellcheck && 'shellcheck not installed (Debian package shellcheck)' }, () => {
  const fakes = fs.readdirSync(fakeBin).map((f) => path.join('test/support/fake-bin', f));
  const r = spawnSync('shellcheck', ['-x', ...scripts, ...fakes], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('scripts use strict mode and parse', () => {
  for (const s of ['scripts/gke-setup.sh', 'scripts/deploy.sh', 'scripts/local-tls.sh']) {
    const text = fs.readFileSync(path.join(root, s), 'utf8');
    assert.match(text, /^set -euo pipefail$/m, s);
    execFileSync('bash', ['-n', path.join(root, s)]);
  }
});

test('both scripts refuse to run without a PROJECT_ID', () => {
  const state = tmpState();
  for (const s of ['scripts/gke-setup.sh', 'scripts/deploy.sh']) {
    const r = runScript(s, [], state, { FAKE_FORBID: '1' });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /usage:/);
    assert.deepEqual(r.log, []);
  }
  fs.rmSync(state, { recursive: true });
});

const printedOf = (r: Run): string[] => r.out.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));

test('gke-setup --dry-run prints every command and runs none', () => {
  const state = tmpState();
  const r = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1' });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.log, [], 'no tool was called');
  const printed = printedOf(r);
  assertOrder(printed, [
    'gcloud services enable container.googleapis.com',
    'gcloud container clusters describe rtc-scale',
    'gcloud container clusters create rtc-scale',
    'gcloud container node-pools describe gpu-pool',
    'gcloud container node-pools create gpu-pool',
    'gcloud container node-pools describe loadgen',
    'gcloud container node-pools create loadgen',
    'gcloud compute addresses describe rtc-signalling --global',
    'gcloud compute addresses create rtc-signalling --global',
    'gcloud compute addresses describe rtc-turn --region us-central1',
    'gcloud compute addresses create rtc-turn --region us-central1',
    'gcloud artifacts repositories describe rtc',
    'gcloud artifacts repositories create rtc',
    'gcloud container clusters get-credentials rtc-scale',
  ]);
  const pool = printed.find((l) => l.startsWith('gcloud container node-pools create gpu-pool'))!;
  assert.match(pool, /--machine-type g2-standard-8/);
  assert.match(pool, /--accelerator type=nvidia-l4,count=1,gpu-driver-version=latest/);
  assert.match(pool, /--enable-autoscaling --min-nodes 0 --max-nodes 10/);
  assert.match(pool, /--project proj-1/);
  const cluster = printed.find((l) => l.startsWith('gcloud container clusters create'))!;
  // Default: the self-managed path (overlay gke), so GKE's managed collection stays off.
  assert.match(cluster, /--monitoring=SYSTEM --no-enable-managed-prometheus/);
  const loadgen = printed.find((l) => l.startsWith('gcloud container node-pools create loadgen'))!;
  assert.match(loadgen, /--machine-type e2-standard-16 --num-nodes 0 --enable-autoscaling --min-nodes 0 --max-nodes 1/);
  assert.match(loadgen, /--node-taints rtc-scale\/loadgen=true:NoSchedule/);
  assert.match(r.out, /Next: OVERLAY=gke scripts\/deploy\.sh proj-1/);
  fs.rmSync(state, { recursive: true });
});

test('gke-setup picks the machine family of the GPU, refuses a mismatch, and sets up managed monitoring on request', () => {
  const state = tmpState();
  const t4 = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', GPU_TYPE: 'nvidia-tesla-t4' });
  assert.equal(t4.code, 0, t4.out);
  const pool = printedOf(t4).find((l) => l.startsWith('gcloud container node-pools create gpu-pool'))!;
  assert.match(pool, /--machine-type n1-standard-8 --accelerator type=nvidia-tesla-t4,count=1/);
  const wrong = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', GPU_TYPE: 'nvidia-tesla-t4', GPU_MACHINE_TYPE: 'g2-standard-8' });
  assert.equal(wrong.code, 2);
  assert.match(wrong.out, /cannot carry nvidia-tesla-t4/);
  const l4OnN1 = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', GPU_MACHINE_TYPE: 'n1-standard-8' });
  assert.equal(l4OnN1.code, 2);
  const unknown = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', GPU_TYPE: 'nvidia-a100-80gb' });
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /not supported/);
  const managed = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', MONITORING: 'managed' });
  assert.equal(managed.code, 0, managed.out);
  assert.match(printedOf(managed).find((l) => l.startsWith('gcloud container clusters create'))!, /--monitoring=SYSTEM,DCGM --enable-managed-prometheus/);
  assert.match(managed.out, /OVERLAY=gke-managed/);
  const noDriver = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', MONITORING: 'managed', GPU_DRIVER_VERSION: 'disabled' });
  assert.equal(noDriver.code, 2);
  assert.match(noDriver.out, /managed DCGM/);
  assert.equal(runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1', MONITORING: 'both' }).code, 2);
  fs.rmSync(state, { recursive: true });
});

test('gke-setup is idempotent: describe before create, nothing created twice', () => {
  const state = tmpState();
  const first = runScript('scripts/gke-setup.sh', ['proj-1'], state, { GPU_MAX_NODES: '4' });
  assert.equal(first.code, 0, first.out);
  for (const what of ['container clusters', 'container node-pools', 'compute addresses', 'artifacts repositories']) {
    const d = at(first.log, `gcloud ${what} describe`);
    const c = at(first.log, `gcloud ${what} create`);
    assert.ok(d >= 0 && c > d, `${what}: describe before create`);
  }
  assert.match(first.log.find((l) => l.startsWith('gcloud container node-pools create gpu-pool'))!, /--max-nodes 4/);
  const second = runScript('scripts/gke-setup.sh', ['proj-1'], state, { GPU_MAX_NODES: '6', MONITORING: 'managed' });
  assert.equal(second.code, 0, second.out);
  assert.equal(second.log.filter((l) => / create /.test(l)).length, 0, `no create on the second run:\n${second.log.join('\n')}`);
  // The existing pool's autoscaling limits and the cluster's monitoring follow the settings.
  assert.match(second.log.find((l) => l.startsWith('gcloud container node-pools update gpu-pool'))!, /--enable-autoscaling --min-nodes 0 --max-nodes 6/);
  assert.ok(at(second.log, 'gcloud container clusters update rtc-scale --zone us-central1-a --project proj-1 --enable-managed-prometheus') >= 0, second.log.join('\n'));
  assert.ok(at(second.log, 'gcloud container clusters update rtc-scale --zone us-central1-a --project proj-1 --monitoring=SYSTEM,DCGM') >= 0);
  fs.rmSync(state, { recursive: true });
});

/** A state in which gke-setup.sh has reserved the two static addresses. */
function reservedState(): string {
  const state = tmpState();
  fs.writeFileSync(path.join(state, 'address-rtc-signalling'), '203.0.113.9');
  fs.writeFileSync(path.join(state, 'address-rtc-turn'), '198.51.100.7');
  return state;
}

test('deploy --dry-run prints every command, runs none, and leaves no temporary overlay', () => {
  const state = tmpState();
  const r = runScript('scripts/deploy.sh', ['--dry-run', '--tag', 'v1', 'proj-1'], state, { FAKE_FORBID: '1' });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.log, []);
  assertOrder(printedOf(r), [
    'docker build -t us-central1-docker.pkg.dev/proj-1/rtc/rtc-gpu-app:v1 .',
    'docker push us-central1-docker.pkg.dev/proj-1/rtc/rtc-gpu-app:v1',
    'gcloud container clusters get-credentials rtc-scale',
    'helm upgrade --install kube-prometheus-stack',
    'helm upgrade --install prometheus-adapter',
    'kubectl apply -f k8s/base/namespace.yaml',
    'kubectl --namespace rtc get secret turn-shared-secret',
    'kubectl --namespace rtc create secret generic turn-shared-secret',
    'kubectl --namespace rtc get secret rtc-auth',
    'kubectl --namespace rtc create secret generic rtc-auth',
    'kubectl --namespace rtc get secret turn-tls',
    'openssl req -x509',
    'kubectl --namespace rtc create secret tls turn-tls',
    'kubectl apply -k k8s/overlays/.deploy-',
    'kubectl --namespace rtc rollout status deployment/gpu-media',
  ]);
  // Lookups whose output is used print on stderr (so they stay out of captured values).
  for (const q of ['kubectl get apiservice v1beta1.custom.metrics.k8s.io', 'gcloud compute addresses describe rtc-signalling --global', 'gcloud compute addresses describe rtc-turn --region us-central1']) {
    assert.ok(printedOf(r).some((l) => l.startsWith(q)), q);
  }
  assert.match(r.out, /newName: us-central1-docker\.pkg\.dev\/proj-1\/rtc\/rtc-gpu-app/);
  assert.match(r.out, /value: \["203-0-113-1\.sslip\.io"\]/);
  assert.deepEqual(leftovers(), []);
  fs.rmSync(state, { recursive: true });
});

test('every Helm chart and the Google adapter manifest are pinned; kube-prometheus-stack gets the GKE values', () => {
  const state = tmpState();
  const gke = printedOf(runScript('scripts/deploy.sh', ['--dry-run', '--tag', 'v1', 'proj-1'], state, { FAKE_FORBID: '1' }));
  const installs = gke.filter((l) => l.startsWith('helm upgrade --install'));
  assert.equal(installs.length, 2);
  for (const l of installs) assert.match(l, /--version \d+\.\d+\.\d+( |$)/, `unpinned: ${l}`);
  assert.match(installs.find((l) => l.includes('kube-prometheus-stack'))!, /--values k8s\/kube-prometheus-stack\/values-gke\.yaml/);
  const values = YAML.parse(fs.readFileSync(path.join(root, 'k8s/kube-prometheus-stack/values-gke.yaml'), 'utf8')) as Record<string, { enabled?: boolean }>;
  for (const k of ['kubeEtcd', 'kubeScheduler', 'kubeControllerManager', 'kubeProxy']) assert.equal(values[k]?.enabled, false, `${k} disabled on GKE`);
  const managed = printedOf(runScript('scripts/deploy.sh', ['--dry-run', '--tag', 'v1', 'proj-1'], state, { FAKE_FORBID: '1', OVERLAY: 'gke-managed' }));
  const adapter = managed.find((l) => l.startsWith('kubectl apply -f https://'))!;
  assert.match(adapter, /^kubectl apply -f https:\/\/raw\.githubusercontent\.com\/GoogleCloudPlatform\/k8s-stackdriver\/[0-9a-f]{40}\/custom-metrics-stackdriver-adapter\//);
  fs.rmSync(state, { recursive: true });
});

interface Rendered { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> }
const renderedObjects = (state: string): Rendered[] =>
  YAML.parseAllDocuments(fs.readFileSync(path.join(state, 'rendered.yaml'), 'utf8')).map((d) => d.toJS() as Rendered);

test('deploy with fakes (gke): build, push, pinned charts, secrets once, domain, TURN address and certificate, rollout', () => {
  const state = reservedState();
  const first = runScript('scripts/deploy.sh', ['--tag', 'abc123', 'proj-1'], state);
  assert.equal(first.code, 0, first.out);
  assertOrder(first.log, [
    'gcloud auth configure-docker us-central1-docker.pkg.dev',
    'docker build -t us-central1-docker.pkg.dev/proj-1/rtc/rtc-gpu-app:abc123 .',
    'docker push us-central1-docker.pkg.dev/proj-1/rtc/rtc-gpu-app:abc123',
    'gcloud container clusters get-credentials rtc-scale --zone us-central1-a --project proj-1',
    'helm repo add prometheus-community',
    'helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack --version',
    'helm upgrade --install prometheus-adapter prometheus-community/prometheus-adapter --version',
    'kubectl apply -f k8s/base/namespace.yaml',
    'kubectl --namespace rtc create secret generic turn-shared-secret --from-file=secret=',
    'kubectl --namespace rtc create secret generic rtc-auth --from-file=tokens=',
    'kubectl --namespace rtc create secret generic rtc-cluster --from-file=secret=',
    'gcloud compute addresses describe rtc-signalling --global --project proj-1',
    'kubectl --namespace rtc create secret tls turn-tls --cert',
    'kubectl apply -k k8s/overlays/.deploy-',
    'kubectl --namespace rtc rollout status deployment/coturn',
    'kubectl --namespace rtc rollout status deployment/gpu-media',
  ]);
  assert.equal(at(first.log, 'gcloud projects add-iam-policy-binding'), -1, 'no Google adapter on the self-managed path');
  // The secret is passed as a file and never appears on a command line.
  assert.ok(Number(fs.readFileSync(path.join(state, 'secret-turn-shared-secret'), 'utf8')) >= 40);
  // The replicas' shared secret (RTC_CLUSTER_SECRET) likewise: at least 32 characters.
  assert.ok(Number(fs.readFileSync(path.join(state, 'secret-rtc-cluster'), 'utf8')) >= 32);
  assert.match(fs.readFileSync(path.join(state, 'applied-kustomization.yaml'), 'utf8'), /- \.\.\/gke\n/);
  if (realKubectl) {
    const objs = renderedObjects(state);
    const text = fs.readFileSync(path.join(state, 'rendered.yaml'), 'utf8');
    assert.match(text, /image: us-central1-docker\.pkg\.dev\/proj-1\/rtc\/rtc-gpu-app:abc123/);
    assert.doesNotMatch(text, /image: rtc-gpu-app:/);
    const cert = objs.find((o) => o.kind === 'ManagedCertificate')!;
    assert.deepEqual((cert.spec as { domains: string[] }).domains, ['203-0-113-9.sslip.io']);
    for (const name of ['coturn-udp', 'coturn-tcp']) {
      assert.equal((objs.find((o) => o.kind === 'Service' && o.metadata.name === name)!.spec as { loadBalancerIP?: string }).loadBalancerIP, '198.51.100.7', name);
    }
    const turnCm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('turn-public'))!;
    assert.equal(turnCm.data?.RTC_TURN_URLS, 'turn:198.51.100.7:3478?transport=udp,turn:198.51.100.7:3478?transport=tcp,turns:198-51-100-7.sslip.io:443?transport=tcp');
    // The media pods read it under its generated name, so a change of address rolls them.
    const mediaDeploy = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gpu-media')!;
    assert.match(JSON.stringify(mediaDeploy.spec), new RegExp(`"name":"${turnCm.metadata.name}"`));
    assert.notEqual(turnCm.metadata.name, 'turn-public');
    assert.ok(objs.some((o) => o.kind === 'PodMonitor') && !objs.some((o) => o.kind === 'PodMonitoring'));
  }
  assert.match(first.out, /signalling at https:\/\/203-0-113-9\.sslip\.io\/app/);
  assert.match(first.out, /TURN at 198\.51\.100\.7:3478 udp\+tcp and turns:198-51-100-7\.sslip\.io:443/);
  assert.deepEqual(leftovers(), []);

  // Again: the secrets and the certificate are kept.
  const second = runScript('scripts/deploy.sh', ['--tag', 'abc124', 'proj-1'], state);
  assert.equal(second.code, 0, second.out);
  assert.equal(at(second.log, 'kubectl --namespace rtc create secret'), -1);
  assert.ok(at(second.log, 'kubectl apply -k') >= 0);
  assert.deepEqual(leftovers(), []);
  fs.rmSync(state, { recursive: true });
});

test('deploy with fakes (gke-managed): no Helm, Google\'s adapter with Workload Identity, the managed monitoring objects', () => {
  const state = reservedState();
  const r = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'm1', 'proj-1'], state, { OVERLAY: 'gke-managed', DOMAIN: 'rtc.example.com' });
  assert.equal(r.code, 0, r.out);
  assert.equal(r.log.filter((l) => l.startsWith('helm ')).length, 0, 'no prometheus-adapter, no kube-prometheus-stack');
  assertOrder(r.log, [
    'gcloud projects describe proj-1',
    'gcloud projects add-iam-policy-binding proj-1 --role roles/monitoring.viewer',
    'kubectl apply -f https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-stackdriver/',
    'kubectl apply -k k8s/overlays/.deploy-',
  ]);
  assert.match(r.log.find((l) => l.startsWith('gcloud projects add-iam-policy-binding'))!,
    /principal:\/\/iam\.googleapis\.com\/projects\/123456789012\/locations\/global\/workloadIdentityPools\/proj-1\.svc\.id\.goog\/subject\/ns\/custom-metrics\/sa\/custom-metrics-stackdriver-adapter/);
  assert.match(fs.readFileSync(path.join(state, 'applied-kustomization.yaml'), 'utf8'), /- \.\.\/gke-managed\n/);
  if (realKubectl) {
    const objs = renderedObjects(state);
    assert.ok(objs.some((o) => o.kind === 'PodMonitoring') && !objs.some((o) => o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor'));
    assert.deepEqual((objs.find((o) => o.kind === 'ManagedCertificate')!.spec as { domains: string[] }).domains, ['rtc.example.com']);
  }
  assert.match(r.out, /https:\/\/rtc\.example\.com\/app/);
  fs.rmSync(state, { recursive: true });
});

test('deploy refuses a second custom-metrics adapter, an unknown overlay, and missing static addresses', () => {
  const state = reservedState();
  const onManaged = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'x', 'proj-1'], state, { FAKE_METRICS_API_NS: 'custom-metrics' });
  assert.equal(onManaged.code, 1, onManaged.out);
  assert.match(onManaged.out, /custom-metrics-stackdriver-adapter/);
  assert.equal(onManaged.log.filter((l) => l.startsWith('helm upgrade')).length, 0);
  const onSelf = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'x', 'proj-1'], state, { FAKE_METRICS_API_NS: 'monitoring', OVERLAY: 'gke-managed' });
  assert.equal(onSelf.code, 1);
  assert.match(onSelf.out, /helm uninstall prometheus-adapter/);
  assert.equal(at(onSelf.log, 'kubectl apply -f https://'), -1);
  assert.equal(runScript('scripts/deploy.sh', ['--skip-build', 'proj-1'], state, { OVERLAY: 'local' }).code, 1);
  const bare = tmpState();
  const noAddr = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'x', 'proj-1'], bare);
  assert.equal(noAddr.code, 1);
  assert.match(noAddr.out, /run scripts\/gke-setup\.sh first/);
  assert.equal(at(noAddr.log, 'kubectl apply -k'), -1);
  assert.deepEqual(leftovers(), []);
  fs.rmSync(state, { recursive: true });
  fs.rmSync(bare, { recursive: true });
});

test('deploy WARM_GPU_NODES=2: placeholder pods at a negative priority hold two GPUs, and media pods can preempt them', { skip: !realKubectl && 'kubectl not installed' }, async () => {
  const state = reservedState();
  const r = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'w', 'proj-1'], state, { WARM_GPU_NODES: '2' });
  assert.equal(r.code, 0, r.out);
  const objs = renderedObjects(state);
  const placeholder = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gpu-placeholder')!;
  const spec = placeholder.spec as { replicas: number; template: { spec: { priorityClassName: string; containers: Array<{ resources: { requests: Record<string, string> } }> } } };
  assert.equal(spec.replicas, 2);
  assert.equal(spec.template.spec.containers[0]!.resources.requests['nvidia.com/gpu'], 1);
  const pc = objs.find((o) => o.kind === 'PriorityClass' && o.metadata.name === spec.template.spec.priorityClassName) as unknown as { value: number; preemptionPolicy: string };
  assert.ok(pc.value < 0, 'below the media pods (priority 0), so they preempt it');
  assert.equal(pc.preemptionPolicy, 'Never');
  // The placeholder asks for what a media pod asks, so a freed node fits one media pod exactly.
  const mediaReq = ((objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gpu-media')!.spec as { template: { spec: { containers: Array<{ resources: { requests: Record<string, string> } }> } } }).template.spec.containers[0]!.resources.requests);
  assert.deepEqual(spec.template.spec.containers[0]!.resources.requests, mediaReq);
  const { Deployment } = await import('kubernetes-models/apps/v1');
  const { PriorityClass } = await import('kubernetes-models/scheduling.k8s.io/v1');
  assert.doesNotThrow(() => new Deployment(placeholder as unknown as IDeployment).validate());
  assert.doesNotThrow(() => new PriorityClass(pc as unknown as IPriorityClass).validate());
  const none = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'w', 'proj-1'], state);
  assert.equal(none.code, 0);
  assert.ok(!renderedObjects(state).some((o) => o.metadata?.name === 'gpu-placeholder'), 'off by default');
  assert.equal(runScript('scripts/deploy.sh', ['--skip-build', 'proj-1'], state, { WARM_GPU_NODES: 'two' }).code, 1);
  fs.rmSync(state, { recursive: true });
});

test('deploy uses the TURN certificate given, and --skip-build builds and pushes nothing', () => {
  const state = reservedState();
  const cert = path.join(state, 'turn.crt');
  const key = path.join(state, 'turn.key');
  fs.writeFileSync(cert, 'cert');
  fs.writeFileSync(key, 'key');
  const r = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'x', 'proj-1'], state, { TURN_TLS_CERT: cert, TURN_TLS_KEY: key });
  assert.equal(r.code, 0, r.out);
  assert.equal(r.log.filter((l) => l.startsWith('docker ')).length, 0);
  assert.ok(at(r.log, `kubectl --namespace rtc create secret tls turn-tls --cert ${cert} --key ${key} --dry-run=client -o yaml`) >= 0, r.log.join('\n'));
  assert.doesNotMatch(r.out, /self-signed/);
  const half = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'x', 'proj-1'], state, { TURN_TLS_CERT: cert });
  assert.equal(half.code, 1);
  fs.rmSync(state, { recursive: true });
});

test('loadgen-job: the Job gets the image the media Deployment runs; the previous Job goes first; nothing left behind', { skip: !realKubectl && 'kubectl not installed' }, () => {
  const state = tmpState();
  const image = 'us-central1-docker.pkg.dev/p/rtc/rtc-gpu-app:0123456789ab';
  const r = runScript('scripts/loadgen-job.sh', [], state, { FAKE_DEPLOYED_IMAGE: image });
  assert.equal(r.code, 0, r.out);
  assertOrder(r.log, ['kubectl --namespace rtc get deployment gpu-media', 'kubectl --namespace rtc delete job rtc-loadgen', 'kubectl apply -k k8s/.loadgen-run-']);
  const rendered = fs.readFileSync(path.join(state, 'rendered.yaml'), 'utf8');
  assert.match(rendered, new RegExp(`image: ${image.replace(/[.]/g, '\\.')}\\n`));
  assert.doesNotMatch(rendered, /rtc-gpu-app:latest/);
  assert.deepEqual(fs.readdirSync(path.join(root, 'k8s')).filter((n) => n.startsWith('.loadgen-run-')), []);
  const none = runScript('scripts/loadgen-job.sh', [], tmpState());
  assert.notEqual(none.code, 0, 'no Deployment: refused');
  assert.match(none.out, /run scripts\/deploy\.sh first/);
});

test('the image tag follows the tree: the commit when clean, a different -dirty- tag for each change', () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-tag-'));
  const tag = (): string => execFileSync('bash', ['-c', `source ${JSON.stringify(path.join(root, 'scripts/lib/image-tag.sh'))}; image_tag`], { cwd: repo, encoding: 'utf8' }).trim();
  const git = (...a: string[]): string => execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...a], { cwd: repo, encoding: 'utf8' });
  try {
    assert.match(tag(), /^\d{14}$/, 'no git repository: a timestamp');
    git('init', '-q');
    fs.writeFileSync(path.join(repo, 'a.txt'), 'one\n');
    git('add', 'a.txt');
    git('commit', '-qm', 'one');
    const sha = git('rev-parse', '--short=12', 'HEAD').trim();
    assert.equal(tag(), sha);
    fs.writeFileSync(path.join(repo, 'a.txt'), 'two\n');
    const dirty1 = tag();
    assert.match(dirty1, new RegExp(`^${sha}-dirty-[0-9a-f]{10}$`));
    assert.equal(tag(), dirty1, 'the same tree gives the same tag');
    fs.writeFileSync(path.join(repo, 'a.txt'), 'three\n');
    const dirty2 = tag();
    assert.notEqual(dirty2, dirty1, 'another change, another tag');
    fs.writeFileSync(path.join(repo, 'new.txt'), 'x\n');
    assert.notEqual(tag(), dirty2, 'an untracked file counts');
    fs.writeFileSync(path.join(repo, 'new.txt'), 'y\n');
    const untracked2 = tag();
    fs.writeFileSync(path.join(repo, 'new.txt'), 'x\n');
    assert.notEqual(tag(), untracked2, 'and so does its content');
    // deploy.sh uses it when no --tag is given.
    const deploy = fs.readFileSync(path.join(root, 'scripts/deploy.sh'), 'utf8');
    assert.match(deploy, /\[ -n "\$TAG" \] \|\| TAG="\$\(image_tag\)"/);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
});

test('local-tls: a self-signed certificate into Secret rtc/rtc-tls; --dry-run runs nothing; a bad host is refused', () => {
  const state = tmpState();
  const dry = runScript('scripts/local-tls.sh', ['--dry-run'], state, { FAKE_FORBID: '1' });
  assert.equal(dry.code, 0, dry.out);
  assert.deepEqual(dry.log, []);
  assert.match(dry.out, /openssl req -x509 .*CN=rtc\.localtest\.me/);
  const r = runScript('scripts/local-tls.sh', [], state);
  assert.equal(r.code, 0, r.out);
  assertOrder(r.log, ['kubectl apply -f k8s/base/namespace.yaml', 'kubectl --namespace rtc create secret tls rtc-tls --cert', 'kubectl apply -f']);
  assert.match(r.out, /SHA256 Fingerprint=|sha256 Fingerprint=/i);
  // The host matches the local overlay's Ingress.
  const ingress = fs.readFileSync(path.join(root, 'k8s/overlays/local/ingress.yaml'), 'utf8');
  assert.match(ingress, /secretName: rtc-tls/);
  assert.match(ingress, /host: rtc\.localtest\.me/);
  assert.equal(runScript('scripts/local-tls.sh', ['bad host;rm'], state, { FAKE_FORBID: '1' }).code, 2);
  fs.rmSync(state, { recursive: true });
});
