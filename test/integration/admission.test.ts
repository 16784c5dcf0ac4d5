/**
 * Capacity-aware admission: with a small CPU allowance, the server admits sessions while their
 * measured cost fits, then answers 503 + Retry-After, and the sessions it admitted keep a low
 * glass-to-glass p95. The estimate shows in /healthz and rtc_capacity_utilization_ratio.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { OfferRejectedError, RtcClient } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MAX_TRIES = 8;

function p95(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

describe('measured-load admission', () => {
  let srv: TestServer;
  const clients: RtcClient[] = [];
  before(async () => {
    // 0.45 cores at a 0.8 target: room for 0.36 cores of sessions: two to five at 320x240@30 here
    // (a session measured 0.07-0.2 of a core as the engine got cheaper), well inside MAX_TRIES.
    srv = await startTestServer({
      env: { RTC_CAPACITY_CORES: '0.45', RTC_CAPACITY_TARGET: '0.8', RTC_CAPACITY_SESSION_CORES: '0.2', RTC_MAX_SESSIONS: '20' },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv.stop();
  });

  it('refuses the offer that would pass the estimate, and admitted sessions keep p95 under 200 ms', async (t) => {
    let refused: OfferRejectedError | null = null;
    for (let i = 0; i < MAX_TRIES && refused === null; i++) {
      try {
        const c = await RtcClient.connect(srv.url, { width: 320, height: 240, fps: 30 });
        clients.push(c);
        await c.waitForFrames(30, 30000);
        // Past the warm-up, so the next admission decision sees this session's measured cost.
        await new Promise((r) => setTimeout(r, 5000));
      } catch (err) {
        if (!(err instanceof OfferRejectedError)) throw err;
        refused = err;
      }
    }
    assert.ok(refused, `an offer was refused within ${MAX_TRIES} sessions`);
    assert.equal(refused.status, 503);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'AT_CAPACITY');
    assert.match(JSON.stringify(refused.body), /cores/);
    assert.ok(Number(refused.retryAfter) > 0);
    assert.ok(clients.length >= 1 && clients.length < MAX_TRIES, `${clients.length} admitted`);

    const health = (await (await fetch(`${srv.url}/healthz`)).json()) as { capacity: { utilization: number; processCores: number } };
    assert.ok(health.capacity.utilization > 0.5, `utilisation ${JSON.stringify(health.capacity)}`);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const ratio = Number(/^rtc_capacity_utilization_ratio (\S+)/m.exec(metrics)?.[1]);
    assert.ok(ratio > 0.5, `rtc_capacity_utilization_ratio ${ratio}`);
    assert.match(metrics, /^rtc_sessions_rejected_total\{reason="load"\} [1-9]/m);

    for (const c of clients) c.latencies.splice(0);
    await new Promise((r) => setTimeout(r, 5000));
    t.diagnostic(`admitted ${clients.length}; capacity ${JSON.stringify(health.capacity)}; p95 ${clients.map((c) => p95(c.latencies).toFixed(1)).join(', ')} ms`);
    for (const c of clients) {
      assert.ok(c.latencies.length > 50, `${c.latencies.length} stamped frames in 5 s`);
      const p = p95(c.latencies);
      assert.ok(p < 200, `admitted session p95 ${p.toFixed(1)} ms`);
    }
  });
});

describe('admission under a low open-file limit', () => {
  let srv: TestServer;
  const clients: RtcClient[] = [];
  const env = { RTC_CAPACITY_CORES: '64', RTC_MAX_SESSIONS: '50' };
  before(async () => {
    // The limit is set from what an idle server of this engine holds, plus the server's reserve
    // (256) and room for a few descriptors: a native session holds one (its bundled UDP socket), a libwebrtc one a few dozen.
    const probe = await startTestServer({ env });
    const idle = readdirSync(`/proc/${probe.pid}/fd`).length;
    await probe.stop();
    srv = await startTestServer({ openFileLimit: idle + 256 + 4, env });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv.stop();
  });

  it('answers 503 before the process runs out of file descriptors, and keeps serving', async () => {
    let refused: OfferRejectedError | null = null;
    for (let i = 0; i < 12 && refused === null; i++) {
      try {
        const c = await RtcClient.connect(srv.url, { width: 160, height: 120, fps: 10 });
        clients.push(c);
        await c.waitForFrames(2, 30000);
      } catch (err) {
        if (!(err instanceof OfferRejectedError)) throw err;
        refused = err;
      }
    }
    assert.ok(refused, 'an offer was refused');
    assert.equal(refused.status, 503);
    assert.match(JSON.stringify(refused.body), /file descriptors/);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'SERVER_BUSY');
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    const c = clients[0];
    if (c) await c.waitForFrames(5, 10000); // admitted sessions still flow
    assert.equal(srv.child.exitCode, null, 'the server is still running');
  });
});
