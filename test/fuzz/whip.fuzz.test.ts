/**
 * Fuzzing WHIP and WHEP against the real server: mutated real offers and offer-like text POSTed
 * to /whip and /whep/:sessionId, and arbitrary trickle fragments, If-Match values and content
 * types PATCHed to a live resource. Property: a 201 of the right shape (its resource then
 * deleted), a 204 for a PATCH, or a 4xx/503 JSON error, never another 5xx; the server stays up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server.js';
import { WhipPublisher } from '../support/whip-client.js';
import { FUZZ_SERVER_ENV, assertClientError, assertServerHealthy, describeOutcome, fuzzParams, isSuccess, outcome, postBody, type Outcome } from '../support/fuzz/harness.js';
import { REAL_OFFERS, mutatedOffer, offerLikeText } from '../support/fuzz/sdp-mutations.js';

describe('fuzz WHIP and WHEP', () => {
  let srv: TestServer;
  const created = { whip: 0, whep: 0, patched: 0 };
  before(async () => {
    // WHEP viewers run on the libwebrtc engine; the native engine answers WHEP with 501 until its one-encode fan-out lands.
    srv = await startTestServer({ env: { ...FUZZ_SERVER_ENV, RTC_MEDIA_ENGINE: 'libwebrtc' } });
  });
  after(async () => {
    await srv?.stop();
  });

  /** A 201 must carry an SDP answer and a Location, which is then deleted; anything else a JSON 4xx/503. */
  async function check(o: Outcome, location: string | null, context: string): Promise<void> {
    if (isSuccess(o)) {
      assert.equal(o.status, 201, describeOutcome(o));
      assert.ok(o.text.startsWith('v=0') && location !== null, `201 without an answer or Location: ${describeOutcome(o)}`);
      const del = await fetch(new URL(location, srv.url), { method: 'DELETE' });
      assert.ok(del.status === 200 || del.status === 404, `DELETE answered ${del.status}`);
      await del.body?.cancel();
    } else {
      assertClientError(o, context);
    }
  }

  const sdpBody = fc.oneof(mutatedOffer.map((m) => m.sdp), offerLikeText, fc.string({ maxLength: 300 }), fc.constant(REAL_OFFERS.chromium));

  it('POST /whip with mutated offers, any filter path and content type', async () => {
    await fc.assert(
      fc.asyncProperty(sdpBody, fc.constantFrom('/whip', '/whip/invert', '/whip/x%00y', '/whip?iterations=51', '/whip?backend=gpu'),
        fc.constantFrom('application/sdp', 'application/SDP; charset=utf-8', 'text/plain', null), async (sdp, path, type) => {
          const res = await postBody(`${srv.url}${path}`, sdp, type);
          const location = res.headers.get('location');
          if (res.status === 201) created.whip++;
          await check(await outcome(res), location, `${path} ${type}`);
        }),
      fuzzParams(60),
    );
    await assertServerHealthy(srv);
  });

  it('POST /whep and PATCH on a live resource with arbitrary fragments and If-Match values', async (t) => {
    const p = await WhipPublisher.publish(srv.url, '/whip', { direction: 'sendonly' });
    try {
      await fc.assert(
        fc.asyncProperty(sdpBody, async (sdp) => {
          const res = await postBody(`${srv.url}/whep/${p.resourceId}`, sdp, 'application/sdp');
          const location = res.headers.get('location');
          if (res.status === 201) created.whep++;
          await check(await outcome(res), location, 'whep');
        }),
        fuzzParams(30),
      );
      const fragLine = fc.oneof(
        fc.constantFrom('a=end-of-candidates', 'a=mid:0', 'm=video 9 UDP/TLS/RTP/SAVPF 0', 'a=ice-ufrag:zzzz', 'a=ice-pwd:zzzzzzzzzzzzzzzzzzzzzzzz',
          'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host', 'a=candidate:1 1 tcp 1 ::1 0 typ host tcptype active', 'a=candidate:x',
          'a=candidate:1 1 udp 1 256.256.256.256 99999 typ relay raddr 0.0.0.0 rport 0'),
        fc.string({ maxLength: 80 }).map((s) => `a=${s}`),
        fc.string({ maxLength: 80 }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fragLine, { maxLength: 12 }), fc.constantFrom(p.etag, '*', '"x"', `W/${p.etag}`, '', null),
          fc.constantFrom('application/trickle-ice-sdpfrag', 'application/sdp', null), async (lines, ifMatch, type) => {
            const headers: Record<string, string> = {};
            if (type !== null) headers['content-type'] = type;
            if (ifMatch !== null) headers['if-match'] = ifMatch;
            const o = await outcome(await fetch(p.location, { method: 'PATCH', headers, body: lines.join('\r\n') }));
            if (o.status === 204) {
              created.patched++;
              return;
            }
            assertClientError(o, `PATCH ${JSON.stringify(lines).slice(0, 200)}`);
          }),
        fuzzParams(150),
      );
      // The publisher's session survived every PATCH.
      assert.equal((await fetch(p.location, { method: 'OPTIONS' })).status, 200);
      assert.equal(await p.delete(), 200);
    } finally {
      p.close();
    }
    await assertServerHealthy(srv);
    t.diagnostic(`answered: ${created.whip} WHIP offers, ${created.whep} WHEP offers, ${created.patched} PATCHes with 204`);
  });
});
