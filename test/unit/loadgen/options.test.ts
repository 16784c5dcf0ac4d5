/**
 * The load generator's command-line options: defaults, a single steady phase, help, usage errors,
 * --protocol whip with --viewers, and --engine: the default is libwebrtc (a browser's behaviour), native is
 * accepted in webrtc mode, anything else is a usage error, and --help documents both; --codec:
 * vp8 by default, h264 only with the native client (the libwebrtc build has no H264).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_CODECS, CLIENT_ENGINES } from '../../../src/loadgen/client-media.js';
import { HELP, parseOptions } from '../../../src/loadgen/options.js';
import { UsageError } from '../../../src/toolkit/args.js';

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

test('--codec: vp8 by default, h264 with the native client only, others refused', () => {
  assert.deepEqual([...CLIENT_CODECS], ['vp8', 'h264']);
  assert.equal(parseOptions(['--url', 'http://h:1'])!.codec, 'vp8');
  assert.equal(parseOptions(['--url', 'http://h:1', '--codec', 'vp8'])!.codec, 'vp8');
  assert.equal(parseOptions(['--url', 'http://h:1', '--engine', 'native', '--codec', 'h264'])!.codec, 'h264');
  assert.equal(parseOptions(['--url', 'http://h:1', '--engine', 'native', '--codec', 'h264', '--protocol', 'aiortc'])!.codec, 'h264');
  for (const bad of [
    ['--url', 'http://h', '--codec', 'h264'], ['--url', 'http://h', '--engine', 'libwebrtc', '--codec', 'h264'],
    ['--url', 'http://h', '--engine', 'native', '--codec', 'H264'], ['--url', 'http://h', '--engine', 'native', '--codec', 'vp9'],
    ['--url', 'http://h', '--engine', 'native', '--codec'], ['--url', 'http://h', '--mode', 'process', '--codec', 'vp8'],
  ]) {
    assert.throws(() => parseOptions(bad), UsageError, bad.join(' '));
  }
  assert.throws(() => parseOptions(['--url', 'http://h', '--codec', 'h264']), /--codec h264 needs --engine native/);
  assert.match(HELP, /--codec vp8\|h264/);
});

test('--help names both client engines', () => {
  assert.match(HELP, /--engine libwebrtc\|native/);
  for (const e of CLIENT_ENGINES) assert.ok(HELP.includes(e), e);
});

test('options: defaults, single steady phase, help and usage errors', () => {
  const d = parseOptions(['--url', 'http://127.0.0.1:8080/'])!;
  assert.equal(d.url, 'http://127.0.0.1:8080');
  assert.equal(d.mode, 'webrtc');
  assert.equal(d.protocol, 'rtc-scale');
  assert.deepEqual([d.width, d.height, d.fps], [640, 360, 30]);
  assert.deepEqual(d.phases.map((p) => p.name), ['ramp', 'steady', 'spike', 'cool-down']);
  assert.equal(d.sloP95Ms, undefined);

  const s = parseOptions(['--url', 'http://h:1', '--sessions', '3', '--duration', '20s', '--resolution', '1280x720',
    '--fps', '15', '--filter', 'edges', '--workers', '2', '--slo-p95-ms', '200', '--protocol', 'aiortc'])!;
  assert.deepEqual(s.phases, [{ name: 'steady', sessions: 3, durationS: 20, ramp: false }]);
  assert.deepEqual([s.width, s.height, s.fps, s.filter, s.workers, s.sloP95Ms, s.protocol], [1280, 720, 15, 'edges', 2, 200, 'aiortc']);

  assert.equal(d.settleS, 0);
  assert.equal(parseOptions(['--url', 'http://h:1', '--settle', '5'])!.settleS, 5);
  assert.equal(parseOptions(['--url', 'http://h:1', '--settle', '0'])!.settleS, 0);
  const p = parseOptions(['--url', 'http://h:1', '--mode', 'process', '--phases', 'a:2:3s'])!;
  assert.deepEqual([p.width, p.height, p.iterations, p.filter], [1920, 1080, 10, 'blur']);

  assert.equal(parseOptions(['--help']), null);
  for (const bad of [
    [], ['--url', 'ftp://x'], ['--url', 'nope'], ['--url', 'http://h', '--mode', 'x'], ['--url', 'http://h', '--protocol', 'sip'],
    ['--url', 'http://h', '--resolution', '640'], ['--url', 'http://h', '--resolution', '641x360'], ['--url', 'http://h', '--fps', '0'],
    ['--url', 'http://h', '--phases', 'a:1:1', '--sessions', '2'], ['--url', 'http://h', '--phases', 'a:1:1', '--profile', 'x'],
    ['--url', 'http://h', '--bogus'], ['--url', 'http://h', '--iterations', '99'], ['--url', 'http://h', '--sessions', '0'],
  ]) {
    assert.throws(() => parseOptions(bad), UsageError, bad.join(' '));
  }
});

test('--protocol whip and --viewers', () => {
  const o = parseOptions(['--url', 'http://h:1', '--protocol', 'whip', '--viewers', '3']);
  assert.equal(o?.protocol, 'whip');
  assert.equal(o?.viewers, 3);
  assert.equal(parseOptions(['--url', 'http://h:1'])?.viewers, 0);
  assert.throws(() => parseOptions(['--url', 'http://h:1', '--protocol', 'aiortc', '--viewers', '1']), UsageError);
  assert.throws(() => parseOptions(['--url', 'http://h:1', '--viewers', '-1']), UsageError);
  assert.throws(() => parseOptions(['--url', 'http://h:1', '--viewers', '17']), UsageError);
});

test('--filter anonymize with --style: blur or pixelate, carried to the offer, the WHIP URL and /process', () => {
  const o = parseOptions(['--url', 'http://h:1', '--filter', 'anonymize', '--style', 'pixelate']);
  assert.equal(o?.filter, 'anonymize');
  assert.equal(o?.style, 'pixelate');
  assert.equal(parseOptions(['--url', 'http://h:1', '--filter', 'anonymize'])?.style, undefined, "absent: the server's default");
  assert.throws(() => parseOptions(['--url', 'http://h:1', '--style', 'mosaic']), UsageError);
  assert.throws(() => parseOptions(['--url', 'http://h:1', '--protocol', 'aiortc', '--style', 'blur']), UsageError);
  assert.match(HELP, /--style blur\|pixelate/);
});
