/**
 * The media benchmark's peer (bench/media/aiortc-server.py) does what the benchmark relies on:
 * JSON errors for bad offers, and a real session that echoes the client's video through the
 * filter (here the aiortc test client, with invert) and ends when the client leaves.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { aiortcAvailable, runAiortcClient, SYSTEM_PYTHON } from '../support/aiortc-client.js';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/media/aiortc-server.py');
const available = aiortcAvailable();

/** Start the peer on a free port; resolves with its URL once it printed its listening line. */
function startPeer(): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SYSTEM_PYTHON, [SERVER, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`peer did not start: ${out}`)); }, 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1]!, child }); }
    });
    child.stderr!.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-4000); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`peer exited ${code}: ${out}`)); });
  });
}

describe('aiortc peer of the media benchmark', { skip: !available.ok && available.reason }, () => {
  let peer: { url: string; child: ChildProcess };
  before(async () => { peer = await startPeer(); });
  after(async () => {
    if (peer?.child.exitCode === null) {
      const exited = new Promise((r) => peer.child.once('exit', r));
      peer.child.kill('SIGTERM');
      await exited;
    }
  });

  it('answers bad requests with JSON errors', async () => {
    const post = async (body: string): Promise<{ status: number; code: unknown }> => {
      const res = await fetch(`${peer.url}/offer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, code: ((await res.json()) as { error?: { code?: unknown } }).error?.code };
    };
    assert.deepEqual(await post('not json'), { status: 400, code: 'INVALID_JSON' });
    assert.deepEqual(await post('{"type":"answer","sdp":"v=0"}'), { status: 400, code: 'INVALID_SDP' });
    assert.deepEqual(await post('{"type":"offer","sdp":"v=0\\r\\nnonsense"}'), { status: 400, code: 'INVALID_SDP' });
    assert.deepEqual(await post('{"type":"offer","sdp":"v=0","filter":"sepia"}'), { status: 400, code: 'UNKNOWN_FILTER' });
    assert.deepEqual(await post(JSON.stringify({ type: 'offer', sdp: 'x'.repeat(300 * 1024) })), { status: 413, code: 'BODY_TOO_LARGE' });
    const del = await fetch(`${peer.url}/sessions/nope`, { method: 'DELETE' });
    assert.equal(del.status, 404);
    const health = (await (await fetch(`${peer.url}/healthz`)).json()) as Record<string, unknown>;
    assert.equal(health.server, 'aiortc');
    assert.equal(health.sessions, 0);
  });

  it('echoes the video through the filter and ends the session when the client leaves', async () => {
    const run = await runAiortcClient({ url: peer.url, filter: 'invert', frames: 30, durationS: 25 });
    assert.equal(run.exitCode, 0, `${JSON.stringify(run.errors)}\n${run.stderr.slice(-1500)}`);
    assert.ok(run.connected?.sessionId);
    assert.equal(run.done?.decoded, 30);
    const m = run.frames.filter((f) => f.frame !== null && f.sentMeanY !== undefined);
    assert.ok(m.length >= 25, `${m.length} frames matched`);
    const errs = m.map((f) => Math.abs(f.meanY - (255 - f.sentMeanY!))).sort((a, b) => a - b);
    assert.ok(errs[errs.length >> 1]! < 6, `inverted luma (median error ${errs[errs.length >> 1]})`);
    const deadline = Date.now() + 10_000;
    let left = -1;
    while (Date.now() < deadline) {
      left = ((await (await fetch(`${peer.url}/sessions`)).json()) as { sessions: unknown[] }).sessions.length;
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(left, 0, 'the session ended after the client left');
  });
});
