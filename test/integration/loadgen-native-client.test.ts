/**
 * The load generator's native client (--engine native: werift + FFmpeg as an offerer) against the
 * real server on both media engines: stamped frames come back and decode, the report has the
 * latency figures and the server's data-channel stats, and every session ends cleanly (the
 * server closes it because its data channel closed, and none is left). With --codec h264 the
 * native server answers H264 and both directions run it (the client's and the server's stats say
 * so); the libwebrtc server, whose build has no H264, answers the offer's VP8 fallback. Small
 * frames and few sessions: the test machine has two cores.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/loadgen-cli.js';
import { startTestServer } from '../support/server.js';
import type { LoadReport } from '../../src/loadgen/report.js';

/** A filter that changes every pixel, so the stamp is read on processed frames. */
const FILTER = 'invert';
const SESSIONS = 2;

/** Close reasons the server logged ("session closed" lines of its JSON log). */
function closeReasons(logs: string): string[] {
  const out: string[] = [];
  for (const line of logs.split('\n')) {
    if (!line.includes('"session closed"')) continue;
    try {
      const entry = JSON.parse(line) as { reason?: unknown };
      if (typeof entry.reason === 'string') out.push(entry.reason);
    } catch { /* not a log line of ours */ }
  }
  return out;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'loadgen-native-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Server engine, the codec the client offers first, and the codec the answer must pick. */
const CASES = [
  { serverEngine: 'libwebrtc', codec: 'vp8', answered: 'VP8' },
  { serverEngine: 'native', codec: 'vp8', answered: 'VP8' },
  { serverEngine: 'native', codec: 'h264', answered: 'H264' },
  { serverEngine: 'libwebrtc', codec: 'h264', answered: 'VP8' },
] as const;

for (const { serverEngine, codec, answered } of CASES) {
  test(`--engine native --codec ${codec} against the ${serverEngine} server: ${answered} answered, stamped frames back, latency in the report, clean ends`, { timeout: 90_000 }, async () => {
    const server = await startTestServer({ env: { RTC_MEDIA_ENGINE: serverEngine, RTC_MAX_SESSIONS: '4' } });
    try {
      const out = path.join(tmp, `${serverEngine}-${codec}`);
      const r = await runCli(['--url', server.url, '--engine', 'native', '--codec', codec, '--sessions', String(SESSIONS), '--duration', '8s',
        '--resolution', '320x180', '--fps', '15', '--filter', FILTER, '--workers', '1', '--spawn-rate', '4', '--out', out,
        '--slo-p95-ms', '100000', '--quiet']);
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      const report = JSON.parse(readFileSync(path.join(out, 'loadgen-report.json'), 'utf8')) as LoadReport;
      assert.equal(report.settings.engine, 'native');
      assert.equal(report.settings.codec, codec);
      assert.match(r.stdout, new RegExp(`^codecs answered: ${answered} x${SESSIONS}$`, 'm'));
      const run = report.webrtc!;
      assert.equal(run.sessions.length, SESSIONS);
      assert.equal(run.overall.maxActiveSessions, SESSIONS);
      for (const s of run.sessions) {
        assert.equal(s.outcome, 'completed', JSON.stringify(s));
        // at 15 fps for ~7 s after connecting: most frames back, each with a readable stamp
        assert.ok(s.framesDecoded > 40, `session ${s.id} decoded ${s.framesDecoded} stamps of ${s.framesReceived} frames`);
        assert.equal(s.framesUndecoded, 0, `session ${s.id}: every frame carried its stamp through the filter and two ${answered} round trips`);
        assert.equal(s.codec, answered);
        assert.equal(s.receivedSize, '320x180');
        assert.ok(s.latencyMs.count === s.framesDecoded && s.latencyMs.p50! > 0 && s.latencyMs.p95! >= s.latencyMs.p50!, JSON.stringify(s.latencyMs));
        // the server's stats came over the control channel the native client opened
        assert.ok(s.server && s.server.fpsIn > 0 && s.server.fpsOut > 0, `server stats of session ${s.id}: ${JSON.stringify(s.server)}`);
        // the server decoded and encodes the codec the answer named
        assert.equal(s.server.codec, `video/${answered}`, JSON.stringify(s.server));
        // and the native stack's own figures are in the report: it encodes and decodes that codec too
        assert.equal(s.client?.media?.codec, `video/${answered}`, JSON.stringify(s.client));
        assert.equal(s.client?.media?.encoder, answered === 'VP8' ? 'libvpx' : 'libx264', JSON.stringify(s.client));
        assert.ok((s.client?.counters.framesDecoded ?? 0) >= s.framesReceived && (s.client?.counters.framesEncoded ?? 0) > 40, JSON.stringify(s.client?.counters));
      }
      const lat = run.overall.latencyMs;
      assert.ok(lat.count > 80, `latency count ${lat.count}`);
      // loopback, two VP8 encodes and decodes: above a millisecond, far under ten seconds
      assert.ok(lat.p50! > 1 && lat.p95! < 10_000 && lat.p50! <= lat.p95! && lat.p95! <= lat.max!, JSON.stringify(lat));
      assert.equal(run.overall.errors, 0);
      assert.equal(run.overall.rejections, 0);
      assert.match(r.stdout, /^overall\s/m, 'summary table printed');
      // ended cleanly: the server closed each session because its data channel closed, none is left
      const reasons = (): string[] => closeReasons(server.logs());
      assert.ok(await until(() => reasons().length >= SESSIONS, 5000), `close reasons ${JSON.stringify(reasons())}`);
      assert.deepEqual(reasons(), Array<string>(SESSIONS).fill('datachannel-closed'));
      const left = await fetch(`${server.url}/sessions`).then((res) => res.json()) as { sessions: unknown[] };
      assert.deepEqual(left.sessions, []);
    } finally {
      await server.stop();
    }
  });
}
