/**
 * The load generator's SVG charts: nice ticks and charts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceTicks, renderChart } from '../../../src/loadgen/svg-chart.js';

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
