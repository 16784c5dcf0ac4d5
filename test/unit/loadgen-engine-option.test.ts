/**
 * --engine of the load generator: the default is libwebrtc (a browser's behaviour), native is
 * accepted in webrtc mode, anything else is a usage error, and --help documents both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_ENGINES } from '../../src/loadgen/client-media.js';
import { HELP, parseOptions, UsageError } from '../../src/loadgen/options.js';

test('--engine: libwebrtc by default, native on request, others refused', () => {
  assert.deepEqual([...CLIENT_ENGINES], ['libwebrtc', 'native']);
  assert.equal(parseOptions(['--url', 'http://h:1'])!.engine, 'libwebrtc');
  assert.equal(parseOptions(['--url', 'http://h:1', '--engine', 'native'])!.engine, 'native');
  assert.equal(parseOptions(['--url', 'http://h:1', '--engine', 'libwebrtc', '--protocol', 'aiortc'])!.engine, 'libwebrtc');
  for (const bad of [
    ['--url', 'http://h', '--engine', 'chrome'], ['--url', 'http://h', '--engine', ''], ['--url', 'http://h', '--engine'],
    ['--url', 'http://h', '--mode', 'process', '--engine', 'native'],
  ]) {
    assert.throws(() => parseOptions(bad), UsageError, bad.join(' '));
  }
});

test('--help names both client engines', () => {
  assert.match(HELP, /--engine libwebrtc\|native/);
  for (const e of CLIENT_ENGINES) assert.ok(HELP.includes(e), e);
});
