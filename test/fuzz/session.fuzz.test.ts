/**
 * Fuzzing a live session against the real server: PATCH /sessions/:id bodies and ids, and
 * data-channel messages (arbitrary JSON, text that is not JSON, huge strings, binary) from a
 * real WebRTC client. Property: PATCH answers the session's info or a JSON 4xx; every channel
 * message gets its answer (ack, pong, stats, or {type:"error"}); the session survives, keeps
 * streaming, and nothing is left once the client closes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { RtcClient } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { RTCDataChannel } from '../../src/media/wrtc.js';
import {
  FUZZ_SERVER_ENV, assertClientError, assertServerHealthy, describeOutcome, fuzzParams, isSuccess, outcome, postBody, procFigures,
} from '../support/fuzz/harness.js';

/** Resident memory the batches may add to a server that streams one session all along. */
const MAX_RSS_GROWTH_KB = 128 * 1024;

const fieldValue = fc.oneof(
  fc.constantFrom('none', 'invert', 'grayscale', 'blur', 'edges', 'sharpen', 'auto', 'cpu', 'gpu', 'reference'),
  fc.constantFrom(0, 1, 2, 50, 51, -1, 1.5, 1e308, '3', ' 3', '', null, true, [], {}, ['blur'], { name: 'blur' }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A settings object: the known keys with any values, sometimes with extra keys. */
const settings = fc.record({
  type: fc.constantFrom('set', 'ping', 'stats', 'SET', 'pong', 'ack', 'error', ''),
  filter: fieldValue,
  video_transform: fieldValue,
  iterations: fieldValue,
  backend: fieldValue,
  t: fc.oneof(fc.double(), fc.string(), fc.jsonValue({ maxDepth: 1 })),
  extra: fc.jsonValue({ maxDepth: 2 }),
}, { requiredKeys: [] });

/**
 * The client's data channel, to send text that is not JSON and binary (RtcClient.send always
 * sends JSON.stringify of its argument).
 */
function rawChannel(client: RtcClient): RTCDataChannel {
  const ch = client.dataChannel;
  assert.ok(ch, 'the client has no data channel');
  return ch;
}

/** What the server must answer to a message, given as the exact text sent (or null for binary). */
function expectedReply(text: string | null): { types: string[]; t?: unknown } {
  if (text === null || text.length > 4096) return { types: ['error'] };
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { types: ['error'] };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { types: ['error'] };
  const m = msg as Record<string, unknown>;
  if (m.type === 'set') return { types: ['ack', 'error'] };
  // The protocol's ping carries a number to echo; anything else is refused.
  if (m.type === 'ping') return typeof m.t === 'number' && Number.isFinite(m.t) ? { types: ['pong'], t: m.t } : { types: ['error'] };
  if (m.type === 'stats') return { types: ['stats'] };
  return { types: ['error'] };
}

describe('fuzz a live session: PATCH /sessions/:id and data-channel messages', () => {
  let srv: TestServer;
  let client: RtcClient;
  let rssBefore = 0;
  before(async () => {
    srv = await startTestServer({ env: FUZZ_SERVER_ENV });
    client = await RtcClient.connect(srv.url, { width: 160, height: 120, fps: 10, offer: { filter: 'invert' } });
    await client.waitForFrames(3);
    rssBefore = (await procFigures(srv.pid)).rssKb;
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  const patch = async (id: string, body: string | Uint8Array, type: string | null = 'application/json') =>
    outcome(await postBody(`${srv.url}/sessions/${id}`, body, type, 'PATCH'));

  it('PATCH with arbitrary settings answers the session info or a JSON 4xx, and changes nothing on error', async () => {
    await fc.assert(
      fc.asyncProperty(settings, async (s) => {
        const beforeInfo = (await (await fetch(`${srv.url}/sessions/${client.sessionId}`)).json()) as Record<string, unknown>;
        const o = await patch(client.sessionId, JSON.stringify(s));
        if (isSuccess(o)) {
          const info = o.json as { id: string; filter: string; iterations: number };
          assert.equal(info.id, client.sessionId, describeOutcome(o));
          assert.ok(typeof info.filter === 'string' && Number.isInteger(info.iterations), describeOutcome(o));
        } else {
          const code = assertClientError(o, `PATCH ${JSON.stringify(s).slice(0, 200)}`);
          // INVALID_JSON: fastify refuses bodies with __proto__ or constructor.prototype keys.
          assert.ok(['INVALID_PARAMETER', 'UNKNOWN_FILTER', 'BACKEND_UNAVAILABLE', 'INVALID_JSON'].includes(code), describeOutcome(o));
          const afterInfo = (await (await fetch(`${srv.url}/sessions/${client.sessionId}`)).json()) as Record<string, unknown>;
          assert.deepEqual([afterInfo.filter, afterInfo.iterations, afterInfo.backend], [beforeInfo.filter, beforeInfo.iterations, beforeInfo.backend],
            `a refused PATCH changed the session: ${JSON.stringify(s)}`);
        }
      }),
      fuzzParams(300),
    );
    await assertServerHealthy(srv, 1);
  });

  it('PATCH, GET and DELETE with arbitrary bodies, content types and session ids', async () => {
    const id = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.uuid(),
      fc.constantFrom('', '..', '%2e%2e', '__proto__', 'constructor', 'a'.repeat(5000)),
    ).map(encodeURIComponent).filter((s) => s !== '.' && s !== '..'); // URL parsing resolves dot segments client-side
    // Raw path segments, not encoded: broken %-escapes and the like reach fastify's router.
    const rawId = fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', 'a%2Fb', '%C0%AF', 'x'.repeat(101), '..%2F..%2Fhealthz');
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ maxLength: 100 }),
      fc.constantFrom('', '{', '{"filter":', '{"filter":"blur","iterations":1e999}', '{"__proto__":{"filter":"blur"}}'),
    );
    const type = fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', null);
    const method = fc.constantFrom('PATCH', 'GET', 'DELETE', 'PUT', 'POST');
    await fc.assert(
      fc.asyncProperty(fc.oneof(id, rawId), body, type, method, async (i, b, t, m) => {
        const path = `/sessions/${i}`;
        const init: RequestInit = { method: m, redirect: 'manual', ...(m === 'GET' || m === 'DELETE' ? {} : { body: b, headers: t === null ? {} : { 'content-type': t } }) };
        const o = await outcome(await fetch(`${srv.url}${path}`, init));
        // The id is never the live session's (a uuid drawn here is a random one), so no success is possible.
        assert.ok(!isSuccess(o), `${m} ${path} succeeded: ${describeOutcome(o)}`);
        assertClientError(o, `${m} ${path} ${String(t)}`);
      }),
      fuzzParams(300),
    );
    await assertServerHealthy(srv, 1);
  });

  it('regression: router errors (long path parameter, broken escape) answer the API\'s JSON error', async () => {
    for (const path of [`/sessions/${'x'.repeat(101)}`, '/sessions/%zz', '/sessions/%E0%A4%A']) {
      const o = await outcome(await fetch(`${srv.url}${path}`));
      assert.equal(assertClientError(o, path), 'INVALID_PARAMETER', describeOutcome(o));
    }
  });

  it('data-channel messages of any shape each get an answer of the right type', async () => {
    const message = fc.oneof(
      { weight: 4, arbitrary: settings.map((s) => JSON.stringify(s)) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
      { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      { weight: 1, arbitrary: fc.constantFrom(4094, 4096, 4097, 20_000, 60_000).map((n) => JSON.stringify({ type: 'ping', t: 'x'.repeat(n) })) },
      { weight: 1, arbitrary: fc.constantFrom('{"type":"set","filter":"blur","iterations":3}', '{"type":"ping","t":1}', '{"type":"stats"}', '{}', '[]', 'null', '{"type":') },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => a as Uint8Array | string) },
    );
    const ch = rawChannel(client);
    await client.waitFor(() => ch.readyState === 'open', 10_000, 'data channel open');
    await fc.assert(
      fc.asyncProperty(message, async (msg) => {
        const text = typeof msg === 'string' ? msg : null;
        const want = expectedReply(text);
        client.messages.length = 0;
        ch.send(msg);
        // Periodic stats pushes arrive too; they count only when stats were asked for.
        const isAnswer = (m: unknown): boolean => {
          const type = (m as { type?: unknown }).type;
          return typeof type === 'string' && want.types.includes(type) && (type !== 'stats' || want.types.length === 1);
        };
        const unexpected = (m: unknown): boolean => {
          const type = (m as { type?: unknown }).type;
          return type !== 'stats' && !(typeof type === 'string' && want.types.includes(type));
        };
        await client.waitFor(() => client.messages.some((m) => isAnswer(m) || unexpected(m)), 10_000,
          `an answer (${want.types.join('|')}) to ${JSON.stringify(String(text ?? '<binary>').slice(0, 200))}`);
        const reply = client.messages.find((m) => isAnswer(m) || unexpected(m)) as Record<string, unknown>;
        assert.ok(isAnswer(reply), `answer ${JSON.stringify(reply).slice(0, 300)} to ${JSON.stringify(String(text).slice(0, 200))}, wanted ${want.types.join('|')}`);
        if (reply.type === 'error') {
          const e = reply.error as { code?: unknown; message?: unknown };
          assert.ok(typeof e?.code === 'string' && typeof e.message === 'string', JSON.stringify(reply));
        }
        if (reply.type === 'pong') assert.deepEqual(reply.t, want.t, 'pong carries the ping\'s t');
      }),
      fuzzParams(400),
    );
    assert.equal(ch.readyState, 'open', 'the data channel was closed');
    await assertServerHealthy(srv, 1);
  });

  it('the session survived every batch: live, streaming, memory bounded', async () => {
    const info = (await (await fetch(`${srv.url}/sessions/${client.sessionId}`)).json()) as { state: string };
    assert.equal(info.state, 'live');
    // Restore a cheap filter (the fuzzing may have left blur x50), then frames must still come back.
    assert.equal((await postBody(`${srv.url}/sessions/${client.sessionId}`, '{"filter":"none"}', 'application/json', 'PATCH')).status, 200);
    await client.waitForFrames(5, 20_000);
    const rssAfter = (await procFigures(srv.pid)).rssKb;
    assert.ok(rssAfter - rssBefore < MAX_RSS_GROWTH_KB, `RSS grew from ${rssBefore} to ${rssAfter} kB`);
    client.close();
    await assertServerHealthy(srv, 0);
  });
});
