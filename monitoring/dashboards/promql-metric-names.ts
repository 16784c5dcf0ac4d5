/**
 * Extracts the metric names a PromQL expression reads, so a test can check that no dashboard
 * panel or rule points at a series nobody exports. A small lexer, not a full parser: it blanks out
 * strings, label matchers, range and subquery brackets and label lists, then keeps identifiers
 * that are not functions, aggregations or keywords.
 */

const KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool',
  'inf', 'nan', 'atan2',
]);

/** The metric names an expression selects, sorted and unique. Grafana's $variables are allowed. */
export function metricNamesInQuery(expr: string): string[] {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const token = /[a-zA-Z_:][a-zA-Z0-9_:]*|[0-9][0-9a-zA-Z_.]*(?:[eE][+-]?[0-9]+)?/g;
  for (let m = token.exec(s); m; m = token.exec(s)) {
    const word = m[0];
    if (/^[0-9]/.test(word) || KEYWORDS.has(word.toLowerCase())) continue;
    const rest = s.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    names.add(word);
  }
  return [...names].sort();
}
