/**
 * docs/architecture.md's layout table names only what exists: the folders and files in its first
 * column, and the paths in its second column (relative to the row's first folder, or to the
 * repository when they start with a top-level folder).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../monitoring/repo-root.js';
import { codeSpans, sections, tableRows } from '../support/markdown.js';

const ROOT = repoRoot();
const DOC = 'docs/architecture.md';

/** A code span that names a path: a folder (ends in /) or a file with an extension, no spaces or wildcards. */
const isPath = (s: string): boolean => /^[\w.-]+(\/[\w.-]+)*\/?$/.test(s) && (s.endsWith('/') || /\.\w+$/.test(s) || s === 'Dockerfile');

test("every path in docs/architecture.md's layout table exists", () => {
  const layout = sections(readFileSync(path.join(ROOT, DOC), 'utf8'), 2).get('Layout');
  assert.ok(layout !== undefined, `${DOC}: no section "## Layout"`);
  const rows = tableRows(layout);
  assert.ok(rows.length > 0, `${DOC}: the "## Layout" section has no table`);
  const missing: string[] = [];
  const topLevel = (p: string): boolean => existsSync(path.join(ROOT, p.split('/')[0]!)) && p.includes('/') && !p.startsWith('.');
  for (const { cells } of rows) {
    const folders = codeSpans(cells[0] ?? '').filter(isPath);
    for (const f of folders) if (!existsSync(path.join(ROOT, f))) missing.push(`${DOC} layout table: \`${f}\` does not exist`);
    const base = folders.find((f) => f.endsWith('/')) ?? '';
    for (const p of codeSpans(cells[1] ?? '').filter(isPath)) {
      const candidates = [path.join(ROOT, base, p), ...(topLevel(p) ? [path.join(ROOT, p)] : [])];
      if (!candidates.some((c) => existsSync(c))) missing.push(`${DOC} layout table, row \`${base}\`: \`${p}\` does not exist (looked for ${base}${p})`);
    }
  }
  assert.ok(missing.length === 0, missing.join('\n'));
});
