/**
 * The report kit: nice ticks and SVG charts, and the page both HTML reports are built on (escaped
 * text, tables, the style, no script or external resource).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cell, chartBlock, esc, htmlTable, niceTicks, renderChart, reportCss, reportPage } from '../../../src/toolkit/html-report.js';

test('nice ticks and charts', () => {
  assert.deepEqual(niceTicks(9), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  const svg = renderChart({
    title: 'T <x>', xLabel: 'x', leftLabel: 'y', series: [{ name: 'a', color: '#000', points: [[0, 1], [1, null], [2, 3]] }],
  });
  assert.match(svg, /^<svg /);
  assert.match(svg, /T &lt;x&gt;/);
  assert.equal((svg.match(/<path /g) ?? []).length, 1);
  assert.equal((svg.match(/M/g) ?? []).length >= 2, true, 'a null splits the line');
});

test('the page: escaped settings and tables, the shared style with extra rules, charts as figures', () => {
  assert.equal(esc('<a href="x">&</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  assert.equal(cell(null), '–');
  assert.equal(cell(1.25, 1), '1.3');
  assert.equal(htmlTable(['a<'], [['1&']]), '<table><thead><tr><th>a&lt;</th></tr></thead><tbody><tr><td>1&amp;</td></tr></tbody></table>');
  assert.ok(reportCss('x{y:z}').includes('\nx{y:z}\n.met'));
  assert.ok(!reportCss().includes('\n\n'));
  const page = reportPage({ title: 't <1>', heading: 'H', settings: [['k', 'v&']], body: chartBlock(['<svg/>', '<svg/>']) });
  assert.match(page, /^<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>t &lt;1&gt;<\/title>/);
  assert.ok(page.includes('<dl><dt>k</dt><dd>v&amp;</dd></dl>'));
  assert.ok(page.includes('<div class="charts"><figure><svg/></figure>\n<figure><svg/></figure></div>'));
  assert.doesNotMatch(page, /<script|<link|\b(?:src|href)=|url\(/);
});
