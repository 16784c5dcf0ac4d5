/**
 * The command-line kit: parseArgs errors and every parser's refusal are UsageErrors that name the
 * option and the value; numbers, durations, resolutions and lists within their rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  numberArg, numberEnv, oneOfArg, parseCommandLine, parseDuration, parseList, parseResolution, stringArg, UsageError,
} from '../../../src/toolkit/args.js';

const usage = (re: RegExp) => (e: unknown): boolean => e instanceof UsageError && re.test(e.message);

test('parseCommandLine: strict, no positionals, errors as UsageError', () => {
  const v = parseCommandLine(['--a', '1', '--f'], { a: { type: 'string' }, f: { type: 'boolean' } });
  assert.equal(stringArg(v, 'a'), '1');
  assert.equal(stringArg(v, 'f'), undefined, 'a flag is not a string');
  assert.throws(() => parseCommandLine(['--nope'], { a: { type: 'string' } }), usage(/--nope/));
  assert.throws(() => parseCommandLine(['x'], { a: { type: 'string' } }), UsageError);
  assert.throws(() => parseCommandLine(['--a'], { a: { type: 'string' } }), UsageError);
});

test('numberArg and numberEnv: integer or not, positive, non-negative, ranges; absent is undefined', () => {
  assert.equal(numberArg('n', undefined, { positive: true }), undefined);
  assert.equal(numberArg('n', '2.5', { positive: true }), 2.5);
  assert.equal(numberArg('n', '0', { min: 0, integer: true }), 0);
  assert.equal(numberArg('n', '7', { integer: true, min: 1, max: 7 }), 7);
  for (const [raw, rule, re] of [
    ['0', { positive: true }, /^--n must be a positive number, got "0"$/],
    ['1.5', { positive: true, integer: true }, /a positive integer/],
    ['-1', { min: 0 }, /a non-negative number/],
    ['8', { integer: true, min: 1, max: 7 }, /^--n must be an integer from 1 to 7, got "8"$/],
    ['', { min: 0 }, /got ""/],
    ['abc', { positive: true }, /got "abc"/],
    ['Infinity', { positive: true }, /got "Infinity"/],
  ] as const) {
    assert.throws(() => numberArg('n', raw, rule), usage(re), raw);
  }
  assert.equal(numberEnv('X_RUNS', '', { integer: true, min: 10 }), undefined);
  assert.equal(numberEnv('X_RUNS', '12', { integer: true, min: 10 }), 12);
  assert.throws(() => numberEnv('X_RUNS', '5', { integer: true, min: 10 }), usage(/^X_RUNS must be an integer of at least 10, got "5"$/));
});

test('parseDuration: seconds, units and numbers; the error type is the caller\'s', () => {
  assert.equal(parseDuration('30'), 30);
  assert.equal(parseDuration('2m'), 120);
  assert.equal(parseDuration('1h'), 3600);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration(12), 12);
  for (const bad of ['', 'x', '-3', '0', 0, -1, NaN]) assert.throws(() => parseDuration(bad), UsageError, String(bad));
  class Mine extends Error {}
  assert.throws(() => parseDuration('x', (m) => new Mine(m)), Mine);
});

test('parseResolution, parseList and oneOfArg', () => {
  const rule = { minWidth: 160, minHeight: 16, maxWidth: 3840, maxHeight: 2160, even: true };
  assert.deepEqual(parseResolution('r', ' 640x360 ', rule), { width: 640, height: 360 });
  assert.throws(() => parseResolution('r', '640', rule), usage(/^--r must look like 640x360, got "640"$/));
  for (const bad of ['641x360', '158x90', '3842x100', '640x2162']) assert.throws(() => parseResolution('r', bad, rule), usage(/out of range/), bad);
  assert.deepEqual(parseResolution('r', '641x361', { ...rule, even: false }), { width: 641, height: 361 });
  assert.deepEqual(parseList('l', ' 1, 2 ,,3', Number), [1, 2, 3]);
  assert.throws(() => parseList('l', ' , ', Number), usage(/--l takes 1 to/));
  assert.throws(() => parseList('l', '1,2,3', Number, 2), usage(/--l takes 1 to 2/));
  assert.equal(oneOfArg('k', 'b', ['a', 'b'] as const), 'b');
  assert.throws(() => oneOfArg('k', 'c', ['a', 'b'] as const), usage(/^--k must be one of a, b, got "c"$/));
});
