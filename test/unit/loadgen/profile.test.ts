/**
 * Load profiles of the load generator: durations, --phases, JSON and YAML files, ramps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  multiPhaseProfile, parseDuration, parsePhasesArg, profileDuration, ProfileError, readProfileFile, targetAt,
} from '../../../src/loadgen/profile.js';

test('durations accept seconds, units and numbers', () => {
  assert.equal(parseDuration('30'), 30);
  assert.equal(parseDuration('30s'), 30);
  assert.equal(parseDuration('2m'), 120);
  assert.equal(parseDuration('1h'), 3600);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration(12), 12);
  for (const bad of ['', 'abc', '-3', '0', '3x', 0, -1]) assert.throws(() => parseDuration(bad), ProfileError, String(bad));
});

test('--phases parses name:sessions:duration[:ramp]', () => {
  const p = parsePhasesArg('warm:2:5s:ramp, hold:4:10 ,drop:1:1m');
  assert.deepEqual(p, [
    { name: 'warm', sessions: 2, durationS: 5, ramp: true },
    { name: 'hold', sessions: 4, durationS: 10, ramp: false },
    { name: 'drop', sessions: 1, durationS: 60, ramp: false },
  ]);
  for (const bad of ['a:1', 'a:x:5', 'a:1:5:up', 'a:-1:5', '', 'a:1:25h']) assert.throws(() => parsePhasesArg(bad), ProfileError, bad);
});

test('JSON and YAML profile files give the same phases', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loadgen-profile-'));
  const json = path.join(dir, 'p.json');
  const yaml = path.join(dir, 'p.yaml');
  writeFileSync(json, JSON.stringify({ phases: [{ name: 'ramp', sessions: 3, duration: '10s', ramp: true }, { sessions: 3, duration: 20 }] }));
  writeFileSync(yaml, 'phases:\n  - name: ramp\n    sessions: 3\n    duration: 10s\n    ramp: true\n  - sessions: 3\n    duration: 20\n');
  const expected = [
    { name: 'ramp', sessions: 3, durationS: 10, ramp: true },
    { name: 'phase2', sessions: 3, durationS: 20, ramp: false },
  ];
  assert.deepEqual(readProfileFile(json), expected);
  assert.deepEqual(readProfileFile(yaml), expected);
  writeFileSync(yaml, '- sessions: 2\n  duration: 5s\n');
  assert.deepEqual(readProfileFile(yaml), [{ name: 'phase1', sessions: 2, durationS: 5, ramp: false }]);
  writeFileSync(yaml, 'phases: 3\n');
  assert.throws(() => readProfileFile(yaml), ProfileError);
  writeFileSync(yaml, '- sessions: many\n  duration: 5\n');
  assert.throws(() => readProfileFile(yaml), ProfileError);
  assert.throws(() => readProfileFile(path.join(dir, 'missing.yaml')), ProfileError);
  rmSync(dir, { recursive: true, force: true });
});

test('targetAt steps and ramps through the phases and ends', () => {
  const phases = parsePhasesArg('up:4:4s:ramp,hold:4:2s,spike:8:2s,down:2:2s:ramp');
  assert.equal(profileDuration(phases), 10);
  assert.deepEqual(targetAt(phases, 0), { index: 0, sessions: 0 });
  assert.deepEqual(targetAt(phases, 2), { index: 0, sessions: 2 });
  assert.deepEqual(targetAt(phases, 3.9), { index: 0, sessions: 4 });
  assert.deepEqual(targetAt(phases, 4.5), { index: 1, sessions: 4 });
  assert.deepEqual(targetAt(phases, 6), { index: 2, sessions: 8 });
  assert.deepEqual(targetAt(phases, 8), { index: 3, sessions: 8 });
  assert.deepEqual(targetAt(phases, 9), { index: 3, sessions: 5 });
  assert.equal(targetAt(phases, 10), null);
});

test('the default multi-phase profile ramps, holds, spikes and cools down', () => {
  const p = multiPhaseProfile(6);
  assert.deepEqual(p.map((x) => x.name), ['ramp', 'steady', 'spike', 'cool-down']);
  assert.deepEqual(p.map((x) => x.sessions), [6, 6, 12, 2]);
  assert.equal(p[0]!.ramp, true);
});
