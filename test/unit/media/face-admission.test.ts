/**
 * Admission counts what a face-filter session costs: with the measured load held at zero and a
 * per-session prior, `none` sessions fill the allowance one unit each and `anonymize` sessions
 * RTC_FACES_SESSION_COST units each, so fewer of them are admitted. A live session switched to a
 * face filter (PATCH, the data channel) is admitted again for the units it adds, and a switch back
 * releases them. Engine and peers are stand-ins (no media flows); the admission arithmetic is the
 * real SessionManager's and CapacityEstimator's, the control channel the real SessionControl's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { CapacityEstimator } from '../../../src/media/capacity-estimator.js';
import type { ControlChannel, MediaEngine, MediaPeer, PeerEvents } from '../../../src/media/engine.js';
import type { MediaMetrics } from '../../../src/media/media-metrics.js';
import { AdmissionError, SessionManager } from '../../../src/media/session-manager.js';
import { SessionSettingsError } from '../../../src/media/session.js';
import type { FilterSpec, FrameProcessor } from '../../../src/processing/types.js';
import { apiErrorFor } from '../../../src/server/domain-errors.js';

const OFFER = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/support/fuzz/fixtures/wrtc-offer.sdp'), 'utf8');

const noop = { inc: () => {}, observe: () => {}, set: () => {}, reset: () => {} };
const metrics: MediaMetrics = {
  framesReceived: noop, framesSent: noop, framesDropped: noop, frameQueueWaitSeconds: noop, frameProcessingSeconds: noop,
  frameServerLatencySeconds: noop, sessionsActive: noop, sessionsMax: noop, sessionsStarted: noop, sessionsRejected: noop,
  sessionsClosed: noop, capacityUtilization: noop, sessionsByCodec: noop, facesPerFrame: noop, faceFramesCoveredWhole: noop,
};

const peer: MediaPeer = {
  connectionState: 'new',
  sendFrame: () => {},
  stats: async () => ({ codec: null, encoder: null, decoder: null, rttMs: null, lossRatio: null, sendBitrateKbps: null, encodeMs: null, decodeMs: null }),
  close: () => {},
};
/** The events of the last session answered (to attach a control channel to it). */
let lastEvents: PeerEvents | null = null;
const engine: MediaEngine = {
  name: 'native', codecs: [], viewerCost: 1,
  answer: async (_sdp, _options, events) => {
    lastEvents = events;
    return { sdp: 'v=0\r\n', peer };
  },
  answerViewer: async () => ({ sdp: 'v=0\r\n', peer }),
};
const timings = { upload: 0, compute: 0, download: 0, total: 0 };
const cpu: FrameProcessor = { name: 'cpu', device: 'fake', processI420: async () => timings, processRgba: async () => timings, close: async () => {} };

/** A manager whose allowance is 1 core at a prior of 0.3 a session, measured load held at 0. */
function manager(faceSessionCost: number): SessionManager {
  const capacity = new CapacityEstimator({ cores: 1, target: 1, sessionCoresPrior: 0.3, hostCpu: false, readProcessCpuMs: () => 0 });
  return new SessionManager({
    engine, metrics, capacity, faceSessionCost,
    registry: { getWithFallback: () => cpu, get: () => cpu },
    maxSessions: 100, maxPixels: 1 << 20, connectTimeoutMs: 60_000, idleTimeoutMs: 60_000, stallTimeoutMs: 60_000,
    log: () => {},
  });
}

/** Offers with `filter` until one is refused; how many were admitted. */
async function admitted(m: SessionManager, filter: FilterSpec): Promise<number> {
  for (let n = 0; n < 10; n++) {
    try {
      await m.accept({ sdp: OFFER, filter, backend: 'cpu' });
    } catch (err) {
      assert.ok(err instanceof AdmissionError && err.reason === 'capacity', String(err));
      return n;
    }
  }
  return 10;
}

