/**
 * src/protocol: the data channel parsers, session info validation, Retry-After, the percentile
 * definition and the error code table; and that the module stays runtime-neutral (no Node, no
 * DOM, no imports from the layers that use it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  decodeClientMessage, decodeServerMessage, ERROR_CODES, errorBody, httpStatusOf, isErrorCode, MAX_ITERATIONS, MAX_MESSAGE_CHARS,
  nearestRankIndex, parseClientMessage, parseErrorBody, parseRetryAfter, parseServerMessage, parseSessionInfo, percentile,
  percentileSorted, SessionInfoError, summarize, type SessionInfo,
} from '../../src/protocol/index.js';
import { ERROR_CODES as SERVER_ERROR_CODES } from '../../src/server/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

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
  });

  test('the media engine fields pass through', () => {
    const full: SessionInfo = {
      ...(wire as unknown as SessionInfo), engine: 'native', codec: 'video/H264', encoder: 'h264_nvenc', decoder: 'h264_cuvid',
      rttMs: 0.8, lossRatio: 0.01, sendBitrateKbps: 1500, encodeMs: 2.1, decodeMs: 0.6,
    };
    assert.deepEqual(parseSessionInfo(full), full);
  });

  test('every wrong field is refused with its name', () => {
    const cases: Array<[string, unknown]> = [
      ['id', ''], ['state', 'open'], ['createdAt', 'yesterday'], ['filter', 'sepia'], ['iterations', 0], ['iterations', MAX_ITERATIONS + 1],
      ['iterations', 1.5], ['backend', 'reference'], ['activeBackend', 'auto'], ['engine', 'gstreamer'], ['width', -1], ['height', 2.5],
      ['fpsIn', Number.NaN], ['fpsOut', '30'], ['framesReceived', null], ['framesDropped', -3], ['processingMs', { p50: '1' }],
      ['serverLatencyMs', null], ['codec', 8], ['encoder', {}], ['rttMs', -1], ['lossRatio', 1.5], ['sendBitrateKbps', 'fast'],
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

describe('data channel: what the server receives', () => {
  test('set, ping and stats decode into the union', () => {
    assert.deepEqual(decodeClientMessage('{"type":"set","filter":"edges"}'), { ok: true, message: { type: 'set', filter: 'edges' } });
    assert.deepEqual(decodeClientMessage('{"type":"set","iterations":"7","backend":"cpu"}'),
      { ok: true, message: { type: 'set', iterations: 7, backend: 'cpu' } });
    assert.deepEqual(decodeClientMessage('{"type":"set"}'), { ok: true, message: { type: 'set' } });
    assert.deepEqual(decodeClientMessage('{"type":"ping","t":12.5}'), { ok: true, message: { type: 'ping', t: 12.5 } });
    assert.deepEqual(decodeClientMessage('{"type":"stats","junk":1}'), { ok: true, message: { type: 'stats' } });
  });

  test('bad messages get the codes the server answers with', () => {
    const code = (data: unknown) => {
      const d = decodeClientMessage(data);
      return d.ok ? 'ok' : d.error.code;
    };
    assert.equal(code(new ArrayBuffer(4)), 'INVALID_PARAMETER');
    assert.equal(code(`{"type":"stats","pad":"${'x'.repeat(MAX_MESSAGE_CHARS)}"}`), 'INVALID_PARAMETER');
    assert.equal(code('{"type":'), 'INVALID_JSON');
    assert.equal(code('[1,2]'), 'INVALID_PARAMETER');
    assert.equal(code('null'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"reboot"}'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"set","filter":"sepia"}'), 'UNKNOWN_FILTER');
    assert.equal(code('{"type":"set","filter":null}'), 'UNKNOWN_FILTER');
    assert.equal(code('{"type":"set","iterations":0}'), 'INVALID_PARAMETER');
    assert.equal(code(`{"type":"set","iterations":${MAX_ITERATIONS + 1}}`), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"set","iterations":"3x"}'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"set","backend":"reference"}'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"ping"}'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"ping","t":"now"}'), 'INVALID_PARAMETER');
    const d = decodeClientMessage('{"type":"set","filter":"sepia"}');
    assert.ok(!d.ok && /sepia/.test(d.error.message));
    assert.equal(parseClientMessage({ type: 'stats' }).ok, true);
  });
});

describe('data channel: what the clients receive', () => {
  test('ack, stats, pong and error decode into the union', () => {
    const stats = decodeServerMessage(JSON.stringify({ type: 'stats', session: wire }));
    assert.ok(stats.ok && stats.message.type === 'stats' && stats.message.session.activeBackend === 'gpu');
    const ack = parseServerMessage({ type: 'ack', session: wire });
    assert.ok(ack.ok && ack.message.type === 'ack' && ack.message.session.iterations === 3);
    assert.deepEqual(decodeServerMessage('{"type":"pong","t":5}'), { ok: true, message: { type: 'pong', t: 5 } });
    assert.deepEqual(decodeServerMessage('{"type":"error","error":{"code":"BACKEND_UNAVAILABLE","message":"no gpu"}}'),
      { ok: true, message: { type: 'error', error: { code: 'BACKEND_UNAVAILABLE', message: 'no gpu' } } });
  });

  test('a message with a bad session, or of the wrong shape, is refused', () => {
    for (const bad of [
      { type: 'stats' }, { type: 'stats', session: { ...wire, fpsIn: 'fast' } }, { type: 'ack', session: 3 }, { type: 'pong' },
      { type: 'pong', t: null }, { type: 'error' }, { type: 'error', error: { message: 'no code' } }, { type: 'set' }, {}, 'stats',
    ]) {
      assert.equal(parseServerMessage(bad).ok, false, JSON.stringify(bad));
    }
    assert.equal(decodeServerMessage('not json').ok, false);
    assert.equal(decodeServerMessage(new ArrayBuffer(2)).ok, false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T10:00:00.000Z');
  test('delay-seconds as given', () => {
    assert.equal(parseRetryAfter('5', now), 5);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('1.5', now), 1.5);
  });
  test('an HTTP-date, rounded up to whole seconds and never negative', () => {
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 10:00:05 GMT', now), 5);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 10:00:05 GMT', now + 200), 5, '4.8 s rounds up: never retry early');
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 09:59:00 GMT', now), 0);
  });
  test('absent, empty or unreadable values are null', () => {
    for (const v of [null, undefined, '', '   ', '-5', '1e3', '0x10', 'soon', 'Infinity']) assert.equal(parseRetryAfter(v, now), null, String(v));
  });
});

describe('percentile (nearest rank)', () => {
  test('the value of rank ceil(p/100 · n), always a measured value', () => {
    assert.equal(percentile([40, 10, 30, 20], 50), 20);
    assert.equal(percentile([40, 10, 30, 20], 51), 30);
    assert.equal(percentile([40, 10, 30, 20], 95), 40);
    assert.equal(percentile([40, 10, 30, 20], 0), 10);
    assert.equal(percentile([40, 10, 30, 20], 100), 40);
    assert.equal(percentile([7], 95), 7);
    assert.equal(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 95), 950);
    assert.equal(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 99.9), 999);
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([Number.NaN, 3], 50), 3);
    assert.equal(percentileSorted(new Float64Array([1, 2, 3]), 200), 3, 'p is clamped to 0..100');
  });
  test('index and summary agree with the definition', () => {
    for (let n = 1; n <= 50; n++) {
      for (const p of [1, 25, 50, 90, 95, 99]) {
        const i = nearestRankIndex(n, p);
        assert.ok((i + 1) / n >= p / 100 - 1e-12 && (i === 0 || i / n < p / 100), `n=${n} p=${p} index ${i}`);
      }
    }
    assert.deepEqual(summarize([3, 1, 2]), { p50: 2, p95: 3, count: 3 });
  });
});

describe('error codes', () => {
  test('the table is the one the server answers with', () => {
    assert.deepEqual({ ...ERROR_CODES }, { ...SERVER_ERROR_CODES });
    assert.equal(httpStatusOf('AT_CAPACITY'), 503);
    assert.equal(isErrorCode('DRAINING'), true);
    assert.equal(isErrorCode('toString'), false);
    assert.deepEqual(errorBody('NOT_FOUND', 'x'), { error: { code: 'NOT_FOUND', message: 'x' } });
    assert.deepEqual(parseErrorBody({ error: { code: 'AT_CAPACITY' } }), { code: 'AT_CAPACITY', message: '' });
    for (const bad of [null, {}, { error: 'x' }, { error: { code: '' } }, { error: { code: 5 } }]) assert.equal(parseErrorBody(bad), null);
  });

  test('every code used in src/ is in the table', () => {
    const used = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const text = readFileSync(p, 'utf8');
          for (const m of text.matchAll(/(?:ApiError\(|errorBody\(|code: )'([A-Z][A-Z_]+)'/g)) used.add(m[1]!);
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    assert.ok(used.size >= 10, `found ${[...used].join(', ')}`);
    for (const c of used) assert.ok(isErrorCode(c), `${c} is used in src/ but not in src/protocol/errors.ts`);
  });
});

describe('runtime neutrality', () => {
  test('src/protocol imports nothing but itself', () => {
    const dir = path.join(ROOT, 'src/protocol');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${f} imports ${m[1]}`);
      }
    }
  });

  test('it type-checks with neither Node nor DOM types', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'src/protocol/tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
  });
});
