/**
 * Graceful shutdown: on SIGTERM the server stops admitting sessions and reports not-ready, live
 * sessions keep being served until they end or the drain timeout passes, then it exits 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OfferRejectedError, RtcClient } from '../support/rtc-client.js';
import { startTestServer } from '../support/server.js';

describe('drain on SIGTERM', () => {
  it('keeps live sessions, refuses new ones, exits 0 once they end', async () => {
    const srv = await startTestServer({ env: { RTC_DRAIN_TIMEOUT_S: '30' } });
    const c = await RtcClient.connect(srv.url, { width: 320, height: 240 });
    try {
      await c.waitForFrames(5, 30000);
      srv.child.kill('SIGTERM');
      // The signal is handled on the server's event loop: poll rather than guess how long it takes.
      const deadline = Date.now() + 10000;
      let ready = await fetch(`${srv.url}/readyz`);
      while (ready.status !== 503 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await fetch(`${srv.url}/readyz`);
      }
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { error: { code: string } }).error.code, 'DRAINING');
      await assert.rejects(RtcClient.connect(srv.url, { width: 320, height: 240 }), (err: unknown) => {
        assert.ok(err instanceof OfferRejectedError);
        assert.equal(err.status, 503);
        assert.equal((err.body as { error: { code: string } }).error.code, 'DRAINING');
        return true;
      });
      // The live session is not dropped: frames keep coming back during the drain.
      await c.waitForFrames(20, 15000);
      assert.equal(srv.child.exitCode, null, 'still running while a session is live');
      const closedAt = Date.now();
      c.close();
      const code = await srv.exited;
      assert.equal(code, 0);
      assert.ok(Date.now() - closedAt < 20000, 'exits soon after the last session ends, long before the 30 s drain timeout');
      assert.match(srv.logs(), /"msg":"draining"/);
    } finally {
      c.close();
      await srv.stop(2000);
    }
  });

  it('closes sessions still live at the drain timeout and exits 0', async () => {
    const srv = await startTestServer({ env: { RTC_DRAIN_TIMEOUT_S: '2' } });
    const c = await RtcClient.connect(srv.url, { width: 320, height: 240 });
    try {
      await c.waitForFrames(5, 30000);
      const t0 = Date.now();
      srv.child.kill('SIGTERM');
      const code = await srv.exited;
      const took = Date.now() - t0;
      assert.equal(code, 0);
      assert.ok(took >= 1500, `waited for the drain timeout (${took} ms)`);
      assert.match(srv.logs(), /drain timeout reached/);
    } finally {
      c.close();
      await srv.stop(2000);
    }
  });
});
