/**
 * The native engine's WHEP fan-out over real transports (werift, libwebrtc clients), without the
 * session layer: a sendonly WHIP publisher encodes nothing until a viewer watches; three viewers
 * of one codec share one encode (frames encoded follow frames decoded, not three times them,
 * and every viewer gets them all); the last viewer to leave closes the encoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNativeEngine, NativePeer, NativeViewerPeer } from '../../src/media/engines/native/index.js';
import { percentile } from '../../src/protocol/index.js';
import { WhepViewer, WhipPublisher } from '../support/whip-client.js';
import { startEchoHarness } from '../support/native-echo-harness.js';

const W = 320;
const H = 240;

async function until(what: string, ok: () => boolean, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('native WHEP fan-out', () => {
  it('encodes nothing for a sendonly publisher, once for three viewers, and stops when the last leaves', async (t) => {
    const harness = await startEchoHarness(createNativeEngine({ keyframeIntervalMs: 60000 }));
    const publisher = await WhipPublisher.publish(harness.url, '/whip', { width: W, height: H, fps: 30, direction: 'sendonly' });
    const viewers: WhepViewer[] = [];
    try {
      const peer = harness.peers[0];
      assert.ok(peer instanceof NativePeer);
      await until('frames decoded from the publisher', () => peer.counters.framesDecoded >= 20);
      assert.deepEqual(peer.encoderKeys, [], 'a sendonly publisher has no stream back, so no encoder');
      assert.equal(peer.counters.framesEncoded, 0);

      for (let i = 0; i < 3; i++) viewers.push(await WhepViewer.watch(harness.url, '1'));
      await Promise.all(viewers.map((v) => v.waitForStamped(10, 20000)));
      assert.deepEqual(peer.encoderKeys, ['VP8'], 'three VP8 viewers, one VP8 encoder');
      const streams = harness.viewers.map((v) => {
        assert.ok(v instanceof NativeViewerPeer);
        return v.sendStream;
      });

      const decoded0 = peer.counters.framesDecoded;
      const encoded0 = peer.counters.framesEncoded;
      const sent0 = streams.map((s) => s.counters.framesSent);
      const received0 = viewers.map((v) => v.framesReceived);
      await new Promise((r) => setTimeout(r, 2000));
      const decoded = peer.counters.framesDecoded - decoded0;
      const encoded = peer.counters.framesEncoded - encoded0;
      t.diagnostic(`in 2 s: ${decoded} frames decoded, ${encoded} encoded, sent per viewer ${streams.map((s, i) => s.counters.framesSent - sent0[i]!).join('/')}, ` +
        `received per viewer ${viewers.map((v, i) => v.framesReceived - received0[i]!).join('/')}`);
      assert.ok(decoded >= 40, `decoded ${decoded}`);
      assert.ok(encoded <= decoded + 1, `one encode per decoded frame for three viewers: ${encoded} encodes for ${decoded} frames`);
      assert.ok(encoded >= decoded * 0.8, `the encoder kept up: ${encoded} of ${decoded}`);
      streams.forEach((s, i) => {
        const sent = s.counters.framesSent - sent0[i]!;
        assert.ok(Math.abs(sent - encoded) <= 2, `viewer ${i} was sent ${sent} of ${encoded} encoded frames`);
      });
      viewers.forEach((v, i) => assert.ok(v.framesReceived - received0[i]! >= encoded * 0.8, `viewer ${i} decoded ${v.framesReceived - received0[i]!}`));
      const p95s = viewers.map((v) => percentile(v.latencies.slice(10), 95) ?? Number.NaN);
      t.diagnostic(`viewer glass-to-glass p95 ${p95s.map((p) => p.toFixed(0)).join('/')} ms`);

      // One viewer leaves: the others go on; the last one out closes the encoder.
      assert.equal(await viewers[0]!.delete(), 200);
      assert.deepEqual(peer.encoderKeys, ['VP8']);
      const before = viewers[1]!.framesReceived;
      await until('frames for the remaining viewers', () => viewers[1]!.framesReceived >= before + 10);
      assert.equal(await viewers[1]!.delete(), 200);
      assert.equal(await viewers[2]!.delete(), 200);
      assert.deepEqual(peer.encoderKeys, [], 'no viewer left, no encoder');
      const sentAfter = streams.map((s) => s.counters.framesSent);
      const decodedAfter = peer.counters.framesDecoded;
      await until('the publisher still decoding', () => peer.counters.framesDecoded >= decodedAfter + 10);
      assert.deepEqual(streams.map((s) => s.counters.framesSent), sentAfter, 'nothing is sent to viewers that left');
    } finally {
      for (const v of viewers) v.close();
      publisher.close();
      await harness.stop();
    }
  });
});
