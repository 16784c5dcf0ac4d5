/**
 * The frame stamp: round trips through every server filter (reference implementation), through
 * real VP8 (libwebrtc loopback: encode, filter, encode again, as the server does), and never
 * decodes garbage or misaligned frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { referenceI420 } from '../../../src/processing/reference/reference-processor.js';
import { kernelSpec, makeFilterSpec } from '../../../src/processing/filter-spec.js';
import type { KernelFilterSpec } from '../../../src/processing/types.js';
import { readStamp, stampAgeMs, stampBandHeight, writeStamp, StampGeometryError, type FrameStamp } from '../../../src/loadgen/stamp.js';
import { SyntheticVideo } from '../../../src/loadgen/synthetic-video.js';

const FILTERS: KernelFilterSpec[] = [
  kernelSpec(makeFilterSpec('none')),
  kernelSpec(makeFilterSpec('invert')),
  kernelSpec(makeFilterSpec('grayscale')),
  kernelSpec(makeFilterSpec('blur', 1)),
  kernelSpec(makeFilterSpec('blur', 3)),
  kernelSpec(makeFilterSpec('edges')),
  kernelSpec(makeFilterSpec('sharpen', 1)),
  kernelSpec(makeFilterSpec('sharpen', 2)),
];

function applyFilter(data: Uint8Array, width: number, height: number, filter: KernelFilterSpec): Uint8Array {
  const out = new Uint8Array(data.length);
  referenceI420({ width, height, data }, filter, out);
  return out;
}

/** A deterministic pseudo-random byte stream (xorshift32). */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 255;
  }
  return out;
}

function stampedFrame(width: number, height: number, stamp: FrameStamp, n = 7): Uint8Array {
  const video = new SyntheticVideo(width, height, 3);
  const data = video.render(n).slice();
  writeStamp(data, width, height, stamp);
  return data;
}

// Child mode runs only the VP8 loopback (declared below; function declarations are hoisted).
if (process.env.STAMP_VP8_CHILD) await vp8Child();

test('stamp round-trips through every filter at several sizes', () => {
  const stamps: FrameStamp[] = [
    { frameNumber: 0, sendTimeMs: 0 },
    { frameNumber: 1, sendTimeMs: 1_764_000_000_123 },
    { frameNumber: 0xffffffff, sendTimeMs: 0xffffffff },
    { frameNumber: 123456, sendTimeMs: 98765.4321 },
  ];
  for (const [w, h] of [[640, 360], [1280, 720], [320, 180], [480, 270], [1920, 1080]] as const) {
    // Every stamp at the main size; one at the others (the reference filters are slow on big frames).
    for (const stamp of w === 640 ? stamps : stamps.slice(1, 2)) {
      const frame = stampedFrame(w, h, stamp);
      for (const filter of FILTERS) {
        const out = applyFilter(frame, w, h, filter);
        const got = readStamp(out, w, h);
        assert.ok(got, `${w}x${h} ${filter.name}x${filter.iterations} did not decode`);
        assert.equal(got.frameNumber, stamp.frameNumber >>> 0);
        assert.equal(got.sendTimeMs, Math.floor(stamp.sendTimeMs) % 2 ** 32);
      }
    }
  }
});

test('stamp survives a filter applied twice (filter, then blur as a rough stand-in for codec smoothing)', () => {
  const [w, h] = [640, 360];
  const frame = stampedFrame(w, h, { frameNumber: 42, sendTimeMs: 1000 });
  for (const filter of FILTERS) {
    const out = applyFilter(applyFilter(frame, w, h, filter), w, h, kernelSpec(makeFilterSpec('blur', 2)));
    assert.deepEqual(readStamp(out, w, h), { frameNumber: 42, sendTimeMs: 1000 }, filter.name);
  }
});

test('writeStamp sets U and V under the band to 128 and leaves the rest of the frame alone', () => {
  const [w, h] = [640, 360];
  const data = new Uint8Array(w * h * 1.5).fill(7);
  writeStamp(data, w, h, { frameNumber: 5, sendTimeMs: 5 });
  const band = stampBandHeight(w);
  assert.equal(data[band * w], 7, 'first row below the band untouched');
  const uOff = w * h;
  assert.equal(data[uOff], 128);
  assert.equal(data[uOff + w / 2 * ((band + 1) >> 1)], 7, 'chroma below the band untouched');
  assert.equal(data[uOff + (w / 2) * (h / 2)], 128, 'V plane under the band');
});

