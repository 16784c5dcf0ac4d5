/**
 * The CPU backend's own behaviour, beyond the FrameProcessor contract that
 * test/unit/processing/processor-conformance.test.ts checks: splitting work into strips and byte ranges in every way,
 * the bounded queue, worker crashes, closing with calls in flight, and not keeping the process alive.
 */
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  CpuProcessor, CpuProcessorClosedError, CpuQueueFullError, CpuWorkerCrashedError,
} from '../../../src/processing/cpu/cpu-processor.js';
import { byteRange, segment } from '../../../src/processing/cpu/kernel-plan.js';
import { referenceI420, referenceRgba } from '../../../src/processing/reference/reference-processor.js';
import { syntheticRgba } from '../../../src/processing/synthetic.js';
import { KERNEL_FILTER_NAMES, i420Size } from '../../../src/processing/types.js';

/** Deterministic bytes (the conformance suite does the random ones). */
function pattern(bytes: number, salt: number): Uint8Array {
  const d = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) d[i] = (i * 37 + salt * 101 + ((i * i) >> 3)) & 255;
  return d;
}

describe('work splitting', () => {
  test('segments cover every row exactly once, also with more parts than rows', () => {
    for (const [h, parts] of [[1, 3], [2, 2], [7, 3], [1080, 2], [5, 8], [100, 5]] as const) {
      const covered: number[] = [];
      for (let s = 0; s < Math.ceil(parts / 2); s++) {
        const [top, bottom] = segment(h, s, parts);
        for (let y = top; y < bottom; y++) covered.push(y);
      }
      assert.deepEqual(covered, Array.from({ length: h }, (_, y) => y), `h=${h} parts=${parts}`);
    }
  });

  test('byte ranges cover every byte once and start on 64-byte boundaries', () => {
    for (const [total, parts] of [[1, 2], [100, 3], [4096, 2], [8294400, 3]] as const) {
      let end = 0;
      for (let i = 0; i < parts; i++) {
        const [a, b] = byteRange(total, i, parts);
        if (b === a) continue;
        assert.equal(a, end);
        assert.equal(a % 64, 0);
        end = b;
      }
      assert.equal(end, total);
    }
  });

  test('every filter is exact when each call is split across 3 workers, even 1-row images', async () => {
    const p = await CpuProcessor.create({ workers: 3, splitMinBytes: 0 });
    try {
      for (const [w, h] of [[1, 1], [2, 1], [1, 5], [4, 3], [16, 4], [33, 7], [40, 2]] as const) {
        for (const name of KERNEL_FILTER_NAMES) {
          const filter = { name, iterations: 4 };
          const rgba = pattern(w * h * 4, w + h);
          const want = new Uint8Array(rgba.length);
          referenceRgba({ width: w, height: h, data: rgba }, filter, want);
          const got = new Uint8Array(rgba.length);
          await p.processRgba({ width: w, height: h, data: rgba }, filter, got);
          assert.deepEqual(got, want, `rgba ${w}x${h} ${name}`);

          const yuv = pattern(i420Size(w, h), w * h);
          const wantYuv = new Uint8Array(yuv.length);
          referenceI420({ width: w, height: h, data: yuv }, filter, wantYuv);
          const gotYuv = new Uint8Array(yuv.length);
          await p.processI420({ width: w, height: h, data: yuv }, filter, gotYuv);
          assert.deepEqual(gotYuv, wantYuv, `i420 ${w}x${h} ${name}`);
        }
      }
    } finally {
      await p.close();
    }
  });
});

describe('CpuProcessor', () => {
  test('its device names the pool size', async () => {
    const p = await CpuProcessor.create({ workers: 2 });
    try {
      assert.equal(p.device, 'WebAssembly SIMD, 2 workers');
    } finally {
      await p.close();
    }
  });

  test('a full queue refuses calls at once instead of growing without bound', async () => {
    const p = await CpuProcessor.create({ workers: 1, maxQueue: 1 });
    try {
      const img = syntheticRgba(256, 256);
      const calls = Array.from({ length: 6 }, () =>
        p.processRgba({ width: 256, height: 256, data: img }, { name: 'blur', iterations: 10 }, new Uint8Array(img.length)));
      const results = await Promise.allSettled(calls);
      // 1 worker: 2 calls run, 1 waits, the other 3 are refused
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(refused.length, 3);
      for (const r of refused) assert.ok((r as PromiseRejectedResult).reason instanceof CpuQueueFullError);
      // and the processor still works afterwards
      await p.processRgba({ width: 256, height: 256, data: img }, { name: 'invert', iterations: 1 }, new Uint8Array(img.length));
    } finally {
      await p.close();
    }
  });

  test('a worker crash rejects the call in flight, and the pool recovers', async () => {
    const workers: Worker[] = [];
    const p = await CpuProcessor.create({ workers: 2, onWorkerStarted: (w) => workers.push(w) });
    try {
      const img = syntheticRgba(1920, 1080);
      const out = new Uint8Array(img.length);
      const inFlight = p.processRgba({ width: 1920, height: 1080, data: img }, { name: 'blur', iterations: 50 }, out);
      const rejected = assert.rejects(inFlight, CpuWorkerCrashedError);
      assert.equal(workers.length, 2);
      // Ending the threads from outside is what a crash of the worker looks like to the pool.
      await Promise.all(workers.splice(0).map((w) => w.terminate()));
      await rejected;
      const small = syntheticRgba(32, 16);
      const got = new Uint8Array(small.length);
      const want = new Uint8Array(small.length);
      await p.processRgba({ width: 32, height: 16, data: small }, { name: 'blur', iterations: 3 }, got);
      referenceRgba({ width: 32, height: 16, data: small }, { name: 'blur', iterations: 3 }, want);
      assert.deepEqual(got, want);
    } finally {
      await p.close();
    }
  });

  test('close() rejects calls in flight and later calls', async () => {
    const p = await CpuProcessor.create({ workers: 1 });
    const img = syntheticRgba(1920, 1080); // x50 on one worker: far longer than the 5 ms below
    const inFlight = p.processRgba({ width: 1920, height: 1080, data: img }, { name: 'blur', iterations: 50 }, new Uint8Array(img.length));
    const rejected = assert.rejects(inFlight, CpuProcessorClosedError);
    await new Promise((r) => setTimeout(r, 5));
    await p.close();
    await rejected;
    await assert.rejects(p.processRgba({ width: 1, height: 1, data: new Uint8Array(4) }, { name: 'invert', iterations: 1 }, new Uint8Array(4)),
      CpuProcessorClosedError);
    await p.close(); // twice is fine
  });

  test('neither a closed nor an idle processor keeps the process alive', async () => {
    const moduleUrl = new URL('../../../src/processing/cpu/cpu-processor.js', import.meta.url).href;
    for (const closeIt of [true, false]) {
      const script = `
        const { CpuProcessor } = await import(${JSON.stringify(moduleUrl)});
        const p = await CpuProcessor.create({ workers: 2 });
        const out = new Uint8Array(64 * 64 * 4);
        await p.processRgba({ width: 64, height: 64, data: new Uint8Array(out.length) }, { name: 'blur', iterations: 2 }, out);
        ${closeIt ? 'await p.close();' : ''}
        console.log('done');`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      clearTimeout(killer);
      assert.equal(code, 0, `child (close: ${closeIt}) should exit by itself; stdout: ${stdout}`);
      assert.match(stdout, /done/);
    }
  });
});
