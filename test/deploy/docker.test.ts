/**
 * Offline checks of the Dockerfile, .dockerignore and the container entrypoint (no Docker engine
 * here): stages, base images, what the runtime stage installs and sets, the non-root user, the
 * health check, and that every file the build copies exists and is not ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const dockerignore = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8');
const entrypoint = path.join(root, 'scripts/docker-entrypoint.sh');

interface Instruction { op: string; args: string }
interface Stage { from: string; name: string | undefined; body: Instruction[] }

/** Instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (cur === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continued RUN
    cur += (cur ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const m = /^(\S+)\s*(.*)$/.exec(cur)!;
      out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
      cur = '';
    }
  }
  return out;
}

const all = instructions(dockerfile);
const args = new Map<string, string>();
for (const i of all) {
  if (i.op !== 'ARG') continue;
  const [k, v] = i.args.split('=', 2);
  if (v !== undefined && !args.has(k!)) args.set(k!, v);
}
const expand = (s: string): string => s.replace(/\$\{(\w+)\}/g, (_m, k: string) => args.get(k) ?? '');
const stages: Stage[] = [];
for (const i of all) {
  if (i.op === 'FROM') {
    const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!;
    stages.push({ from: expand(m[1]!), name: m[2], body: [] });
  } else if (stages.length > 0) {
    stages.at(-1)!.body.push(i);
  }
}
const build = stages[0]!;
const runtime = stages.at(-1)!;
const runtimeText = runtime.body.map((i) => `${i.op} ${i.args}`).join('\n');

/** ENV instructions of a stage as a map (both `ENV K=V K2=V2` and `ENV K V`). */
function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const i of stage.body.filter((x) => x.op === 'ENV')) {
    const pairs = i.args.match(/(\w+)=("[^"]*"|\S+)/g);
    if (pairs) for (const p of pairs) { const [k, v] = p.split(/=(.*)/s); env.set(k!, v!.replace(/^"|"$/g, '')); }
    else { const [k, ...v] = i.args.split(/\s+/); env.set(k!, v.join(' ')); }
  }
  return env;
}

test('two stages: a Node.js LTS build stage and a slim Debian runtime stage of the same release (no CUDA image)', () => {
  assert.ok(stages.length >= 2, 'multi-stage');
  const node = /^node:(\d+)-(bookworm|trixie)(-slim)?$/.exec(build.from);
  assert.ok(node, `build stage is an official Debian node image: ${build.from}`);
  const major = Number(node[1]);
  // Node 20 is past its end of life; the image runs an even (LTS) line that is at least 24.
  assert.ok(major >= 24 && major % 2 === 0, `Node.js ${major} is a current LTS line`);
  // The CUDA libraries are never loaded (WebGPU on Vulkan), and GPU nodes pull the image on every
  // scale-up: a plain slim base, the build stage's Debian release so the copied node binary fits.
  const base = /^debian:(bookworm|trixie)-slim$/.exec(runtime.from);
  assert.ok(base, `runtime stage is a slim Debian image: ${runtime.from}`);
  assert.equal(base[1], node[2], 'runtime and build stage on the same Debian release');
  assert.doesNotMatch(dockerfile, /^FROM\s+\S*cuda/im);
  assert.match(runtimeText, /COPY --from=build \/usr\/local\/bin\/node \/usr\/local\/bin\/node/);
});

test('build stage: npm ci, build, then prune to production dependencies', () => {
  const runs = build.body.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
  const ci = runs.indexOf('npm ci');
  const b = runs.indexOf('npm run build');
  const prune = runs.indexOf('npm prune --omit=dev');
  assert.ok(ci >= 0 && b > ci && prune > b, runs);
});