test('garbage, blank and misaligned frames never decode', () => {
  const [w, h] = [640, 360];
  for (let seed = 1; seed <= 200; seed++) {
    assert.equal(readStamp(randomBytes(w * h * 1.5, seed), w, h), null, `random frame ${seed}`);
  }
  for (const v of [0, 128, 255]) assert.equal(readStamp(new Uint8Array(w * h * 1.5).fill(v), w, h), null);
  assert.equal(readStamp(new SyntheticVideo(w, h).render(3), w, h), null, 'unstamped synthetic frame');

  // Shift a stamped frame by half a cell and by whole cells, in both directions.
  const frame = stampedFrame(w, h, { frameNumber: 77, sendTimeMs: 1234 });
  const cell = w / 40;
  for (const [dx, dy] of [[cell / 2, 0], [cell, 0], [-cell, 0], [0, cell / 2], [0, cell], [0, -cell], [2 * cell, 0]] as const) {
    const shifted = new Uint8Array(frame.length).fill(128);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        const sy = y - dy;
        if (sx >= 0 && sx < w && sy >= 0 && sy < h) shifted[y * w + x] = frame[sy * w + sx]!;
      }
    }
    assert.equal(readStamp(shifted, w, h), null, `shift ${dx},${dy}`);
  }

  // One flipped data cell: the check word must catch it.
  const tampered = frame.slice();
  const x0 = (3 + 2 + 31) * cell;
  const y0 = 1 * cell;
  const wasTextured = Math.abs(tampered[(y0 + 8) * w + x0 + 2]! - 128) > 50;
  for (let y = y0; y < y0 + cell; y++) {
    for (let x = x0; x < x0 + cell; x++) tampered[y * w + x] = wasTextured ? 128 : x < x0 + cell / 2 ? 32 : 224;
  }
  assert.equal(readStamp(tampered, w, h), null, 'a flipped bit must fail the check');

  // A frame of another size than the one it claims, and too-small frames.
  assert.equal(readStamp(frame, 320, 180), null);
  assert.equal(readStamp(new Uint8Array(10), 640, 360), null);
  assert.throws(() => writeStamp(new Uint8Array(100 * 100 * 1.5), 100, 100, { frameNumber: 1, sendTimeMs: 1 }), StampGeometryError);
});

test('stampAgeMs undoes the 32-bit wrap', () => {
  assert.equal(stampAgeMs(1000, 1050), 50);
  assert.equal(stampAgeMs(2 ** 32 - 10, 2 ** 32 + 15), 25);
  const sent = 1_764_000_000_123.7;
  const stamp = readStamp(stampedFrame(640, 360, { frameNumber: 1, sendTimeMs: sent }), 640, 360)!;
  const age = stampAgeMs(stamp.sendTimeMs, sent + 40);
  assert.ok(age >= 40 && age < 41, `age ${age}`);
});

// ---- real VP8 ------------------------------------------------------------------------------
// libwebrtc segfaults at normal exit once an RTCVideoSource was created, so the VP8 loopback runs
// in a child process (this same file with STAMP_VP8_CHILD set) that exits explicitly.

interface Vp8Result {
  width: number;
  height: number;
  sent: number;
  middleDecoded: number;
  middleFrames: number;
  /** Per filter: frames that arrived at the end, and how many of them decoded. */
  perFilter: Record<string, { frames: number; decoded: number }>;
  wrong: number;
  sizesSeen: string[];
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}

