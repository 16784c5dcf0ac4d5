/**
 * Fuzzing POST /offer against the real server: arbitrary JSON and non-JSON bodies, the body's
 * fields with wrong types and values, and mutated real offers from Chromium and @roamhq/wrtc
 * that reach libwebrtc's parser. Property: an answer of the right shape (its session then
 * deleted) or a 4xx/503 JSON error, never another 5xx; the server alive and no session left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  FUZZ_MULTIPLIER, FUZZ_SERVER_ENV, assertClientError, assertServerHealthy, describeOutcome, fuzzParams, isSuccess, outcome, postBody,
  procFigures, type Outcome, type ProcFigures,
} from '../support/fuzz/harness.js';
import { REAL_OFFERS, mutatedOffer, offerLikeText } from '../support/fuzz/sdp-mutations.js';

/**
 * Resident memory all the batches may add (kB; grows with the square root of FUZZ_RUNS):
 * measured +17 MB over 42 answered offers here (malloc keeps freed native memory).
 */
const MAX_RSS_GROWTH_KB = 128 * 1024;

/** Values of any JSON type, and the right type with wrong contents. */
const fieldValue = fc.oneof(
  fc.constantFrom('none', 'invert', 'grayscale', 'blur', 'edges', 'sharpen', 'auto', 'cpu', 'gpu', 'reference', 'offer', 'answer'),
  fc.constantFrom(0, 1, 2, 50, 51, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER, '3', ' 3', '', null, true, false, [], {}, ['blur'], { name: 'blur' }),
  fc.jsonValue({ maxDepth: 2 }),
);

