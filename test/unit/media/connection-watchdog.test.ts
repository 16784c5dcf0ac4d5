/**
 * ConnectionWatchdog on a fake clock: connect, idle, stall, disconnect, a blocked event loop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionWatchdog, type WatchdogVerdict } from '../../../src/media/connection-watchdog.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

function watchdog(c: ReturnType<typeof clock>): { w: ConnectionWatchdog; verdicts: WatchdogVerdict[]; run: (ms: number) => void } {
  const verdicts: WatchdogVerdict[] = [];
  const w = new ConnectionWatchdog({
    connectTimeoutMs: 3000, idleTimeoutMs: 5000, stallTimeoutMs: 2000, disconnectGraceMs: 1500,
    onVerdict: (v) => verdicts.push(v), now: c.now,
  });
  // Ticks on time, as the interval timer would on a free event loop.
  const run = (ms: number): void => {
    for (let left = ms; left > 0; left -= w.intervalMs) {
      c.advance(Math.min(w.intervalMs, left));
      w.tick();
    }
  };
  return { w, verdicts, run };
}

describe('ConnectionWatchdog', () => {
  it('releases an answered offer that never connects', () => {
    const c = clock();
    const { verdicts, run } = watchdog(c);
    run(2900);
    assert.deepEqual(verdicts, []);
    run(300);
    assert.deepEqual(verdicts, ['connect-timeout']);
  });

  it('closes a connected client that never sends a frame, and one that stops', () => {
    const c = clock();
    const a = watchdog(c);
    a.w.connectionState('connected');
    a.run(4900);
    assert.deepEqual(a.verdicts, []);
    a.run(200);
    assert.deepEqual(a.verdicts, ['idle']);

    const b = watchdog(c);
    b.w.connectionState('connected');
    for (let i = 0; i < 20; i++) { b.w.frame(); b.run(100); }
    assert.deepEqual(b.verdicts, []);
    b.run(2100);
    assert.deepEqual(b.verdicts, ['stalled']);
  });

  it('does not blame the client for a stall of the server\'s own event loop', () => {
    const c = clock();
    const { w, verdicts, run } = watchdog(c);
    w.connectionState('connected');
    w.frame();
    run(500);
    c.advance(9000); // the loop was blocked for 9 s: no tick ran
    w.tick();
    assert.deepEqual(verdicts, [], 'a late tick after a blocked loop closes nothing');
    w.frame(); // the frames queued behind the block arrive
    run(1000);
    assert.deepEqual(verdicts, []);
    run(2100);
    assert.deepEqual(verdicts, ['stalled'], 'a real stall is still caught afterwards');
  });

  it('ends a connection that stays disconnected past the grace, and keeps one that recovers', () => {
    const c = clock();
    const a = watchdog(c);
    a.w.connectionState('connected');
    a.w.connectionState('disconnected');
    for (let i = 0; i < 10; i++) { a.w.frame(); a.run(100); }
    a.w.connectionState('connected');
    for (let i = 0; i < 20; i++) { a.w.frame(); a.run(100); }
    assert.deepEqual(a.verdicts, []);
    a.w.connectionState('disconnected');
    for (let i = 0; i < 20; i++) { a.w.frame(); a.run(100); }
    assert.deepEqual(a.verdicts, ['connection-failed']);
  });

  it('reports failed and closed connections at once, once', () => {
    const c = clock();
    const { w, verdicts } = watchdog(c);
    w.connectionState('failed');
    w.connectionState('closed');
    w.tick();
    assert.deepEqual(verdicts, ['connection-failed']);
  });
});