test('runtime stage: no npm install, only the pruned node_modules, dist and the entrypoint', () => {
  assert.doesNotMatch(runtimeText, /npm (ci|install|i )/);
  assert.match(runtimeText, /COPY --from=build \S* ?\/app\/node_modules/);
  assert.match(runtimeText, /COPY --from=build \S* ?\/app\/dist/);
  const cmd = runtime.body.filter((i) => i.op === 'CMD').at(-1)!.args;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const startFile = /(\S+\.js)\s*$/.exec(pkg.scripts.start!)![1]!;
  assert.ok(cmd.includes(`"${startFile}"`), `CMD runs what npm start runs (${startFile})`);
  assert.ok(fs.existsSync(path.join(root, startFile.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${startFile} is built from a source file`);
});

test('runtime stage installs the Vulkan loader, the X/EGL libraries of the NVIDIA ICD, and libatomic1 for node', () => {
  const apt = runtime.body.filter((i) => i.op === 'RUN' && i.args.includes('apt-get install')).map((i) => i.args).join(' ');
  // libatomic1: the official Node.js binary links against it and debian:bookworm-slim lacks it
  // (npm run image:check found `node` failing to start without it).
  for (const p of ['libvulkan1', 'libx11-6', 'libxext6', 'libegl1', 'libatomic1']) assert.match(apt, new RegExp(`\\b${p}\\b`), p);
  assert.match(apt, /--no-install-recommends/);
  assert.match(apt, /rm -rf \/var\/lib\/apt\/lists/);
});

test('runtime environment: GPU capabilities, loader paths, allocator, listen address', () => {
  const env = envOf(runtime);
  const caps = (env.get('NVIDIA_DRIVER_CAPABILITIES') ?? '').split(',');
  for (const c of ['graphics', 'compute', 'utility']) assert.ok(caps.includes(c) || caps.includes('all'), `capability ${c}`);
  assert.ok((env.get('LD_LIBRARY_PATH') ?? '').split(':').includes('/usr/local/nvidia/lib64'));
  assert.equal(env.get('MALLOC_ARENA_MAX'), '2');
  assert.equal(env.get('RTC_HOST'), '0.0.0.0');
  assert.equal(env.get('NODE_ENV'), 'production');
  assert.equal(env.get('NVIDIA_DISABLE_REQUIRE'), '1');
  // Left to whoever grants the GPU (device plugin, --gpus): `all` would hand every GPU to
  // containers that asked for none on hosts with NVIDIA's container runtime.
  assert.equal(env.get('NVIDIA_VISIBLE_DEVICES'), undefined);
});

test('runs as a numeric non-root user, with a health check on /healthz', () => {
  const user = runtime.body.filter((i) => i.op === 'USER').at(-1);
  assert.ok(user, 'USER in the runtime stage');
  const uid = Number(user.args.split(':')[0]);
  assert.ok(Number.isInteger(uid) && uid > 0, `numeric non-root uid: ${user.args}`);
  const hc = runtime.body.find((i) => i.op === 'HEALTHCHECK');
  assert.ok(hc && /\/healthz/.test(hc.args), 'HEALTHCHECK on /healthz');
  // The entrypoint is copied in and tini is PID 1, so SIGTERM reaches node (drain).
  const ep = runtime.body.find((i) => i.op === 'ENTRYPOINT')!.args;
  assert.match(ep, /tini/);
  assert.match(ep, /docker-entrypoint\.sh/);
});

/** Go filepath.Match-like test of one .dockerignore pattern against a context-relative path. */
function ignoredBy(pattern: string, rel: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^$()|[\]{}]/g, '\\$&').replace(/\*\*\//g, '(.*/)?').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '(/.*)?$');
  return re.test(rel);
}
const ignorePatterns = dockerignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const isIgnored = (rel: string): boolean => {
  let ignored = false;
  for (const p of ignorePatterns) {
    if (p.startsWith('!')) { if (ignoredBy(p.slice(1), rel)) ignored = false; } else if (ignoredBy(p, rel)) ignored = true;
  }
  return ignored;
};

test('every file the build copies from the context exists and is not ignored', () => {
  const sources = all.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args)).flatMap((i) => {
    const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    return parts.slice(0, -1);
  });
  assert.ok(sources.length >= 4, sources.join(' '));
  for (const s of sources) {
    assert.ok(fs.existsSync(path.join(root, s)), `${s} exists`);
    assert.equal(isIgnored(s), false, `${s} is not excluded by .dockerignore`);
  }
});

test('.dockerignore keeps local builds, dependencies and test output out of the context', () => {
  for (const p of ['node_modules', 'dist', 'test-output', '.git', '.scratch', 'node_modules/x/y.js', 'dist/src/server/main.js']) {
    assert.equal(isIgnored(p), true, `${p} is ignored`);
  }
  for (const p of ['src/server/main.ts', 'package.json', 'package-lock.json', 'scripts/build.mjs']) {
    assert.equal(isIgnored(p), false, `${p} is kept`);
  }
});

/** Runs the entrypoint against a fake filesystem root and returns the environment it passes on. */
function runEntrypoint(layout: Record<string, string>, env: Record<string, string> = {}): { env: Map<string, string>; tmp: string } {
  const fsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-ep-'));
  const tmp = path.join(fsRoot, 'tmp');
  fs.mkdirSync(tmp);
  for (const [rel, content] of Object.entries(layout)) {
    fs.mkdirSync(path.dirname(path.join(fsRoot, rel)), { recursive: true });
    fs.writeFileSync(path.join(fsRoot, rel), content);
  }
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', RTC_FS_ROOT: fsRoot, TMPDIR: tmp, ...env };
  const r = execFileSync('sh', [entrypoint, 'env'], { env: clean, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Map(r.split('\n').filter((l) => l.includes('=')).map((l) => l.split(/=(.*)/s) as [string, string]));
  return { env: out, tmp: fsRoot };
}

test('entrypoint: leaves the loader alone when the ICD json is where it searches', () => {
  const r = runEntrypoint({ 'etc/vulkan/icd.d/nvidia_icd.json': '{}' });
  assert.equal(r.env.get('VK_DRIVER_FILES'), undefined);
  assert.equal(r.env.get('VK_ICD_FILENAMES'), undefined);
  fs.rmSync(r.tmp, { recursive: true });
});

test('entrypoint: points the loader at an ICD json mounted beside the driver', () => {
  const r = runEntrypoint({ 'usr/local/nvidia/vulkan/icd.d/nvidia_icd.json': '{}' });
  const want = path.join(r.tmp, 'usr/local/nvidia/vulkan/icd.d/nvidia_icd.json');
  assert.equal(r.env.get('VK_DRIVER_FILES'), want);
  assert.equal(r.env.get('VK_ICD_FILENAMES'), want);
  fs.rmSync(r.tmp, { recursive: true });
});

test('entrypoint: writes an ICD json when only the driver library is mounted', () => {
  const r = runEntrypoint({ 'usr/local/nvidia/lib64/libGLX_nvidia.so.0': '' });
  const icd = r.env.get('VK_DRIVER_FILES');
  assert.ok(icd && icd.startsWith(path.join(r.tmp, 'tmp')), String(icd));
  const json = JSON.parse(fs.readFileSync(icd, 'utf8')) as { ICD: { library_path: string } };
  assert.equal(json.ICD.library_path, path.join(r.tmp, 'usr/local/nvidia/lib64/libGLX_nvidia.so.0'));
  fs.rmSync(r.tmp, { recursive: true });
});

test('entrypoint: no GPU, or variables set by the user: nothing changes', () => {
  const none = runEntrypoint({});
  assert.equal(none.env.get('VK_DRIVER_FILES'), undefined);
  fs.rmSync(none.tmp, { recursive: true });
  const user = runEntrypoint({ 'usr/local/nvidia/vulkan/icd.d/nvidia_icd.json': '{}' }, { VK_ICD_FILENAMES: '/mine.json' });
  assert.equal(user.env.get('VK_ICD_FILENAMES'), '/mine.json');
  assert.equal(user.env.get('VK_DRIVER_FILES'), undefined);
  fs.rmSync(user.tmp, { recursive: true });
});

test('entrypoint is shellcheck-clean', { skip: !hasShellcheck() && 'shellcheck not installed' }, () => {
  execFileSync('shellcheck', [entrypoint], { stdio: 'pipe' });
});

function hasShellcheck(): boolean {
  try { execFileSync('shellcheck', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}
