/**
 * npm run simulate-hpa: the command line with its HTML report and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/autoscaling/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const HPA_FILE = path.join(root, 'k8s/autoscaling/hpa.yaml');
const SAMPLE_CURVE = path.join(root, 'k8s/autoscaling/capacity-curve.sample.json');

test('the command line: a report for the sample curve, exit 1 on a miss, 2 on bad input', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-hpa-'));
  try {
    const profile = path.join(dir, 'p.yaml');
    fs.writeFileSync(profile, 'phases:\n  - {name: ramp, sessions: 12, duration: 2m, ramp: true}\n  - {name: steady, sessions: 12, duration: 5m}\n');
    const lines: string[] = [];
    const html = path.join(dir, 'out.html');
    const json = path.join(dir, 'out.json');
    const code = main(['--profile', profile, '--hpa', HPA_FILE, '--curve', SAMPLE_CURVE, '--html', html, '--json', json], (l) => lines.push(l), (l) => lines.push(l));
    const text = lines.join('\n');
    assert.equal(code, 1, text);
    assert.match(text, /SAMPLE curve/);
    assert.match(text, /not simulated .*rtc_gpu_utilization_percent/);
    assert.match(text, /^steady\s/m);
    assert.match(text, /MISSED/);
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /<svg/);
    assert.match(page, /Predicted p95/);
    assert.match(page, /SAMPLE numbers/);
    const parsed = JSON.parse(fs.readFileSync(json, 'utf8')) as { result: { samples: unknown[] } };
    assert.equal(parsed.result.samples.length, 420);
    const err: string[] = [];
    assert.equal(main(['--profile', path.join(dir, 'missing.yaml'), '--html', ''], () => undefined, (l) => err.push(l)), 2);
    assert.match(err.join('\n'), /cannot read profile/);
    assert.equal(main(['--sync-s', 'x', '--profile', profile], () => undefined, () => undefined), 2);
    assert.equal(main([], () => undefined, () => undefined), 2);
    assert.equal(main(['--bogus'], () => undefined, () => undefined), 2);
    const sweepOut: string[] = [];
    assert.equal(main(['--sweep-rates', '0.002', '--sweep-base', '1', '--sweep-peak', '3', '--hpa', HPA_FILE, '--curve', SAMPLE_CURVE, '--html', ''], (l) => sweepOut.push(l)), 0, sweepOut.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
