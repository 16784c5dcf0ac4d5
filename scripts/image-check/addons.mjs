// Run inside the image by scripts/image-check.sh: every native addon of this platform loads, and
// ldd finds every shared library each one links against (Dawn's Vulkan loader is dlopened, so
// webgpu is also asked for an adapter: none is fine, a missing libvulkan is not).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire('/app/package.json');
const platform = `${process.platform}-${process.arch}`;
const failures = [];

/** Every .node file under `dir` built for this platform (other platforms' prebuilds are skipped). */
function addons(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) addons(p, out);
    else if (e.name.endsWith('.node') && statSync(p).size > 0) out.push(p);
  }
  return out;
}
const others = /(darwin|win32|freebsd|musl|arm64|armv7|aarch64|ia32)/;
const files = addons('/app/node_modules').filter((f) => !others.test(f.replace(platform, '')));
for (const f of files) {
  const ldd = execFileSync('ldd', [f], { encoding: 'utf8' });
  const missing = ldd.split('\n').filter((l) => l.includes('not found'));
  if (missing.length > 0) failures.push(`${f}: ${missing.join('; ')}`);
  console.log(`addon ${path.relative('/app/node_modules', f)}: ${ldd.split('\n').filter(Boolean).length} libraries, ${missing.length} missing`);
}

const load = async (name, use) => {
  try {
    const m = require(name);
    console.log(`load ${name}: ${await use(m)}`);
  } catch (err) {
    failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
};
await load('sharp', (s) => `libvips ${s.versions.vips}`);
await load('@roamhq/wrtc', (w) => `RTCPeerConnection ${typeof w.RTCPeerConnection}`);
await load('node-av', (av) => `exports ${Object.keys(av).length}`);
await load('webgpu', async (w) => {
  const gpu = w.create([]);
  const adapter = await gpu.requestAdapter();
  return `Dawn loaded; adapter ${adapter ? 'found' : 'none (no GPU in this container)'}`;
});
try {
  require.resolve('onnxruntime-node');
  await load('onnxruntime-node', (o) => `InferenceSession ${typeof o.InferenceSession}`);
} catch {
  console.log('onnxruntime-node: not a dependency');
}

if (files.length < 4) failures.push(`expected at least 4 native addons, found ${files.length}`);
if (failures.length > 0) {
  console.error(`FAIL:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`all ${files.length} native addons load`);
process.exit(0);
