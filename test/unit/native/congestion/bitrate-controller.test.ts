/**
 * The native engine's BitrateController: receiver reports and REMB within the bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BitrateController } from '../../../../src/media/engines/native/congestion/bitrate-controller.js';

describe('bitrate control', () => {
  it('follows receiver reports and REMB within the bounds; reopens libvpx only on settled large changes', () => {
    const b = new BitrateController({ minKbps: 200, maxKbps: 2000, startKbps: 1000 }, false);
    assert.equal(b.decide(0), null, 'no feedback, no change');
    for (let i = 0; i < 10; i++) b.onReceiverReport(0);
    assert.equal(b.targetKbps, 2000, 'clamped to max');
    assert.equal(b.decide(10_000), null, 'a large change must hold for a second');
    assert.equal(b.decide(11_100), 2000);
    b.onRemb(300_000);
    assert.equal(b.decide(11_500), null, 'at most one change a second');
    assert.equal(b.decide(12_200), 300, 'a drop below half applies without waiting for it to settle');
    b.onRemb(50_000);
    assert.equal(b.targetKbps, 200, 'clamped to min');
    const live = new BitrateController({ minKbps: 200, maxKbps: 2000, startKbps: 1000 }, true);
    live.onReceiverReport(0.5);
    assert.equal(live.decide(1000), 750, 'heavy loss cuts by half the loss ratio');
  });

});