describe('admission of face-filter sessions', () => {
  it('admits 3 none sessions but only 1 anonymize session at cost 2 (0.3 core a unit, 1 core)', async () => {
    const a = manager(2);
    const b = manager(2);
    try {
      assert.equal(await admitted(a, { name: 'none', iterations: 1 }), 3);
      assert.equal(await admitted(b, { name: 'anonymize', iterations: 1 }), 1);
      // The estimate counts the anonymize session at its two units.
      assert.ok(Math.abs(b.capacity().utilization - 0.6) < 1e-9, String(b.capacity().utilization));
    } finally {
      a.closeAll('shutdown');
      b.closeAll('shutdown');
    }
  });

  it('at cost 1 an anonymize session counts as any other', async () => {
    const m = manager(1);
    try {
      assert.equal(await admitted(m, { name: 'anonymize', iterations: 1 }), 3);
    } finally {
      m.closeAll('shutdown');
    }
  });

  it('a switch to a face filter is admitted for the units it adds (AT_CAPACITY when full, over PATCH and the data channel), and a switch back releases them', async () => {
    const m = manager(2);
    try {
      const none: FilterSpec = { name: 'none', iterations: 1 };
      const a = m.get((await m.accept({ sdp: OFFER, filter: none, backend: 'cpu' })).sessionId)!;
      const b = m.get((await m.accept({ sdp: OFFER, filter: none, backend: 'cpu' })).sessionId)!;
      // B's control channel, as the data channel hands it to the session.
      const sent: string[] = [];
      const channel: ControlChannel = {
        readyState: 'open', bufferedAmount: 0, onmessage: null, onclose: null, send: (t) => sent.push(t), close: () => {},
      };
      lastEvents!.onChannel(channel);

      // 2 units used of 3.3: A's switch adds 1 and fits.
      assert.equal(a.update({ filter: 'anonymize', style: 'pixelate' }).filter, 'anonymize');
      assert.ok(Math.abs(m.capacity().utilization - 0.9) < 1e-9, String(m.capacity().utilization));
      await assert.rejects(m.accept({ sdp: OFFER, filter: none, backend: 'cpu' }), AdmissionError, 'full: a new none session is refused');

      // B's switch would make 4 units: refused with AT_CAPACITY over the data channel, B keeps none.
      channel.onmessage!(JSON.stringify({ type: 'set', filter: 'anonymize' }));
      const reply = JSON.parse(sent.at(-1)!) as { type: string; error?: { code: string; message: string } };
      assert.equal(reply.type, 'error');
      assert.equal(reply.error?.code, 'AT_CAPACITY', reply.error?.message);
      assert.equal(b.info().filter, 'none');
      // … and over PATCH (the same update): 503 with a Retry-After, B still on none.
      let patchErr: unknown;
      try { b.update({ filter: 'faces' }); } catch (err) { patchErr = err; }
      assert.ok(patchErr instanceof SessionSettingsError && patchErr.code === 'AT_CAPACITY', String(patchErr));
      const api = apiErrorFor(patchErr);
      assert.equal(api?.statusCode, 503);
      assert.equal(api?.retryAfterS, 5);
      assert.equal(b.info().filter, 'none');
      // Changes that add nothing pass when full: another filter of the same cost, a style, a kernel.
      assert.equal(a.update({ filter: 'faces' }).filter, 'faces');
      assert.equal(b.update({ filter: 'invert' }).filter, 'invert');

      // A back to a kernel: its extra unit is released at once, and a new session fits again.
      channel.onmessage!(JSON.stringify({ type: 'set', filter: 'none' }));
      assert.equal(JSON.parse(sent.at(-1)!).type, 'ack');
      assert.equal(a.update({ filter: 'none' }).filter, 'none');
      assert.ok(Math.abs(m.capacity().utilization - 0.6) < 1e-9, String(m.capacity().utilization));
      await m.accept({ sdp: OFFER, filter: none, backend: 'cpu' });
      assert.equal(m.count, 3);
    } finally {
      m.closeAll('shutdown');
    }
  });
});
