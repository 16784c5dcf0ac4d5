/**
 * Files that the docs and the code's comments name exist: repository paths (`src/...`, `test/...`,
 * `docs/...`, `scripts/...`, `bench/...`, `k8s/...`, `monitoring/...`) in Markdown files and in
 * comments, bare file names (`stamp.ts`) as some file of the repository, and the relative links
 * between Markdown files. Paths with a wildcard or a placeholder
 * (`*`, `<...>`, `{...}`, `$`, `...`) are patterns, not names, and are left alone; so are the dated
 * records in docs/measurements/, which give the commands as they were run on their date (their
 * links are still checked). Under a Markdown heading that is a folder (### `test/unit/`), paths
 * may be relative to that folder.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../monitoring/repo-root.js';

const ROOT = repoRoot();
const TOP = ['src', 'test', 'docs', 'scripts', 'bench', 'k8s', 'monitoring'];
/** A repository path: a top-level folder, then path characters; not the tail of a longer path (dist/src/...). */
const REPO_PATH = new RegExp(`(?<![\\w./-])((?:${TOP.join('|')})/[\\w./-]*[\\w/])`, 'g');
const CODE = /\.(ts|mts|mjs|js|sh|py|ya?ml)$|(^|\/)Dockerfile$/;

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => f !== '' && existsSync(path.join(ROOT, f)));
}

/** The comment text of a source file, line by line (line comments, block comment lines, # comments). */
function commentLines(file: string, text: string): Array<[number, string]> {
  const hash = /\.(sh|py|ya?ml)$|Dockerfile$/.test(file);
  const out: Array<[number, string]> = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trimStart();
    if (hash) {
      const at = t.startsWith('#') ? 0 : line.indexOf(' #');
      if (at >= 0) out.push([i + 1, line.slice(at)]);
    } else if (t.startsWith('*') || t.startsWith('/*') || t.startsWith('//')) {
      out.push([i + 1, t]);
    } else {
      const at = line.indexOf(' // ');
      if (at >= 0) out.push([i + 1, line.slice(at)]);
    }
  });
  return out;
}

function isPattern(p: string): boolean {
  return /[*<>{}$]|\.\.\./.test(p);
}

/** Line number -> the folder a Markdown heading such as "### `test/unit/`" makes the base of the lines below it. */
function headingBases(lines: Array<[number, string]>): Map<number, string> {
  const out = new Map<number, string>();
  let base = '';
  for (const [n, line] of lines) {
    if (/^#{1,6} /.test(line)) base = /^#{1,6} `([\w./-]+\/)`$/.exec(line)?.[1] ?? '';
    out.set(n, base);
  }
  return out;
}

test('every repository path named in a doc or a comment exists', () => {
  const missing: string[] = [];
  for (const file of trackedFiles()) {
    if (file.startsWith('docs/measurements/')) continue; // dated records: the commands as they were run then
    const isDoc = file.endsWith('.md');
    if (!isDoc && !CODE.test(file)) continue;
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const lines: Array<[number, string]> = isDoc ? text.split('\n').map((l, i) => [i + 1, l]) : commentLines(file, text);
    const bases = isDoc ? headingBases(lines) : new Map<number, string>();
    for (const [n, line] of lines) {
      for (const m of line.matchAll(REPO_PATH)) {
        const p = m[1]!.replace(/[.]+$/, '');
        if (isPattern(line.slice(m.index!, m.index! + m[0].length + 3)) || existsSync(path.join(ROOT, p))) continue;
        if (existsSync(path.join(ROOT, bases.get(n) ?? '', p))) continue; // a table under a "### `folder/`" heading
        missing.push(`${file}:${n}: names ${p}, which does not exist`);
      }
    }
  }
  assert.ok(missing.length === 0, `paths named in docs and comments that do not exist:\n${missing.join('\n')}`);
});

/** A bare file name (`stamp.ts`, `rules.yml`): not part of a longer path, not a pattern. */
const BARE_NAME = /(?<![\w./<{$*-])([\w-]+(?:\.[\w-]+)*\.(?:ts|mjs|sh|py|ya?ml))\b(?![\w/])/g;

test('every bare file name a doc or a comment gives is a file of the repository', () => {
  const files = trackedFiles();
  const names = new Set(files.map((f) => f.split('/').pop()!));
  const missing: string[] = [];
  for (const file of files) {
    if (file.startsWith('docs/measurements/')) continue;
    const isDoc = file.endsWith('.md');
    if (!isDoc && !CODE.test(file)) continue;
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    let fenced = false;
    // In Markdown, code blocks are left out: their commands name example files of the reader's own.
    const lines: Array<[number, string]> = isDoc
      ? text.split('\n').flatMap((l, i): Array<[number, string]> => {
        if (l.startsWith('```')) fenced = !fenced;
        return fenced || l.startsWith('```') ? [] : [[i + 1, l]];
      })
      : commentLines(file, text);
    for (const [n, line] of lines) {
      for (const m of line.matchAll(BARE_NAME)) {
        if (!names.has(m[1]!)) missing.push(`${file}:${n}: names ${m[1]}, but no file of the repository has that name`);
      }
    }
  }
  assert.ok(missing.length === 0, `file names in docs and comments that match no file:\n${missing.join('\n')}`);
});

test('every relative link between Markdown files resolves', () => {
  const broken: string[] = [];
  for (const file of trackedFiles().filter((f) => f.endsWith('.md'))) {
    readFileSync(path.join(ROOT, file), 'utf8').split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z]+:/.test(target)) continue;
        if (!existsSync(path.join(ROOT, path.dirname(file), target))) broken.push(`${file}:${i + 1}: links to ${m[1]}, which does not exist`);
      }
    });
  }
  assert.ok(broken.length === 0, `broken links:\n${broken.join('\n')}`);
});
