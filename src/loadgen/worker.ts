/**
 * A load-generator worker process: runs the client sessions the coordinator assigns to it, drives
 * their frame clock, and reports counters every 250 ms and each session's result when it ends.
 * libwebrtc encoders are CPU-heavy, so the load is spread over several such processes.
 *
 * @roamhq/wrtc segfaults at normal exit once an RTCVideoSource existed, so the worker stops every
 * session and then calls process.exit() itself; it also leaves when the coordinator goes away.
 */
import { performance } from 'node:perf_hooks';
import { ClientSession, type SessionConfig } from './client-session.js';
import { FrameClock } from './frame-clock.js';
import { addCounts, emptyCounters } from './frame-counters.js';
import { COUNTER_INTERVAL_MS, type FromWorker, type ToWorker } from './worker-protocol.js';

const sessions = new Map<number, ClientSession>();
let config: SessionConfig | null = null;
let frameTimer: NodeJS.Timeout | null = null;
let frameClock: FrameClock | null = null;
let counterTimer: NodeJS.Timeout | null = null;
let shuttingDown = false;

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

/**
 * The frame clock: each session sends at fps on its own phase (frame-clock.ts), against an
 * absolute schedule so it does not drift. The timer wakes for the next due frame, and at least once
 * an interval, so a session started in between is picked up.
 */
function startFrameClock(fps: number): void {
  const clock = new FrameClock(fps, performance.now());
  frameClock = clock;
  const step = (): void => {
    const now = performance.now();
    for (const id of clock.due(now)) sessions.get(id)?.sendFrame();
    const wake = Math.min(clock.nextDueMs(), now + clock.intervalMs);
    frameTimer = setTimeout(step, Math.max(0, wake - performance.now()));
  };
  frameTimer = setTimeout(step, clock.intervalMs);
}

function reportCounters(): void {
  const total = emptyCounters();
  for (const s of sessions.values()) {
    const c = s.drainCounters();
    for (const v of c.latencies) total.latencies.push(v);
    addCounts(total, c);
  }
  void send({ type: 'counters', counters: total });
}

function startSession(id: number): void {
  if (!config || shuttingDown || sessions.has(id)) return;
  const session = new ClientSession(id, config);
  sessions.set(id, session);
  frameClock?.add(id, performance.now());
  session.onConnected = (connectMs) => void send({ type: 'connected', id, connectMs });
  void session.ended.then(async (result) => {
    // Counters gathered since the last report belong to the timeline, so flush them first.
    const last = session.drainCounters();
    sessions.delete(id);
    frameClock?.remove(id);
    if (last.received || last.sent) await send({ type: 'counters', counters: last });
    await send({ type: 'ended', result });
  });
  void session.start();
}

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  if (frameTimer) clearTimeout(frameTimer);
  if (counterTimer) clearInterval(counterTimer);
  const pending = [...sessions.values()].map((s) => s.ended);
  for (const s of sessions.values()) s.stop();
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 3000))]);
  // Let the 'ended' messages go out before leaving.
  await new Promise((r) => setTimeout(r, 50));
  await send({ type: 'bye' });
  process.exit(0);
}

process.on('message', (raw: ToWorker) => {
  switch (raw.type) {
    case 'config':
      config = raw.config;
      if (!frameTimer) startFrameClock(config.fps);
      if (!counterTimer) counterTimer = setInterval(reportCounters, COUNTER_INTERVAL_MS);
      void send({ type: 'ready' });
      return;
    case 'start':
      startSession(raw.id);
      return;
    case 'stop':
      sessions.get(raw.id)?.stop();
      return;
    case 'shutdown':
      void shutdown();
      return;
  }
});

// The coordinator died or closed the channel: never linger with open connections.
process.on('disconnect', () => void shutdown());
process.on('uncaughtException', (err) => {
  void send({ type: 'fatal', message: err.stack ?? err.message }).then(() => process.exit(1));
});

if (!process.send) {
  process.stderr.write('loadgen worker: must be started by the coordinator (child_process.fork)\n');
  process.exit(2);
}
