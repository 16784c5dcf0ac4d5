/**
 * scripts/gke-setup.sh and scripts/deploy.sh: shellcheck, --dry-run (prints everything, runs
 * nothing), and real runs against fake gcloud/kubectl/docker/helm (test/support/fake-bin) that
 * log their argv and remember what they "created", so running twice shows the idempotence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fakeBin = path.join(root, 'test/support/fake-bin');
const scripts = ['scripts/gke-setup.sh', 'scripts/deploy.sh', 'scripts/docker-entrypoint.sh'];

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
  for (const s of ['scripts/gke-setup.sh', 'scripts/deploy.sh']) {
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

test('gke-setup --dry-run prints every command and runs none', () => {
  const state = tmpState();
  const r = runScript('scripts/gke-setup.sh', ['--dry-run', 'proj-1'], state, { FAKE_FORBID: '1' });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.log, [], 'no tool was called');
  const printed = r.out.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));
  assertOrder(printed, [
    'gcloud services enable container.googleapis.com',
    'gcloud container clusters describe rtc-scale',
    'gcloud container clusters create rtc-scale',
    'gcloud container node-pools describe gpu-pool',
    'gcloud container node-pools create gpu-pool',
    'gcloud artifacts repositories describe rtc',
    'gcloud artifacts repositories create rtc',
    'gcloud container clusters get-credentials rtc-scale',
  ]);
  const pool = printed.find((l) => l.startsWith('gcloud container node-pools create'))!;
  assert.match(pool, /--machine-type g2-standard-8/);
  assert.match(pool, /--accelerator type=nvidia-l4,count=1,gpu-driver-version=latest/);
  assert.match(pool, /--enable-autoscaling --min-nodes 0 --max-nodes 10/);
  assert.match(pool, /--project proj-1/);
  fs.rmSync(state, { recursive: true });
});

test('gke-setup is idempotent: describe before create, nothing created twice', () => {
  const state = tmpState();
  const first = runScript('scripts/gke-setup.sh', ['proj-1'], state, { GPU_MAX_NODES: '4' });
  assert.equal(first.code, 0, first.out);
  for (const what of ['container clusters', 'container node-pools', 'artifacts repositories']) {
    const d = at(first.log, `gcloud ${what} describe`);
    const c = at(first.log, `gcloud ${what} create`);
    assert.ok(d >= 0 && c > d, `${what}: describe before create`);
  }
  assert.match(first.log.find((l) => l.startsWith('gcloud container node-pools create'))!, /--max-nodes 4/);
  const second = runScript('scripts/gke-setup.sh', ['proj-1'], state, { GPU_MAX_NODES: '6' });
  assert.equal(second.code, 0, second.out);
  assert.equal(second.log.filter((l) => / create /.test(l)).length, 0, `no create on the second run:\n${second.log.join('\n')}`);
  // The existing pool's autoscaling limits follow the settings.
  assert.match(second.log.find((l) => l.startsWith('gcloud container node-pools update gpu-pool'))!, /--enable-autoscaling --min-nodes 0 --max-nodes 6/);
  fs.rmSync(state, { recursive: true });
});

test('deploy --dry-run prints every command, runs none, and leaves no temporary overlay', () => {
  const state = tmpState();
  const r = runScript('scripts/deploy.sh', ['--dry-run', '--tag', 'v1', 'proj-1'], state, { FAKE_FORBID: '1' });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.log, []);
  const printed = r.out.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));
  assertOrder(printed, [
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
    'kubectl apply -k k8s/overlays/.deploy-',
    'kubectl --namespace rtc rollout status deployment/gpu-media',
  ]);
  assert.match(r.out, /newName: us-central1-docker\.pkg\.dev\/proj-1\/rtc\/rtc-gpu-app/);
  assert.deepEqual(leftovers(), []);
  fs.rmSync(state, { recursive: true });
});

test('deploy with fakes: build, push, monitoring, secret once, overlay with the image, TURN address, rollout', () => {
  const state = tmpState();
  const env = { FAKE_LB_IP: '198.51.100.7', FAKE_SIGNAL_IP: '203.0.113.9' };
  const first = runScript('scripts/deploy.sh', ['--tag', 'abc123', 'proj-1'], state, env);
  assert.equal(first.code, 0, first.out);
  assertOrder(first.log, [
    'gcloud auth configure-docker us-central1-docker.pkg.dev',
    'docker build -t us-central1-docker.pkg.dev/proj-1/rtc/rtc-gpu-app:abc123 .',
    'docker push us-central1-docker.pkg.dev/proj-1/rtc/rtc-gpu-app:abc123',
    'gcloud container clusters get-credentials rtc-scale --zone us-central1-a --project proj-1',
    'helm repo add prometheus-community',
    'helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack --namespace monitoring',
    'helm upgrade --install prometheus-adapter prometheus-community/prometheus-adapter --namespace monitoring --values k8s/prometheus-adapter/values.yaml',
    'kubectl apply -f k8s/base/namespace.yaml',
    'kubectl --namespace rtc get secret turn-shared-secret',
    'kubectl --namespace rtc create secret generic turn-shared-secret --from-file=secret=',
    'kubectl --namespace rtc get secret rtc-auth',
    'kubectl --namespace rtc create secret generic rtc-auth --from-file=tokens=',
    'kubectl apply -k k8s/overlays/.deploy-',
    'kubectl --namespace rtc get service coturn',
    'kubectl apply -f',
    'kubectl --namespace rtc rollout restart deployment/coturn deployment/gpu-media',
    'kubectl --namespace rtc rollout status deployment/coturn',
    'kubectl --namespace rtc rollout status deployment/gpu-media',
  ]);
  // The secret is passed as a file and never appears on a command line.
  assert.ok(Number(fs.readFileSync(path.join(state, 'secret-turn-shared-secret'), 'utf8')) >= 40);
  assert.equal(fs.readFileSync(path.join(state, 'turn-ip'), 'utf8'), '198.51.100.7');
  assert.match(fs.readFileSync(path.join(state, 'applied-kustomization.yaml'), 'utf8'), /- \.\.\/gke/);
  if (realKubectl) {
    // The temporary overlay really renders, with the pushed image on the media container.
    const rendered = fs.readFileSync(path.join(state, 'rendered.yaml'), 'utf8');
    assert.match(rendered, /image: us-central1-docker\.pkg\.dev\/proj-1\/rtc\/rtc-gpu-app:abc123/);
    assert.doesNotMatch(rendered, /image: rtc-gpu-app:/);
  }
  assert.match(first.out, /signalling at http:\/\/203\.0\.113\.9\/app, TURN at 198\.51\.100\.7:3478\/udp/);
  assert.deepEqual(leftovers(), []);

  // Again: the secret is kept, and nothing restarts since the TURN address did not change.
  const second = runScript('scripts/deploy.sh', ['--tag', 'abc124', 'proj-1'], state, env);
  assert.equal(second.code, 0, second.out);
  assert.equal(at(second.log, 'kubectl --namespace rtc create secret'), -1);
  assert.equal(at(second.log, 'kubectl --namespace rtc rollout restart'), -1);
  assert.ok(at(second.log, 'kubectl apply -k') >= 0);
  assert.deepEqual(leftovers(), []);
  fs.rmSync(state, { recursive: true });
});

test('deploy --skip-build builds and pushes nothing', () => {
  const state = tmpState();
  const r = runScript('scripts/deploy.sh', ['--skip-build', '--tag', 'x', 'proj-1'], state, { FAKE_LB_IP: '198.51.100.7' });
  assert.equal(r.code, 0, r.out);
  assert.equal(r.log.filter((l) => l.startsWith('docker ')).length, 0);
  assert.ok(at(r.log, 'kubectl apply -k') >= 0);
  fs.rmSync(state, { recursive: true });
});
