import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestFrameSlot } from '../../src/media/latest-frame-slot.js';
import { RateMeter, SampleWindow } from '../../src/media/rolling-stats.js';
import { checkOfferSdp, InvalidSdpError } from '../../src/media/sdp.js';
import { makeFilterSpec } from '../../src/processing/filter-spec.js';

describe('LatestFrameSlot', () => {
  it('keeps only the newest frame and counts the ones it replaced', () => {
    const slot = new LatestFrameSlot<string>();
    assert.equal(slot.take(), null);
    assert.equal(slot.put('a', 1), false);
    assert.equal(slot.put('b', 2), true);
    assert.equal(slot.put('c', 3), true);
    assert.equal(slot.dropped, 2);
    assert.deepEqual(slot.take(), { frame: 'c', arrivedAt: 3 });
    assert.equal(slot.hasFrame, false);
    assert.equal(slot.put('d', 4), false, 'an empty slot drops nothing');
    slot.clear();
    assert.equal(slot.take(), null);
    assert.equal(slot.dropped, 2);
  });

  it('stays bounded whatever the producer does', () => {
    const slot = new LatestFrameSlot<Uint8Array>();
    for (let i = 0; i < 10_000; i++) slot.put(new Uint8Array(16), i);
    assert.equal(slot.dropped, 9_999);
    assert.ok(slot.take() !== null);
    assert.equal(slot.take(), null);
  });
});

describe('rolling statistics', () => {
  it('measures a steady 30 fps rate', () => {
    const m = new RateMeter(2000);
    for (let i = 0; i <= 60; i++) m.mark(i * (1000 / 30));
    assert.ok(Math.abs(m.rate(2000) - 30) < 0.5, `rate ${m.rate(2000)}`);
    assert.equal(m.rate(10_000), 0, 'nothing in the window long after');
  });

  it('gives nearest-rank percentiles of the last samples only', () => {
    const w = new SampleWindow(100);
    assert.equal(w.percentile(50), null);
    for (let i = 1; i <= 100; i++) w.add(i);
    assert.equal(w.percentile(50), 50);
    assert.equal(w.percentile(95), 95);
    for (let i = 0; i < 100; i++) w.add(1000);
    assert.equal(w.percentile(50), 1000, 'old samples roll out');
    assert.equal(w.size, 100);
  });
});

describe('offer SDP checks', () => {
  const good = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\n';
  it('accepts an offer with a video section', () => {
    assert.equal(checkOfferSdp(good), good);
  });
  for (const [what, sdp] of [
    ['not a string', 42],
    ['empty', ''],
    ['not SDP', 'hello'],
    ['audio only', good.replace('m=video', 'm=audio')],
    ['rejected video', good.replace('m=video 9', 'm=video 0')],
    ['too long', good + 'a=x:' + 'y'.repeat(70_000) + '\r\n'],
  ] as const) {
    it(`refuses ${what}`, () => assert.throws(() => checkOfferSdp(sdp), InvalidSdpError));
  }
});

describe('filter specs', () => {
  it('accepts every filter and bounds iterations', () => {
    assert.deepEqual(makeFilterSpec('blur', '3'), { name: 'blur', iterations: 3 });
    assert.throws(() => makeFilterSpec('sparkle'), /unknown filter/);
    assert.throws(() => makeFilterSpec('blur', 0), /iterations/);
    assert.throws(() => makeFilterSpec('blur', 51), /iterations/);
    assert.throws(() => makeFilterSpec('blur', 2.5), /iterations/);
  });
});
