/**
 * Just enough Markdown reading for the doc checks (test/docs/): sections by heading, table rows as
 * cells, and the code spans of a cell. Pipes escaped as `\|` stay inside their cell.
 */

/** The text under each heading of the given level (`##` = 2), keyed by the heading's text. */
export function sections(markdown: string, level: number): Map<string, string> {
  const out = new Map<string, string>();
  const marker = '#'.repeat(level) + ' ';
  let heading: string | null = null;
  let body: string[] = [];
  const flush = (): void => {
    if (heading !== null) out.set(heading, body.join('\n'));
  };
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const isHeading = !fenced && /^#{1,6} /.test(line);
    if (isHeading && line.startsWith(marker)) {
      flush();
      heading = line.slice(marker.length).trim();
      body = [];
    } else if (isHeading && line.indexOf(' ') <= level) {
      // a heading of a higher level ends the section
      flush();
      heading = null;
      body = [];
    } else {
      body.push(line);
    }
  }
  flush();
  return out;
}

/** The body rows of every table in `text` (header and separator rows left out), as trimmed cells. */
export function tableRows(text: string): Array<{ header: string[]; cells: string[] }> {
  const rows: Array<{ header: string[]; cells: string[] }> = [];
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!isRow(lines[i]!) || !/^\|\s*:?-{3,}/.test(lines[i + 1]!)) continue;
    const header = cells(lines[i]!);
    let j = i + 2;
    for (; j < lines.length && isRow(lines[j]!); j++) rows.push({ header, cells: cells(lines[j]!) });
    i = j - 1;
  }
  return rows;
}

/** The contents of the `code spans` in a piece of Markdown. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

function isRow(line: string): boolean {
  return line.trimStart().startsWith('|');
}

function cells(line: string): string[] {
  const parts = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/);
  return parts.map((c) => c.trim().replace(/\\\|/g, '|'));
}
