/**
 * src/protocol: session info validation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_ITERATIONS, parseSessionInfo, SessionInfoError, type SessionInfo } from '../../../src/protocol/index.js';

/** A session as today's server sends it (no engine or media fields beyond codec). */
const wire = {
  id: 'b1c0', state: 'live', createdAt: '2026-03-01T10:00:00.000Z', filter: 'blur', iterations: 3, backend: 'auto', activeBackend: 'gpu',
  width: 640, height: 360, codec: 'video/VP8', fpsIn: 30, fpsOut: 29.5, framesReceived: 300, framesSent: 298, framesDropped: 2,
  processingMs: { p50: 0.4, p95: 0.9 }, serverLatencyMs: { p50: 1.2, p95: null },
};

describe('session info', () => {
  test("today's server object validates; absent media fields read as null and engine as libwebrtc", () => {
    const s = parseSessionInfo({ ...wire, unknownField: 1 });
    assert.equal(s.engine, 'libwebrtc');
    assert.equal(s.codec, 'video/VP8');
    for (const f of ['encoder', 'decoder', 'rttMs', 'lossRatio', 'sendBitrateKbps', 'encodeMs', 'decodeMs'] as const) assert.equal(s[f], null, f);
    assert.equal('unknownField' in s, false);
    assert.deepEqual(s.serverLatencyMs, { p50: 1.2, p95: null });
    assert.equal(s.style, null, 'a server from before the style parameter');
  });

  test('the media engine fields pass through', () => {
    const full: SessionInfo = {
      ...(wire as unknown as SessionInfo), engine: 'native', codec: 'video/H264', encoder: 'h264_nvenc', decoder: 'h264_cuvid',
      rttMs: 0.8, lossRatio: 0.01, sendBitrateKbps: 1500, encodeMs: 2.1, decodeMs: 0.6,
      faces: { lastFrame: 2, framesCoveredWhole: 3, detectionAgeMs: 40 }, style: 'pixelate',
    };
    assert.deepEqual(parseSessionInfo(full), full);
  });

  test('every wrong field is refused with its name', () => {
    const cases: Array<[string, unknown]> = [
      ['id', ''], ['state', 'open'], ['createdAt', 'yesterday'], ['filter', 'sepia'], ['iterations', 0], ['iterations', MAX_ITERATIONS + 1],
      ['iterations', 1.5], ['backend', 'reference'], ['activeBackend', 'auto'], ['engine', 'gstreamer'], ['width', -1], ['height', 2.5],
      ['fpsIn', Number.NaN], ['fpsOut', '30'], ['framesReceived', null], ['framesDropped', -3], ['processingMs', { p50: '1' }],
      ['serverLatencyMs', null], ['codec', 8], ['encoder', {}], ['rttMs', -1], ['lossRatio', 1.5], ['sendBitrateKbps', 'fast'],
      ['faces', { lastFrame: -1, framesCoveredWhole: 0, detectionAgeMs: null }], ['faces', 3],
      ['style', 'mosaic'], ['style', 1],
    ];
    for (const [field, value] of cases) {
      assert.throws(() => parseSessionInfo({ ...wire, [field]: value }), (err: unknown) =>
        err instanceof SessionInfoError && err.message.startsWith(field), `${field} = ${JSON.stringify(value)}`);
    }
    for (const v of [null, 3, 'x', [wire]]) assert.throws(() => parseSessionInfo(v), SessionInfoError);
    const { fpsIn: _dropped, ...missing } = wire;
    assert.throws(() => parseSessionInfo(missing), /fpsIn/);
  });
});
