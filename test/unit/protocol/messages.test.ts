/**
 * src/protocol: the data channel decoders, both directions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeClientMessage, decodeServerMessage, MAX_ITERATIONS, MAX_MESSAGE_CHARS, parseClientMessage, parseServerMessage,
} from '../../../src/protocol/index.js';

/** A session as today's server sends it (no engine or media fields beyond codec). */
const wire = {
  id: 'b1c0', state: 'live', createdAt: '2026-03-01T10:00:00.000Z', filter: 'blur', iterations: 3, backend: 'auto', activeBackend: 'gpu',
  width: 640, height: 360, codec: 'video/VP8', fpsIn: 30, fpsOut: 29.5, framesReceived: 300, framesSent: 298, framesDropped: 2,
  processingMs: { p50: 0.4, p95: 0.9 }, serverLatencyMs: { p50: 1.2, p95: null },
};

describe('data channel: what the server receives', () => {
  test('set, ping and stats decode into the union', () => {
    assert.deepEqual(decodeClientMessage('{"type":"set","filter":"edges"}'), { ok: true, message: { type: 'set', filter: 'edges' } });
    assert.deepEqual(decodeClientMessage('{"type":"set","iterations":"7","backend":"cpu"}'),
      { ok: true, message: { type: 'set', iterations: 7, backend: 'cpu' } });
    assert.deepEqual(decodeClientMessage('{"type":"set"}'), { ok: true, message: { type: 'set' } });
    assert.deepEqual(decodeClientMessage('{"type":"set","filter":"anonymize","style":"pixelate"}'),
      { ok: true, message: { type: 'set', filter: 'anonymize', style: 'pixelate' } });
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
    assert.equal(code('{"type":"set","style":"mosaic"}'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"set","style":null}'), 'INVALID_PARAMETER');
    assert.equal(code('{"type":"set","style":"Blur"}'), 'INVALID_PARAMETER');
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
