/**
 * aiortc (Debian's python3-aiortc) as a client of the real server on loopback: its stamped frames
 * come back with the stamps intact and the filter visible in the pixels. Two clients run side by
 * side, `none` and `invert`, so the pixel check has to tell them apart. The lead folds this client
 * into the cross-engine conformance suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aiortcAvailable, runAiortcClient, type AiortcRun, type FrameLine } from '../support/aiortc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const available = aiortcAvailable();
const FRAMES = 45;

/** Median of a list of numbers. */
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Frames whose stamp read back and whose sent frame is still known. */
function matched(run: AiortcRun): Array<FrameLine & { frame: number; latencyMs: number; sentMeanY: number; sentMeanU: number; sentMeanV: number }> {
  return run.frames.filter((f): f is FrameLine & { frame: number; latencyMs: number; sentMeanY: number; sentMeanU: number; sentMeanV: number } =>
    f.frame !== null && f.latencyMs !== null && f.sentMeanY !== undefined && f.sentMeanU !== undefined && f.sentMeanV !== undefined);
}

function assertHealthy(run: AiortcRun, label: string): void {
  const info = `${label}: exit ${run.exitCode}, errors ${JSON.stringify(run.errors)}\n${run.stderr.slice(-1500)}`;
  assert.equal(run.exitCode, 0, info);
  assert.ok(run.connected?.sessionId, `${label}: the answer carries a sessionId (${info})`);
  assert.equal(run.connected?.codec, 'video/VP8', info);
  assert.ok(run.done, info);
  assert.equal(run.done!.decoded, FRAMES, `${label}: ${FRAMES} stamped frames back (${JSON.stringify(run.done)})`);
  const m = matched(run);
  assert.ok(m.length >= FRAMES - 5, `${label}: ${m.length} frames matched to the frames sent`);
  // Stamps intact: numbers rise, each one was sent, and the latency is that of a live call.
  for (let i = 1; i < m.length; i++) assert.ok(m[i]!.frame >= m[i - 1]!.frame, `${label}: frame numbers rise (${m[i - 1]!.frame} then ${m[i]!.frame})`);
  assert.ok(m.at(-1)!.frame - m[0]!.frame >= m.length / 2, `${label}: frame numbers advance (${m[0]!.frame}..${m.at(-1)!.frame})`);
  assert.ok(m.every((f) => f.frame < run.done!.sent), `${label}: every frame number read back was sent`);
  assert.ok(m.every((f) => f.latencyMs > 0 && f.latencyMs < 3000), `${label}: latencies ${m.map((f) => f.latencyMs).join(',')}`);
}

describe('aiortc client against the server (libwebrtc engine)', { skip: !available.ok && available.reason }, () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server?.stop(); });

  it('gets its frames back with stamps intact and invert visible in the pixels', async () => {
    const opts = { url: server.url, frames: FRAMES, durationS: 25, width: 640, height: 360 };
    const [plain, inverted] = await Promise.all([runAiortcClient({ ...opts, filter: 'none' }), runAiortcClient({ ...opts, filter: 'invert' })]);
    assertHealthy(plain, 'none');
    assertHealthy(inverted, 'invert');

    // VP8 is lossy: compare plane means with a margin far below what invert moves them (the
    // sent means are near Y 92, U 90, V 165: inverted, each moves by 70 or more).
    const mp = matched(plain);
    const mi = matched(inverted);
    const errNone = median(mp.map((f) => Math.abs(f.meanY - f.sentMeanY)));
    const errInvertY = median(mi.map((f) => Math.abs(f.meanY - (255 - f.sentMeanY))));
    const errInvertU = median(mi.map((f) => Math.abs(f.meanU - (255 - f.sentMeanU))));
    const errInvertV = median(mi.map((f) => Math.abs(f.meanV - (255 - f.sentMeanV))));
    assert.ok(errNone < 6, `none: received mean Y within 6 of the sent one (median error ${errNone})`);
    assert.ok(errInvertY < 6 && errInvertU < 8 && errInvertV < 8, `invert: means near 255 - sent (errors Y ${errInvertY}, U ${errInvertU}, V ${errInvertV})`);
    for (const k of ['Y', 'U', 'V'] as const) {
      const moved = median(mi.map((f) => Math.abs(f[`mean${k}`] - f[`sentMean${k}`])));
      assert.ok(moved > 50, `invert: mean ${k} moved by ${moved}, not the picture sent`);
    }

    // The clients closed their connections: the server ends both sessions.
    const deadline = Date.now() + 10_000;
    let left = -1;
    while (Date.now() < deadline) {
      left = ((await (await fetch(`${server.url}/sessions`)).json()) as { sessions: unknown[] }).sessions.length;
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(left, 0, 'sessions ended after the clients left');
  });
});
