/**
 * The load generator's Kubernetes Job (k8s/loadgen) and wrapper script: the Job runs the CLI with
 * arguments the CLI accepts, its profile parses, it is bounded, and it fits the restricted Pod
 * Security Standard of the rtc namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseOptions } from '../../src/loadgen/options.js';
import { readProfileFile } from '../../src/loadgen/profile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = path.join(root, 'k8s/loadgen');

interface Container {
  image: string;
  command: string[];
  args: string[];
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Job {
  kind: string;
  spec: {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: { spec: { restartPolicy: string; securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } }; containers: Container[] } };
  };
}

const job = parseYaml(readFileSync(path.join(dir, 'job.yaml'), 'utf8')) as Job;
const container = job.spec.template.spec.containers[0]!;

test('the Job runs the load generator CLI from the project image with valid arguments', () => {
  assert.equal(job.kind, 'Job');
  assert.equal(container.image, 'rtc-gpu-app');
  assert.deepEqual(container.command, ['node', 'dist/src/loadgen/cli.js']);
  // The profile path points into the ConfigMap mount; read the file from the repo instead.
  const args = container.args.map((a) => (a.startsWith('--profile=') ? `--profile=${path.join(dir, 'profile.yaml')}` : a));
  const opts = parseOptions(args.flatMap((a) => {
    const i = a.indexOf('=');
    return i > 0 ? [a.slice(0, i), a.slice(i + 1)] : [a];
  }));
  assert.ok(opts);
  assert.equal(opts.url, 'http://gpu-media.rtc.svc.cluster.local');
  assert.equal(opts.sloP95Ms, 200);
  assert.equal(opts.outDir, '/results');
  assert.deepEqual(readProfileFile(path.join(dir, 'profile.yaml')).map((p) => p.name), ['ramp', 'steady', 'spike', 'cool-down']);
  const mounts = container.volumeMounts.map((m) => m.mountPath);
  assert.ok(mounts.includes('/results') && mounts.includes('/etc/loadgen'));
});

test('the Job is bounded, does not retry, and fits the restricted Pod Security Standard', () => {
  const profileS = readProfileFile(path.join(dir, 'profile.yaml')).reduce((s, p) => s + p.durationS, 0);
  assert.equal(job.spec.backoffLimit, 0, 'a missed objective must fail the Job, not rerun it');
  assert.ok(job.spec.activeDeadlineSeconds > profileS + 60, 'the deadline leaves room for the whole profile');
  assert.equal(job.spec.template.spec.restartPolicy, 'Never');
  assert.equal(job.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.equal(job.spec.template.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
});

test('kustomize builds the Job and its profile ConfigMap into namespace rtc', (t) => {
  // Skipped on a developer machine without kubectl; in CI (CI=true) a missing kubectl fails instead.
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0 && !process.env.CI) {
    t.skip('kubectl is not installed');
    return;
  }
  const docs = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }).split(/^---$/m).map((d) => parseYaml(d) as {
    kind: string; metadata: { name: string; namespace: string }; spec?: Job['spec'];
  });
  const cm = docs.find((d) => d.kind === 'ConfigMap')!;
  const built = docs.find((d) => d.kind === 'Job')!;
  assert.ok(cm.metadata.name.startsWith('loadgen-profile-'), 'hashed ConfigMap name');
  assert.equal(built.metadata.namespace, 'rtc');
  const vol = (built.spec!.template.spec as unknown as { volumes: Array<{ configMap?: { name: string } }> }).volumes.find((v) => v.configMap);
  assert.equal(vol?.configMap?.name, cm.metadata.name, 'the Job mounts the hashed ConfigMap');
});

test('scripts/loadgen.sh passes LOADGEN_URL and the arguments to the CLI', () => {
  const r = spawnSync('bash', [path.join(root, 'scripts/loadgen.sh'), '--fps', '0'], {
    env: { ...process.env, LOADGEN_URL: 'http://127.0.0.1:9' }, encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--fps must be a positive number/, 'reached the CLI with --url from LOADGEN_URL');
});
