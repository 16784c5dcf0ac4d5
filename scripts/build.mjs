#!/usr/bin/env node
// Builds everything `npm start` and `npm test` need: the WASM kernels (AssemblyScript),
// the server and tests (tsc), and the web page (esbuild). Run by `npm install` (prepare).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const step = (label, fn) => {
  const t0 = Date.now();
  fn();
  console.log(`build: ${label} (${Date.now() - t0} ms)`);
};

mkdirSync(path.join(root, 'dist'), { recursive: true });

const wasmEntry = 'src/processing/cpu/assembly/index.ts';
if (existsSync(path.join(root, wasmEntry))) {
  step('wasm kernels', () => {
    mkdirSync(path.join(root, 'dist/wasm'), { recursive: true });
    // one shared memory imported by the main thread's and every worker's instance (threads +
    // sharedMemory), so workers filter frames in place; no GC runtime: the kernels never allocate
    run(bin('asc'), [wasmEntry, '--outFile', 'dist/wasm/kernels.wasm', '--optimizeLevel', '3', '--shrinkLevel', '0',
      '--noAssert', '--runtime', 'stub', '--enable', 'simd', '--enable', 'threads', '--importMemory', '--sharedMemory',
      '--initialMemory', '1', '--maximumMemory', '65536']);
  });
}

step('typescript', () => {
  // tsc never deletes outputs of sources that were moved or removed: a stale dist/test/*.test.js
  // would still run in the suite. Start its output folders empty.
  for (const dir of ['src', 'test', 'bench', 'monitoring']) rmSync(path.join(root, 'dist', dir), { recursive: true, force: true });
  run(bin('tsc'), ['-p', 'tsconfig.json']);
});

const webEntry = 'src/web/app.ts';
if (existsSync(path.join(root, webEntry))) {
  step('web page', () => {
    run(bin('esbuild'), [webEntry, '--bundle', '--format=esm', '--target=es2022', '--minify', '--sourcemap',
      '--outdir=dist/web', '--loader:.css=css']);
    for (const f of readdirSync(path.join(root, 'src/web'))) {
      if (/\.(html|css|svg|ico|png)$/.test(f)) cpSync(path.join(root, 'src/web', f), path.join(root, 'dist/web', f));
    }
  });
}
