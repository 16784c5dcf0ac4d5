/**
 * The anonymize filter live: a WebRTC session sends the astronaut photo (python3-skimage) as its
 * camera, and every frame that comes back after the detector's first answer has her face
 * covered; the session's statistics report the face; switching to `faces` over the data channel
 * draws instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { astronaut, datasetAvailable, detailI420, shiftedI420, type Box } from '../support/face-frames.js';
import { RtcClient } from '../support/rtc-client.js';
import { WhipPublisher } from '../support/whip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const W = 640, H = 360;

describe('an anonymize session', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { RTC_BACKEND: 'cpu' } });
  });
  after(async () => { await server?.stop(); });

  test('every frame back has the face covered; stats carry the faces; faces draws over the data channel', async () => {
    const photo = await astronaut();
    const { frame, face } = shiftedI420(photo, W, H, 60, -20);
    const inside: Box = { x: face.x + 10, y: face.y + 10, w: face.w - 20, h: face.h - 20 };
    const sentDetail = detailI420(frame, inside);
    const client = await RtcClient.connect(server.url, {
      width: W, height: H, fps: 15, offer: { filter: 'anonymize', backend: 'cpu' }, render: () => frame.data,
    });
    try {
      await client.waitForFrames(30, 30_000);
      const frames = client.received.slice(-20);
      assert.ok(frames.length >= 10);
      for (const f of frames) {
        const d = detailI420({ width: f.width, height: f.height, data: f.data }, inside);
        assert.ok(d < 0.4 * sentDetail, `a frame came back with face detail ${d} of ${sentDetail}`);
      }
      await client.send({ type: 'stats' });
      await client.waitFor(() => client.messages.some((m) => isStats(m) && m.session.faces !== null && m.session.faces.lastFrame >= 1), 10_000, 'stats with a face');
      // The tuning view: boxes drawn, the face itself left visible.
      await client.send({ type: 'set', filter: 'faces' });
      const from = client.framesReceived;
      await client.waitFor(() => client.framesReceived >= from + 30, 30_000, '30 more frames');
      const last = client.received[client.received.length - 1]!;
      const d = detailI420({ width: last.width, height: last.height, data: last.data }, inside);
      assert.ok(d > 0.6 * sentDetail, `faces covered the face (detail ${d} of ${sentDetail})`);
    } finally {
      client.close();
    }
  });
});

describe('a WHIP publisher on /whip/anonymize', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { RTC_BACKEND: 'cpu' } });
  });
  after(async () => { await server?.stop(); });

  test('gets its video back with the face covered', async () => {
    const photo = await astronaut();
    // Her face well below the stamp band: the publisher keeps only frames whose stamp it reads.
    const { frame, face } = shiftedI420(photo, W, H, 60, 60);
    const inside: Box = { x: face.x + 10, y: face.y + 10, w: face.w - 20, h: face.h - 20 };
    const sentDetail = detailI420(frame, inside);
    const pub = await WhipPublisher.publish(server.url, '/whip/anonymize', { width: W, height: H, fps: 15, render: () => frame.data });
    try {
      await pub.waitForStamped(20, 30_000);
      for (const f of pub.frames.slice(-10)) {
        const d = detailI420({ width: f.width, height: f.height, data: f.data }, inside);
        assert.ok(d < 0.4 * sentDetail, `a frame came back with face detail ${d} of ${sentDetail}`);
      }
    } finally {
      pub.close();
    }
  });
});

function isStats(m: unknown): m is { type: 'stats'; session: { faces: { lastFrame: number } | null } } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stats' && 'session' in m;
}