describe('fuzz POST /offer', () => {
  let srv: TestServer;
  let answered = 0;
  let start: ProcFigures;
  before(async () => {
    srv = await startTestServer({ env: FUZZ_SERVER_ENV });
    // One negotiation first, so libwebrtc's threads and buffers are in the baseline.
    await check(await offer(JSON.stringify({ sdp: REAL_OFFERS.wrtc, type: 'offer' })), 'warm-up');
    await assertServerHealthy(srv);
    start = await procFigures(srv.pid);
  });
  after(async () => {
    await srv?.stop();
  });

  /** Check an outcome; an answer's session is deleted at once so none accumulates. */
  async function check(o: Outcome, context: string): Promise<void> {
    if (isSuccess(o)) {
      const b = o.json as { sdp?: unknown; type?: unknown; sessionId?: unknown; iceServers?: unknown };
      assert.equal(o.status, 200, describeOutcome(o));
      assert.ok(typeof b.sdp === 'string' && b.sdp.startsWith('v=0'), `answer without SDP: ${describeOutcome(o)}`);
      assert.equal(b.type, 'answer');
      assert.ok(typeof b.sessionId === 'string' && Array.isArray(b.iceServers), describeOutcome(o));
      answered++;
      const del = await fetch(`${srv.url}/sessions/${encodeURIComponent(b.sessionId)}`, { method: 'DELETE' });
      // The session may already have ended on its own (the connection failed): 404 then.
      assert.ok(del.status === 204 || del.status === 404, `DELETE answered ${del.status}`);
      await del.body?.cancel();
    } else {
      assertClientError(o, context);
    }
  }

  const offer = async (body: string | Uint8Array, type: string | null = 'application/json'): Promise<Outcome> =>
    outcome(await postBody(`${srv.url}/offer`, body, type));

  it('arbitrary JSON bodies are refused with a JSON 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
        const o = await offer(JSON.stringify(v) ?? 'null');
        assert.ok(!isSuccess(o), `accepted ${JSON.stringify(v)}`);
        assertClientError(o, `body ${JSON.stringify(v).slice(0, 200)}`);
      }),
      fuzzParams(1000),
    );
    await assertServerHealthy(srv);
  });

  it('bodies that are not JSON, or not declared as JSON, are refused with a JSON 4xx', async () => {
    const realBody = JSON.stringify({ sdp: REAL_OFFERS.wrtc, type: 'offer' });
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.nat().map((n) => realBody.slice(0, n % realBody.length)),
      fc.constantFrom('', ' ', '{', '{"sdp":', '[]', '{"__proto__":{"type":"offer"}}', '{"constructor":{"prototype":{}}}', '\u0000', 'nul'),
      fc.integer({ min: 300_000, max: 400_000 }).map((n) => `{"sdp":"${'a'.repeat(n)}","type":"offer"}`),
    );
    const type = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/sdp',
      'application/x-www-form-urlencoded', 'APPLICATION/JSON', 'application/json; charset=latin1', 'multipart/form-data', null);
    await fc.assert(
      fc.asyncProperty(body, type, async (b, t) => {
        const o = await offer(b, t);
        assert.ok(!isSuccess(o), `accepted a ${t} body`);
        assertClientError(o, `${String(t)} body of ${b.length}`);
      }),
      fuzzParams(300),
    );
    await assertServerHealthy(srv);
  });

  it('a real offer with fields of wrong types and values: an answer or a JSON 4xx', async () => {
    const fields = fc.record({
      type: fc.oneof(fc.constant('offer'), fieldValue),
      filter: fieldValue,
      video_transform: fieldValue,
      iterations: fieldValue,
      backend: fieldValue,
      sdp: fc.oneof(fc.constant(REAL_OFFERS.chromium), fc.constant(REAL_OFFERS.wrtc), fieldValue),
    }, { requiredKeys: ['type', 'sdp'] });
    await fc.assert(
      fc.asyncProperty(fields, async (f) => {
        await check(await offer(JSON.stringify(f)), `fields ${JSON.stringify({ ...f, sdp: typeof f.sdp === 'string' ? f.sdp.slice(0, 20) : f.sdp })}`);
      }),
      fuzzParams(200),
    );
    await assertServerHealthy(srv);
  });

  it('mutated real offers (Chromium and wrtc): an answer or INVALID_SDP, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedOffer, async ({ origin, sdp }) => {
        await check(await offer(JSON.stringify({ sdp, type: 'offer', filter: 'invert' })), `mutated ${origin} offer:\n${sdp.slice(0, 3000)}`);
      }),
      fuzzParams(250),
    );
    await assertServerHealthy(srv);
  });

  it('arbitrary text dressed as an offer reaches libwebrtc and is refused as INVALID_SDP', async () => {
    await fc.assert(
      fc.asyncProperty(offerLikeText, async (sdp) => {
        await check(await offer(JSON.stringify({ sdp, type: 'offer' })), `offer-like text:\n${sdp.slice(0, 2000)}`);
      }),
      fuzzParams(150),
    );
    await assertServerHealthy(srv);
  });

  it('regression: an offer libwebrtc takes but cannot answer (a=setup:holdconn) is INVALID_SDP, not a 500', async () => {
    for (const sdp of [REAL_OFFERS.chromium, REAL_OFFERS.wrtc]) {
      const o = await offer(JSON.stringify({ sdp: sdp.replaceAll('a=setup:actpass', 'a=setup:holdconn'), type: 'offer' }));
      assert.equal(assertClientError(o), 'INVALID_SDP', describeOutcome(o));
    }
    await assertServerHealthy(srv);
  });

  it('some mutated offers were answered, and memory and threads came back down', async (t) => {
    assert.ok(answered > 1, 'no fuzzed offer was ever answered');
    const end = await procFigures(srv.pid);
    t.diagnostic(`${answered} offers answered; server RSS ${start.rssKb} -> ${end.rssKb} kB, peak ${end.hwmKb} kB, threads ${start.threads} -> ${end.threads}`);
    assert.ok(end.rssKb - start.rssKb < MAX_RSS_GROWTH_KB * FUZZ_MULTIPLIER ** 0.5, `RSS grew from ${start.rssKb} to ${end.rssKb} kB`);
    assert.ok(end.threads <= start.threads + 4, `threads grew from ${start.threads} to ${end.threads}`);
  });
});
