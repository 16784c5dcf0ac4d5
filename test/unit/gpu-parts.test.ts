/**
 * The GPU backend's host-side pieces that need no GPU: software-adapter detection, the device
 * string, the busy-ratio arithmetic and the frame layouts (dispatch grids, padding).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendLabel, describeAdapter, softwareReason, type AdapterIdentity } from '../../src/processing/gpu/adapter-info.js';
import { BusyTracker } from '../../src/processing/gpu/busy-tracker.js';
import { frameLayout } from '../../src/processing/gpu/frame-layout.js';
import { i420Size } from '../../src/processing/types.js';

const nvidia: AdapterIdentity = {
  vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h100-80gb-hbm3', description: 'NVIDIA: 550.54.15', isFallbackAdapter: false,
};
const lavapipe: AdapterIdentity = {
  vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true,
};

describe('adapter identity', () => {
  test('hardware is accepted, software is named as such', () => {
    assert.equal(softwareReason(nvidia), null);
    assert.match(softwareReason(lavapipe) ?? '', /isFallbackAdapter/);
    // Dawn's GL backend on llvmpipe reports neither flag: the name gives it away.
    assert.match(softwareReason({ ...lavapipe, isFallbackAdapter: false, architecture: '', vendor: '' }) ?? '', /llvmpipe/);
    assert.match(softwareReason({ vendor: 'google', architecture: '', device: 'swiftshader-device', description: '', isFallbackAdapter: false }) ?? '', /swiftshader/i);
  });

  test('device strings say device, API and software', () => {
    assert.equal(describeAdapter(nvidia, backendLabel([], nvidia), false), 'nvidia h100 80gb hbm3 (Vulkan; NVIDIA: 550.54.15)');
    assert.match(describeAdapter(lavapipe, backendLabel(['backend=opengles'], lavapipe), true), /^llvmpipe llvm 15 0 6 256 bits \(OpenGL ES, software; /);
  });
});

describe('BusyTracker', () => {
  test('overlapping submissions count once; the window restarts at each take', () => {
    let now = 0;
    const b = new BusyTracker(() => now);
    now = 10; b.begin();
    now = 15; b.begin();
    now = 20; b.end();
    now = 30; b.end();  // busy 10..30
    now = 100;
    assert.equal(b.take(), 0.2);
    now = 110; b.begin();
    now = 150;           // still in flight at take: counted up to now
    assert.equal(b.take(), 0.8);
    now = 200; b.end();  // busy 150..200 of 150..250
    now = 250;
    assert.equal(b.take(), 0.5);
    b.end();             // unmatched end is ignored
    now = 300;
    assert.equal(b.take(), 0);
  });
});

describe('frameLayout', () => {
  test('I420 frames are padded to whole words and fold the grid into two dimensions', () => {
    const l = frameLayout('i420', 7, 3);
    assert.equal(l.bytes, i420Size(7, 3));
    assert.equal(l.bytes, 37);
    assert.equal(l.paddedBytes, 40);
    assert.deepEqual(l.groups, [1, 1]);
    const big = frameLayout('i420', 7680, 4320);
    assert.ok(big.groups[0] <= 65535 && big.groups[1] >= 1);
    assert.ok(big.groups[0] * big.groups[1] * 256 * 4 >= big.bytes);
  });

  test('RGBA frames dispatch 16x16 workgroups, or one per 32x32 block for the fused blur', () => {
    const l = frameLayout('rgba', 1920, 1080);
    assert.equal(l.bytes, 1920 * 1080 * 4);
    assert.deepEqual(l.groups, [120, 68]);
    assert.deepEqual(l.tileGroups, [60, 34]);
  });
});
