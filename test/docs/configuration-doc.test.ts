/**
 * docs/configuration.md states what src/server/config.ts does: every variable config.ts reads has
 * a row; the row's default is the one in config.ts (a number, on/off, or the string; a default
 * computed from the machine must be described, not given as a number); its validation names the
 * type and range, or the allowed values, that loadConfig enforces (read from loadConfig's own
 * refusals); and every variable the page documents is read somewhere in src/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../monitoring/repo-root.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { codeSpans, tableRows } from '../support/markdown.js';

const ROOT = repoRoot();
const DOC = 'docs/configuration.md';
const SOURCE = 'src/server/config.ts';
const source = readFileSync(path.join(ROOT, SOURCE), 'utf8');

interface DocRow { default: string; validation: string }

/** Variable -> its row (a row naming two variables gives each its part of "a, b" defaults). */
function documented(): Map<string, DocRow> {
  const out = new Map<string, DocRow>();
  for (const { header, cells } of tableRows(readFileSync(path.join(ROOT, DOC), 'utf8'))) {
    if (header[0] !== 'variable' || header[1] !== 'default' || header[2] !== 'validation') continue;
    const names = codeSpans(cells[0] ?? '');
    const defaults = names.length > 1 ? (cells[1] ?? '').split(/,\s*/) : [cells[1] ?? ''];
    names.forEach((name, i) => out.set(name, { default: (defaults[i] ?? '').trim(), validation: cells[2] ?? '' }));
  }
  return out;
}

/** Splits "a, f(b, c), d" at its top-level commas. */
function args(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

type Default = { kind: 'value'; value: number | boolean | string } | { kind: 'computed'; expr: string };

/** The literal value of a default expression, or 'computed' when it depends on the machine or other settings. */
function evaluate(expr: string): Default {
  if (expr === 'true' || expr === 'false') return { kind: 'value', value: expr === 'true' };
  const str = /^'([^']*)'$/.exec(expr);
  if (str) return { kind: 'value', value: str[1]! };
  if (/^[\d_.\s*+()-]+$/.test(expr)) {
    // digits, underscores and arithmetic only: safe to evaluate
    return { kind: 'value', value: Number(new Function(`return (${expr.replace(/_/g, '')});`)()) };
  }
  return { kind: 'computed', expr };
}

/** Variable -> its default as config.ts writes it. */
function readsOfConfig(): Map<string, Default> {
  const out = new Map<string, Default>();
  for (const m of source.matchAll(/\b(int|decimal|bool|oneOf|list)\(env, '([A-Z][A-Z0-9_]*)'/g)) {
    const open = m.index! + m[1]!.length;
    let depth = 0;
    let end = open;
    for (; end < source.length; end++) {
      if (source[end] === '(') depth++;
      if (source[end] === ')' && --depth === 0) break;
    }
    const a = args(source.slice(open + 1, end));
    out.set(m[2]!, m[1] === 'list' ? { kind: 'value', value: '' } : evaluate(a[2] ?? ''));
  }
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)(\s*\?\?\s*('[^']*'))?/g)) {
    if (!out.has(m[1]!)) out.set(m[1]!, m[3] !== undefined ? evaluate(m[3]) : { kind: 'value', value: '' });
  }
  return out;
}

/** "2⁴⁰" -> 2 ** 40; "-16" -> -16. */
function docNumber(text: string): number {
  const sup = '⁰¹²³⁴⁵⁶⁷⁸⁹';
  const m = /^(-?[\d.]+)([⁰¹²³⁴⁵⁶⁷⁸⁹]*)$/.exec(text);
  if (!m) return NaN;
  const exp = [...m[2]!].map((c) => sup.indexOf(c)).join('');
  return exp === '' ? Number(m[1]) : Number(m[1]) ** Number(exp);
}

