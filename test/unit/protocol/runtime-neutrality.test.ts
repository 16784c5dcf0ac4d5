/**
 * src/protocol stays runtime-neutral: no Node, no DOM, no imports from the layers that use it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('runtime neutrality', () => {
  test('src/protocol imports nothing but itself', () => {
    const dir = path.join(ROOT, 'src/protocol');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${f} imports ${m[1]}`);
      }
    }
  });

  test('it type-checks with neither Node nor DOM types', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'src/protocol/tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
  });
});
