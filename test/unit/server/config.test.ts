import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/server/config.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.backend, 'auto');
    assert.equal(c.gpuAllowSoftware, false);
    assert.ok(c.maxSessions >= 2);
    assert.ok(c.cpuWorkers >= 1);
    assert.deepEqual(c.turnUrls, []);
  });

  it('reads and converts variables', () => {
    const c = loadConfig({
      PORT: '9000', RTC_HOST: '0.0.0.0', RTC_BACKEND: 'gpu', RTC_GPU_ALLOW_SOFTWARE: 'yes', RTC_MAX_SESSIONS: '7',
      RTC_TURN_URLS: 'stun:127.0.0.1:3478, turn:127.0.0.1:3478?transport=udp', RTC_ICE_PORT_MIN: '40000', RTC_ICE_PORT_MAX: '40100',
      RTC_GPU_DAWN_OPTIONS: 'backend=opengles',
    });
    assert.equal(c.port, 9000);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.backend, 'gpu');
    assert.equal(c.gpuAllowSoftware, true);
    assert.equal(c.maxSessions, 7);
    assert.deepEqual(c.turnUrls, ['stun:127.0.0.1:3478', 'turn:127.0.0.1:3478?transport=udp']);
    assert.deepEqual(c.gpuDawnOptions, ['backend=opengles']);
    assert.equal(c.icePortMin, 40000);
  });

  const bad: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['RTC_BACKEND', { RTC_BACKEND: 'tpu' }],
    ['RTC_GPU_ALLOW_SOFTWARE', { RTC_GPU_ALLOW_SOFTWARE: 'maybe' }],
    ['RTC_MAX_SESSIONS', { RTC_MAX_SESSIONS: '-1' }],
    ['RTC_DRAIN_TIMEOUT_S', { RTC_DRAIN_TIMEOUT_S: '1.5' }],
    ['RTC_TURN_URLS', { RTC_TURN_URLS: 'http://example.invalid' }],
    ['RTC_ICE_PORT_MIN', { RTC_ICE_PORT_MIN: '50000', RTC_ICE_PORT_MAX: '40000' }],
    ['RTC_LOG_LEVEL', { RTC_LOG_LEVEL: 'loud' }],
    ['RTC_MEDIA_ENGINE', { RTC_MEDIA_ENGINE: 'gstreamer' }],
    ['RTC_CAPACITY_TARGET', { RTC_CAPACITY_TARGET: '1.5' }],
    ['RTC_CAPACITY_CORES', { RTC_CAPACITY_CORES: 'all' }],
    ['RTC_CONNECT_TIMEOUT_S', { RTC_CONNECT_TIMEOUT_S: '0' }],
    ['RTC_VIDEO_BITRATE_START_KBPS', { RTC_VIDEO_BITRATE_MIN_KBPS: '500', RTC_VIDEO_BITRATE_START_KBPS: '300' }],
    ['RTC_VP8_CPU_USED', { RTC_VP8_CPU_USED: '17' }],
    ['RTC_VIDEO_INPUT_BPP', { RTC_VIDEO_INPUT_BPP: '0' }],
    ['RTC_HARDWARE_CODECS', { RTC_HARDWARE_CODECS: 'perhaps' }],
    ['RTC_TRANSPORT_CC', { RTC_TRANSPORT_CC: 'sometimes' }],
  ];

  it('runs the native media engine by default, with its codec settings', () => {
    const c = loadConfig({});
    assert.equal(c.mediaEngine, 'native');
    assert.deepEqual([c.videoBitrateMinKbps, c.videoBitrateStartKbps, c.videoBitrateMaxKbps], [150, 800, 2000]);
    assert.equal(c.hardwareCodecs, true);
    assert.equal(c.transportCc, true);
    assert.equal(loadConfig({ RTC_TRANSPORT_CC: '0' }).transportCc, false);
    assert.equal(loadConfig({ RTC_MEDIA_ENGINE: 'libwebrtc' }).mediaEngine, 'libwebrtc');
    assert.ok(c.capacityCores > 0 && c.capacityTarget === 0.8);
  });
  for (const [variable, env] of bad) {
    it(`refuses a bad ${variable} with a message naming it`, () => {
      assert.throws(() => loadConfig(env), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, variable);
        assert.match(err.message, new RegExp(`^${variable}: `));
        return true;
      });
    });
  }
});

describe('hardening settings', () => {
  it('defaults the upload budget to three bodies and refuses one smaller than a body', () => {
    const c = loadConfig({ RTC_BODY_LIMIT_BYTES: '1048576' });
    assert.equal(c.processMaxBufferedBytes, 3 * 1048576);
    assert.equal(c.requestTimeoutS, 60);
    assert.equal(c.authJwtMaxTtlS, 86_400);
    assert.throws(() => loadConfig({ RTC_BODY_LIMIT_BYTES: '1048576', RTC_PROCESS_MAX_BUFFERED_BYTES: '1000000' }), ConfigError);
    assert.throws(() => loadConfig({ RTC_AUTH_OPERATOR_TOKENS: 'short' }), ConfigError);
    assert.throws(() => loadConfig({ RTC_REQUEST_TIMEOUT_S: '0' }), ConfigError);
  });
});
