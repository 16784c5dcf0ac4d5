/**
 * The anonymize filter live: a WebRTC session sends the astronaut photo (python3-skimage) as its
 * camera, and every frame that comes back after the detector's first answer has her face
 * covered; the session's statistics report the face; switching to `faces` over the data channel
 * draws instead. The style is the session's: asked for in the offer, changed over the data channel
 * and PATCH, reported in the session's info; a WHIP publisher asks for it in the query. On a full
 * node, a switch to a face filter is refused with AT_CAPACITY and the session keeps its filter.
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

  test('a pixelate session: its style in the offer, changed over the data channel and PATCH, a bad one refused', async () => {
    const photo = await astronaut();
    const { frame, face } = shiftedI420(photo, W, H, 60, -20);
    const inside: Box = { x: face.x + 10, y: face.y + 10, w: face.w - 20, h: face.h - 20 };
    const client = await RtcClient.connect(server.url, {
      width: W, height: H, fps: 15, offer: { filter: 'anonymize', style: 'pixelate', backend: 'cpu' }, render: () => frame.data,
    });
    const patch = (body: unknown) => fetch(`${server.url}/sessions/${client.sessionId}`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    try {
      await client.waitForFrames(30, 30_000);
      const info = await (await fetch(`${server.url}/sessions/${client.sessionId}`)).json() as { style: string; filter: string };
      assert.deepEqual([info.filter, info.style], ['anonymize', 'pixelate']);
      // Pixelated: the face region is flat blocks, so its detail sits on few block edges.
      const pixelated = steps(client.received[client.received.length - 1]!, inside);
      await client.send({ type: 'set', style: 'blur' });
      await client.waitFor(() => client.messages.some((m) => isAck(m) && m.session.style === 'blur' && m.session.filter === 'anonymize'), 10_000, 'ack with style blur');
      const from = client.framesReceived;
      await client.waitFor(() => client.framesReceived >= from + 20, 30_000, '20 more frames');
      const blurred = steps(client.received[client.received.length - 1]!, inside);
      assert.ok(pixelated > 2 * blurred, `block edges: pixelate ${pixelated}, blur ${blurred}`);
      // PATCH: a new style kept across a filter change; a bad one refused, the session unchanged.
      const ok = await patch({ style: 'pixelate' });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json() as { style: string }).style, 'pixelate');
      const bad = await patch({ style: 'mosaic' });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json() as { error: { code: string } }).error.code, 'INVALID_PARAMETER');
      assert.equal((await patch({ filter: 'invert' })).status, 200);
      const now = await (await fetch(`${server.url}/sessions/${client.sessionId}`)).json() as { style: string; filter: string };
      assert.deepEqual([now.filter, now.style], ['invert', 'pixelate']);
      await client.send({ type: 'set', style: 'mosaic' });
      await client.waitFor(() => client.messages.some((m) => isError(m) && m.error.code === 'INVALID_PARAMETER' && /style/.test(m.error.message)), 10_000, 'an error for a bad style');
    } finally {
      client.close();
    }
  });

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

describe('a switch to anonymize on a full node', { skip: !datasetAvailable() && 'python3-skimage is not installed' }, () => {
  let server: TestServer;
  before(async () => {
    // One core at target 1 and 0.5 of a core a session (never estimated below 0.25): a `none`
    // session fits, and the 9 units a face filter adds at RTC_FACES_SESSION_COST 10 (at least
    // 2.25 cores) never do, measured or not.
    server = await startTestServer({ env: {
      RTC_BACKEND: 'cpu', RTC_CAPACITY_CORES: '1', RTC_CAPACITY_TARGET: '1', RTC_CAPACITY_SESSION_CORES: '0.5', RTC_FACES_SESSION_COST: '10',
    } });
  });
  after(async () => { await server?.stop(); });

  test('is refused with AT_CAPACITY over PATCH and the data channel, and the session keeps its filter', async () => {
    const photo = await astronaut();
    const { frame } = shiftedI420(photo, W, H, 60, -20);
    const client = await RtcClient.connect(server.url, { width: W, height: H, fps: 15, offer: { filter: 'none', backend: 'cpu' }, render: () => frame.data });
    try {
      const res = await fetch(`${server.url}/sessions/${client.sessionId}`, {
        method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: 'anonymize' }),
      });
      const body = await res.json() as { error: { code: string; message: string } };
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'AT_CAPACITY');
      assert.equal(res.headers.get('retry-after'), '5');
      await client.send({ type: 'set', filter: 'faces' });
      await client.waitFor(() => client.messages.some((m) => isError(m) && m.error.code === 'AT_CAPACITY'), 10_000, 'AT_CAPACITY over the data channel');
      const info = await (await fetch(`${server.url}/sessions/${client.sessionId}`)).json() as { filter: string };
      assert.equal(info.filter, 'none');
      // A kernel costs what `none` does: still allowed on the full node.
      await client.send({ type: 'set', filter: 'invert' });
      await client.waitFor(() => client.messages.some((m) => isAck(m) && m.session.filter === 'invert'), 10_000, 'ack of invert');
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

  test('asks for its style in the query: the session reports it', async () => {
    const photo = await astronaut();
    const { frame } = shiftedI420(photo, W, H, 60, 60);
    const pub = await WhipPublisher.publish(server.url, '/whip/anonymize?style=pixelate', { width: W, height: H, fps: 15, render: () => frame.data });
    try {
      const info = await (await fetch(`${server.url}/sessions/${pub.resourceId}`)).json() as { style: string; filter: string };
      assert.deepEqual([info.filter, info.style], ['anonymize', 'pixelate']);
    } finally {
      pub.close();
    }
    const bad = await fetch(`${server.url}/whip/anonymize?style=mosaic`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(bad.status, 400);
  });

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

function isAck(m: unknown): m is { type: 'ack'; session: { style: string | null; filter: string } } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ack' && 'session' in m;
}

function isError(m: unknown): m is { type: 'error'; error: { code: string; message: string } } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'error' && 'error' in m;
}

/**
 * Horizontal steps of a luma box: neighbours more than 6 levels apart. Pixelation leaves flat
 * blocks with sharp edges (many steps, even after VP8); a strong blur leaves a smooth patch (few).
 */
function steps(f: { width: number; height: number; data: Uint8Array }, b: Box): number {
  let n = 0;
  for (let y = b.y; y < b.y + b.h; y++) {
    for (let x = b.x; x < b.x + b.w - 1; x++) if (Math.abs(f.data[y * f.width + x]! - f.data[y * f.width + x + 1]!) > 6) n++;
  }
  return n;
}