async function vp8Child(): Promise<void> {
  const wrtc = await import('../../../src/media/wrtc.js');
  const [width, height] = (process.env.STAMP_VP8_SIZE ?? '640x360').split('x').map(Number) as [number, number];
  const perFilterMs = Number(process.env.STAMP_VP8_MS_PER_FILTER ?? '2500');
  const pcs: InstanceType<typeof wrtc.RTCPeerConnection>[] = [];
  const tracks: { stop(): void }[] = [];
  const sinks: { stop(): void }[] = [];

  async function loopback(source: InstanceType<typeof wrtc.RTCVideoSource>, onFrame: (f: { width: number; height: number; data: Uint8Array }) => void): Promise<void> {
    const a = new wrtc.RTCPeerConnection();
    const b = new wrtc.RTCPeerConnection();
    pcs.push(a, b);
    const track = source.createTrack();
    tracks.push(track);
    a.addTransceiver(track, { direction: 'sendonly' });
    b.ontrack = (ev) => {
      const sink = new wrtc.RTCVideoSink(ev.track);
      sinks.push(sink);
      sink.onframe = ({ frame }) => onFrame(frame);
    };
    await a.setLocalDescription(await a.createOffer());
    await wrtc.waitForIceGathering(a, 3000);
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await wrtc.waitForIceGathering(b, 3000);
    await a.setRemoteDescription(b.localDescription!);
  }

  const sentTimes = new Map<number, number>();
  const filterOf = new Map<number, string>();
  const result: Vp8Result = { width, height, sent: 0, middleDecoded: 0, middleFrames: 0, perFilter: {}, wrong: 0, sizesSeen: [] };
  const sizes = new Set<string>();
  let current = FILTERS[0]!;
  let switchedAt = Date.now();
  const key = (f: KernelFilterSpec): string => `${f.name}x${f.iterations}`;

  const source1 = new wrtc.RTCVideoSource();
  const source2 = new wrtc.RTCVideoSource();
  // Middle: what the server does. Decode, filter, encode again.
  await loopback(source1, (frame) => {
    result.middleFrames++;
    const s = readStamp(frame.data, frame.width, frame.height);
    if (s) {
      result.middleDecoded++;
      filterOf.set(s.frameNumber, key(current));
      if (sentTimes.get(s.frameNumber) !== s.sendTimeMs) result.wrong++;
    }
    const out = new Uint8Array(frame.data.length);
    referenceI420(frame, current, out);
    source2.onFrame({ width: frame.width, height: frame.height, data: out });
  });
  // End: the client receiving the processed track.
  await loopback(source2, (frame) => {
    sizes.add(`${frame.width}x${frame.height}`);
    const s = readStamp(frame.data, frame.width, frame.height);
    // Attribute by the filter active when the frame arrives; frames near a switch could belong to
    // either filter, so they are left out.
    if (Date.now() - switchedAt < 300) return;
    const f = key(current);
    if (s && filterOf.has(s.frameNumber) && filterOf.get(s.frameNumber) !== f) return;
    const entry = (result.perFilter[f] ??= { frames: 0, decoded: 0 });
    entry.frames++;
    if (s) {
      entry.decoded++;
      if (sentTimes.get(s.frameNumber) !== s.sendTimeMs) result.wrong++;
    }
  });

  const video = new SyntheticVideo(width, height, 11);
  const t0 = Date.now();
  let n = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - t0;
      const idx = Math.floor(elapsed / perFilterMs);
      if (idx >= FILTERS.length) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (FILTERS[idx] !== current) {
        current = FILTERS[idx]!;
        switchedAt = Date.now();
      }
      const data = video.render(n);
      const now = Date.now();
      writeStamp(data, width, height, { frameNumber: n, sendTimeMs: now });
      sentTimes.set(n, now % 2 ** 32);
      source1.onFrame({ width, height, data });
      n++;
    }, 33);
  });
  await new Promise((r) => setTimeout(r, 500));
  result.sent = n;
  result.sizesSeen = [...sizes];
  for (const s of sinks) s.stop();
  for (const t of tracks) t.stop();
  for (const pc of pcs) pc.close();
  process.stdout.write(`VP8RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (!process.env.STAMP_VP8_CHILD) {
  test('stamp survives VP8 encode, every filter, VP8 encode again (libwebrtc loopback)', { timeout: 120_000 }, () => {
    const self = fileURLToPath(import.meta.url);
    const child = spawnSync(process.execPath, [self], {
      // Without NODE_TEST_CONTEXT the child prints plainly instead of speaking the runner's protocol.
      env: { ...withoutTestContext(process.env), STAMP_VP8_CHILD: '1', STAMP_VP8_SIZE: '640x360' },
      encoding: 'utf8',
      timeout: 90_000,
    });
    const line = child.stdout.split('\n').find((l) => l.startsWith('VP8RESULT '));
    assert.ok(line, `child produced no result (status ${child.status}, signal ${child.signal}): ${child.stderr.slice(-2000)}`);
    const r = JSON.parse(line.slice('VP8RESULT '.length)) as Vp8Result;
    console.log(JSON.stringify(r));
    assert.equal(r.wrong, 0, 'a decoded stamp never disagrees with what was sent');
    assert.ok(r.sent > 100, `sent ${r.sent}`);
    assert.ok(r.middleFrames > r.sent * 0.5, `middle received ${r.middleFrames} of ${r.sent}`);
    assert.ok(r.middleDecoded >= r.middleFrames * 0.9, `middle decoded ${r.middleDecoded} of ${r.middleFrames}`);
    for (const f of FILTERS) {
      const e = r.perFilter[`${f.name}x${f.iterations}`];
      assert.ok(e && e.frames >= 5, `${f.name}x${f.iterations}: too few frames ${JSON.stringify(e)}`);
      assert.ok(e.decoded >= e.frames * 0.9, `${f.name}x${f.iterations}: decoded ${e.decoded} of ${e.frames}`);
    }
  });
}
