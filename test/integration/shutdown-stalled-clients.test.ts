/**
 * Shutdown cannot be held by clients (issue 14, item 6): a silent connection, half-sent headers
 * or a stalled upload used to keep the process alive after SIGTERM for as long as the client
 * wished, and a second signal did not skip the drain.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';

/** Open the three kinds of connection that held shutdown, and leave them hanging. */
async function hangingClients(port: number): Promise<Socket[]> {
  const open = (data: Array<string | Buffer>): Promise<Socket> => new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      for (const d of data) s.write(d);
      resolve(s);
    });
    s.on('error', () => undefined);
  });
  const upload = 'POST /process?width=512&height=512 HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n';
  const sockets = await Promise.all([open([]), open(['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ']), open([upload, Buffer.alloc(500_000)])]);
  await new Promise((r) => setTimeout(r, 300));
  return sockets;
}

/** Milliseconds from now until the server process exits (null when it has not after `limitMs`). */
async function msUntilExit(srv: TestServer, limitMs: number): Promise<{ ms: number | null; code: number | null }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'limit'>((r) => { timer = setTimeout(() => r('limit'), limitMs); });
  const code = await Promise.race([srv.exited, limit]);
  clearTimeout(timer);
  return code === 'limit' ? { ms: null, code: null } : { ms: Date.now() - t0, code };
}

describe('shutdown with hanging clients', () => {
  it('exits after the drain timeout whatever the connections do', async (t) => {
    const srv = await startTestServer({ env: { RTC_DRAIN_TIMEOUT_S: '2', RTC_REQUEST_TIMEOUT_S: '120' } });
    const sockets = await hangingClients(srv.port);
    try {
      srv.child.kill('SIGTERM');
      const { ms, code } = await msUntilExit(srv, 15_000);
      t.diagnostic(`exit ${ms} ms after SIGTERM (drain timeout 2 s), code ${code}`);
      assert.notEqual(ms, null, 'the server exited (it waited for the clients for ever)');
      assert.ok(ms! < 6000, `within the drain timeout and a margin: ${ms} ms`);
      assert.equal(code, 0);
    } finally {
      for (const s of sockets) s.destroy();
      await srv.stop(1000);
    }
  });

  it('skips the drain on a second signal', async (t) => {
    const srv = await startTestServer({ env: { RTC_DRAIN_TIMEOUT_S: '60', RTC_REQUEST_TIMEOUT_S: '120' } });
    const sockets = await hangingClients(srv.port);
    try {
      srv.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(srv.child.exitCode, null, 'still draining after the first signal');
      srv.child.kill('SIGINT');
      const { ms, code } = await msUntilExit(srv, 15_000);
      t.diagnostic(`exit ${ms} ms after the second signal (drain timeout 60 s), code ${code}`);
      assert.notEqual(ms, null, 'the second signal ended the drain');
      assert.ok(ms! < 3000, `at once: ${ms} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await srv.stop(1000);
    }
  });
});
