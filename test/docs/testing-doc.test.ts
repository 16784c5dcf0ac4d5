/**
 * docs/testing.md lists every test file: each `test/<folder>/` has a section under "What each
 * folder tests" whose table names each of its *.test.ts files (path below the folder), and every
 * file or folder those tables name exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../monitoring/repo-root.js';
import { codeSpans, sections, tableRows } from '../support/markdown.js';

const ROOT = repoRoot();
const DOC = 'docs/testing.md';

function testFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** Folder (e.g. "test/unit/") -> the names in the first column of its table. */
function listedByFolder(): Map<string, string[]> {
  const whatEach = sections(readFileSync(path.join(ROOT, DOC), 'utf8'), 2).get('What each folder tests');
  assert.ok(whatEach !== undefined, `${DOC}: no section "## What each folder tests"`);
  const out = new Map<string, string[]>();
  for (const [heading, body] of sections(whatEach, 3)) {
    const folder = /^`(test\/[^`]+\/)`$/.exec(heading)?.[1];
    if (folder === undefined) continue;
    out.set(folder, tableRows(body).flatMap((r) => codeSpans(r.cells[0] ?? '')));
  }
  return out;
}

test('every test file is listed under its folder in docs/testing.md', () => {
  const listed = listedByFolder();
  const missing: string[] = [];
  for (const file of testFiles('test')) {
    const folder = file.split('/').slice(0, 2).join('/') + '/';
    const names = listed.get(folder);
    if (names === undefined) {
      missing.push(`${file}: ${DOC} has no section "### \`${folder}\`" under "## What each folder tests"`);
      continue;
    }
    const rel = file.slice(folder.length);
    if (!names.includes(rel)) missing.push(`${file}: not in the table under "### \`${folder}\`" of ${DOC} (add a row: | \`${rel}\` | what it proves |)`);
  }
  assert.ok(missing.length === 0, `test files missing from ${DOC}:\n${missing.join('\n')}`);
});

test('every file docs/testing.md lists under a test folder exists', () => {
  const stale: string[] = [];
  for (const [folder, names] of listedByFolder()) {
    for (const name of names) {
      if (!existsSync(path.join(ROOT, folder, name))) stale.push(`${DOC} lists \`${name}\` under "### \`${folder}\`", but ${folder}${name} does not exist`);
    }
  }
  assert.ok(stale.length === 0, stale.join('\n'));
});

test('every folder under test/ has its section in docs/testing.md', () => {
  const listed = listedByFolder();
  const folders = readdirSync(path.join(ROOT, 'test'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `test/${e.name}/`);
  const missing = folders.filter((f) => !listed.has(f)).map((f) => `${DOC}: no section "### \`${f}\`" under "## What each folder tests"`);
  assert.ok(missing.length === 0, missing.join('\n'));
});
