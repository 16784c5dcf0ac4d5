/**
 * The GPU adapter identity, without a GPU: software-adapter detection and the device string.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendLabel, describeAdapter, softwareReason, type AdapterIdentity } from '../../../src/processing/gpu/adapter-info.js';

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