/** The validation loadConfig enforces, read from its refusal of a value no setting takes. */
function enforced(name: string): string | null {
  const env: Record<string, string> = { POD_NAME: 'p', POD_NAMESPACE: 'n', KUBERNETES_SERVICE_HOST: 'h', [name]: 'not-a-value' };
  try {
    loadConfig(env);
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError) || e.variable !== name) return null;
    const int = /expected an integer from (-?\d+) to (-?\d+)/.exec(e.message);
    if (int) return `integer ${int[1]}–${int[2]}`;
    const num = /expected a number from (\S+) to (\S+),/.exec(e.message);
    if (num) return `number ${num[1]}–${num[2]}`;
    if (/expected 1\/0, true\/false/.test(e.message)) return 'boolean';
    const one = /expected one of (.+), got/.exec(e.message);
    if (one) return `one of ${one[1]}`;
    return null;
  }
}

function checkValidation(name: string, cell: string, wanted: string): string | null {
  const range = /^(integer|number) (\S+)–(\S+)$/.exec(wanted);
  if (range) {
    const m = /^(integer|number) (-?[\d.⁰¹²³⁴⁵⁶⁷⁸⁹]+)–(-?[\d.⁰¹²³⁴⁵⁶⁷⁸⁹]+)/.exec(cell);
    const ok = m !== null && m[1] === range[1] && docNumber(m[2]!) === Number(range[2]) && docNumber(m[3]!) === Number(range[3]);
    return ok ? null : `${name}: validation is "${cell}" in ${DOC}, but ${SOURCE} accepts ${wanted} (write "${wanted}")`;
  }
  if (wanted === 'boolean') return cell.startsWith('boolean') ? null : `${name}: validation is "${cell}" in ${DOC}, but ${SOURCE} reads a boolean (write "boolean")`;
  if (wanted.startsWith('one of ')) {
    const allowed = wanted.slice('one of '.length).split(', ').sort();
    const listed = codeSpans(cell).sort();
    return JSON.stringify(allowed) === JSON.stringify(listed) ? null
      : `${name}: validation lists ${listed.map((v) => `\`${v}\``).join(', ') || 'nothing'} in ${DOC}, but ${SOURCE} accepts ${allowed.map((v) => `\`${v}\``).join(', ')}`;
  }
  return null;
}

function checkDefault(name: string, cell: string, def: Default): string | null {
  const text = cell.replace(/`/g, '').trim();
  if (def.kind === 'computed') {
    return /^-?[\d.]+$/.test(text) ? `${name}: default is the fixed number ${text} in ${DOC}, but ${SOURCE} computes it (${def.expr}): describe how` : null;
  }
  const v = def.value;
  if (typeof v === 'boolean') return text === (v ? 'on' : 'off') ? null : `${name}: default is "${cell}" in ${DOC}, but ${SOURCE} has ${v ? 'on' : 'off'}`;
  if (typeof v === 'number') {
    const first = /^(-?[\d.]+)/.exec(text)?.[1];
    return first !== undefined && Number(first) === v ? null : `${name}: default is "${cell}" in ${DOC}, but ${SOURCE} has ${v}`;
  }
  return text === v ? null : `${name}: default is "${cell}" in ${DOC}, but ${SOURCE} has ${v === '' ? 'none (leave the cell empty)' : `"${v}"`}`;
}

test('every variable config.ts reads has a row in docs/configuration.md with its default and validation', () => {
  const doc = documented();
  const problems: string[] = [];
  for (const [name, def] of readsOfConfig()) {
    const row = doc.get(name);
    if (row === undefined) {
      problems.push(`${name}: read by ${SOURCE}, but ${DOC} has no row for it (| \`${name}\` | default | validation | meaning |)`);
      continue;
    }
    const d = checkDefault(name, row.default, def);
    if (d) problems.push(d);
    const wanted = enforced(name);
    const v = wanted === null ? null : checkValidation(name, row.validation, wanted);
    if (v) problems.push(v);
  }
  assert.ok(problems.length === 0, `${DOC} does not match ${SOURCE}:\n${problems.join('\n')}`);
});

test('every variable docs/configuration.md documents is read somewhere in src/', () => {
  const sources = readdirSync(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
  const unread = [...documented().keys()].filter((name) => !new RegExp(`\\b${name}\\b`).test(sources))
    .map((name) => `${name}: documented in ${DOC}, but nothing in src/ reads it`);
  assert.ok(unread.length === 0, unread.join('\n'));
});
