/**
 * The front end (src/web) is type-checked with its own tsconfig (DOM lib, bundler resolution):
 * the main tsconfig leaves it out, and esbuild bundles without checking types.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('src/web type-checks with strict settings', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'src/web/tsconfig.json'), '--noEmit'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});
