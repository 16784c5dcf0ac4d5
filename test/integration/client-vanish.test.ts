/**
 * A client that vanishes without closing (kill -9) is cleaned up within seconds — not the
 * ~30 s libwebrtc takes to declare ICE failed — because its frames stop.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startTestServer } from '../support/server.js';

const CLIENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/streaming-client-main.js');

describe('a client killed with SIGKILL', () => {
  it('has its session closed within seconds', async () => {
    const srv = await startTestServer({ env: { RTC_STALL_TIMEOUT_S: '3' } });
    const child = spawn(process.execPath, [CLIENT, srv.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error('client did not connect')), 30000);
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) { clearTimeout(t); resolve(out.split('\n')[0]!); }
        });
      });
      const { sessionId } = JSON.parse(line) as { sessionId: string };
      const before = (await (await fetch(`${srv.url}/sessions`)).json()) as { sessions: Array<{ id: string }> };
      assert.deepEqual(before.sessions.map((s) => s.id), [sessionId]);

      child.kill('SIGKILL');
      const killedAt = Date.now();
      let left = 1;
      while (left > 0 && Date.now() - killedAt < 40000) {
        await new Promise((r) => setTimeout(r, 250));
        left = ((await (await fetch(`${srv.url}/sessions`)).json()) as { sessions: unknown[] }).sessions.length;
      }
      const took = Date.now() - killedAt;
      assert.equal(left, 0, 'the session was closed');
      // 3 s stall timeout plus slack for a busy machine; ICE failure alone would take about 30 s.
      assert.ok(took < 20000, `closed ${took} ms after the kill`);
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(metrics, /rtc_sessions_closed_total\{reason="(stalled|connection-failed)"\} 1/);
      assert.match(metrics, /rtc_sessions_active 0/);
    } finally {
      child.kill('SIGKILL');
      await srv.stop();
    }
  });
});
