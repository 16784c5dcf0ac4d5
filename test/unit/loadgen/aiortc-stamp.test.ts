/**
 * The Python frame stamp of the aiortc test client (test/support/aiortc/stamp.py) and the
 * TypeScript one (src/loadgen/stamp.ts) are one format: each reads what the other wrote, at a
 * width with whole cells and at one where the cell edges need rounding.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { readStamp, writeStamp } from '../../../src/loadgen/stamp.js';
import { SYSTEM_PYTHON } from '../../support/aiortc-client.js';

const STAMP_PY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/support/aiortc/stamp.py');
const numpy = spawnSync(SYSTEM_PYTHON, ['-c', 'import numpy'], { timeout: 30_000 });
const skip = numpy.status !== 0 && `${SYSTEM_PYTHON} cannot import numpy (apt-get install python3-numpy)`;

describe('aiortc client stamp (Python) against the TypeScript stamp', { skip }, () => {
  for (const [w, h] of [[640, 360], [500, 300], [1280, 720]] as const) {
    it(`${w}x${h}: TypeScript reads Python's stamp`, () => {
      const r = spawnSync(SYSTEM_PYTHON, [STAMP_PY, 'write', String(w), String(h), '4000000123', '5000000000.9'], { maxBuffer: 1 << 24 });
      assert.equal(r.status, 0, r.stderr.toString());
      const data = new Uint8Array(r.stdout);
      assert.equal(data.length, (w * h * 3) / 2);
      // 5000000000 mod 2^32 = 705032704
      assert.deepEqual(readStamp(data, w, h), { frameNumber: 4000000123, sendTimeMs: 705032704 });
    });

    it(`${w}x${h}: Python reads TypeScript's stamp, and refuses a damaged one`, () => {
      const data = new Uint8Array((w * h * 3) / 2).fill(128);
      writeStamp(data, w, h, { frameNumber: 77, sendTimeMs: 123456.4 });
      const read = (buf: Uint8Array): unknown => {
        const r = spawnSync(SYSTEM_PYTHON, [STAMP_PY, 'read', String(w), String(h)], { input: buf, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      assert.deepEqual(read(data), { frameNumber: 77, sendTimeMs: 123456 });
      // Give the first data cell of row 0 (frame number bit 31, a 0 for 77) the texture of a 1:
      // a flipped bit, which the check word must catch.
      const cell = w / 40;
      const [x0, x1, y0, y1] = [Math.round(5 * cell), Math.round(6 * cell), Math.round(cell), Math.round(2 * cell)];
      const mid = (x0 + x1) >> 1;
      for (let y = y0; y < y1; y++) {
        data.fill(32, y * w + x0, y * w + mid);
        data.fill(224, y * w + mid, y * w + x1);
      }
      assert.equal(readStamp(data, w, h), null, 'TypeScript refuses it too');
      assert.equal(read(data), null);
    });
  }
});
