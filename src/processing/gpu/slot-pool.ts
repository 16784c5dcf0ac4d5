/**
 * GPU buffers for frames, created once per frame size and reused: each slot holds the two
 * ping-pong storage buffers, the readback buffer, the Params uniform, the two bind groups and the
 * timestamp query set of one in-flight frame. Concurrent calls each take their own slot (up to
 * `maxPerKey` per size, then they wait), so overlapping sessions never share a buffer.
 */
import { BufferUsage } from './dawn.js';
import type { FrameLayout } from './frame-layout.js';

/** Bytes the two resolved 64-bit timestamps take at the end of the readback buffer. */
const TIMESTAMP_BYTES = 16;

/** Resources of one in-flight frame. */
export interface FrameSlot {
  readonly layout: FrameLayout;
  /** Input buffer; also the output after an even number of passes. */
  readonly a: GPUBuffer;
  readonly b: GPUBuffer;
  readonly readback: GPUBuffer;
  /** Bind groups reading a writing b, and b writing a. */
  readonly aToB: GPUBindGroup;
  readonly bToA: GPUBindGroup;
  /** Timestamp queries (begin, end of the compute pass), when the device has them. */
  readonly timestamps: { set: GPUQuerySet; resolve: GPUBuffer; offset: number } | null;
  /** Bytes of the readback buffer (frame words, then the timestamps). */
  readonly readbackBytes: number;
  /** The last bytes of the frame when its size is not a multiple of 4, padded (reused for uploads). */
  readonly tail: Uint8Array;
  readonly params: GPUBuffer;
}

/** The GPU had no memory left for a frame's buffers. */
export class GpuOutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuOutOfMemoryError';
  }
}

interface KeyPool {
  free: FrameSlot[];
  count: number;
  waiters: Array<{ resolve: (s: FrameSlot) => void; reject: (e: Error) => void }>;
  lastUsed: number;
}

/** A pool of frame slots keyed by frame layout. */
export class SlotPool {
  private readonly pools = new Map<string, KeyPool>();
  private failure: Error | null = null;
  private tick = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly layout: GPUBindGroupLayout,
    private readonly withTimestamps: boolean,
    private readonly maxPerKey = 3,
    private readonly maxKeys = 6,
  ) {}

  /** Take a slot for this layout: a free one, a new one, or wait for one to be released. */
  acquire(layout: FrameLayout): Promise<FrameSlot> {
    if (this.failure) return Promise.reject(this.failure);
    let pool = this.pools.get(layout.key);
    if (!pool) {
      pool = { free: [], count: 0, waiters: [], lastUsed: 0 };
      this.pools.set(layout.key, pool);
      this.evictIdle();
    }
    pool.lastUsed = ++this.tick;
    const slot = pool.free.pop();
    if (slot) return Promise.resolve(slot);
    if (pool.count < this.maxPerKey) {
      pool.count++;
      const p = pool;
      return this.createSlotChecked(layout).catch((err: unknown) => {
        p.count--;
        const e = err instanceof Error ? err : new Error(String(err));
        // Calls waiting for a slot of this size would wait for a release that may never come.
        if (p.count === 0) for (const w of p.waiters.splice(0)) w.reject(e);
        throw e;
      });
    }
    const p = pool;
    return new Promise((resolve, reject) => p.waiters.push({ resolve, reject }));
  }

  /** Give a slot back (to a waiter first). */
  release(slot: FrameSlot): void {
    const pool = this.pools.get(slot.layout.key);
    if (!pool || this.failure) {
      destroySlot(slot);
      if (pool) pool.count--;
      return;
    }
    const waiter = pool.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else pool.free.push(slot);
  }

  /** Refuse every waiting and later acquire with `err` (device lost, closed). */
  fail(err: Error): void {
    this.failure ??= err;
    for (const pool of this.pools.values()) {
      for (const w of pool.waiters.splice(0)) w.reject(this.failure);
    }
  }

  /** Destroy every idle slot; slots still in use are destroyed when released. */
  destroy(): void {
    for (const pool of this.pools.values()) {
      for (const s of pool.free.splice(0)) {
        destroySlot(s);
        pool.count--;
      }
    }
  }

  /** Free the buffers of the least recently used sizes that have no frame in flight. */
  private evictIdle(): void {
    if (this.pools.size <= this.maxKeys) return;
    const idle = [...this.pools.entries()]
      .filter(([, p]) => p.count === p.free.length && p.waiters.length === 0)
      .sort((x, y) => x[1].lastUsed - y[1].lastUsed);
    for (const [key, p] of idle) {
      if (this.pools.size <= this.maxKeys) break;
      for (const s of p.free.splice(0)) destroySlot(s);
      this.pools.delete(key);
    }
  }

  /** Create a slot inside an out-of-memory error scope, so a frame too big for the GPU fails alone. */
  private async createSlotChecked(layout: FrameLayout): Promise<FrameSlot> {
    this.device.pushErrorScope('out-of-memory');
    const slot = this.createSlot(layout);
    const error = await this.device.popErrorScope();
    if (error) {
      destroySlot(slot);
      throw new GpuOutOfMemoryError(`no GPU memory for the buffers of a ${layout.width}x${layout.height} ${layout.kind} frame: ${error.message}`);
    }
    return slot;
  }

  private createSlot(layout: FrameLayout): FrameSlot {
    const d = this.device;
    const size = layout.paddedBytes;
    const storage = (label: string): GPUBuffer =>
      d.createBuffer({ label, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
    const a = storage(`${layout.key} a`);
    const b = storage(`${layout.key} b`);
    const params = d.createBuffer({ label: `${layout.key} params`, size: layout.params.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    d.queue.writeBuffer(params, 0, layout.params);
    const tsOffset = Math.ceil(size / 8) * 8;
    const readbackBytes = this.withTimestamps ? tsOffset + TIMESTAMP_BYTES : size;
    const readback = d.createBuffer({ label: `${layout.key} readback`, size: readbackBytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const group = (from: GPUBuffer, to: GPUBuffer): GPUBindGroup => d.createBindGroup({
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: from } },
        { binding: 2, resource: { buffer: to } },
      ],
    });
    const timestamps = this.withTimestamps
      ? {
        set: d.createQuerySet({ type: 'timestamp', count: 2 }),
        resolve: d.createBuffer({ size: TIMESTAMP_BYTES, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC }),
        offset: tsOffset,
      }
      : null;
    return {
      layout, a, b, readback, params, aToB: group(a, b), bToA: group(b, a), timestamps, readbackBytes,
      tail: new Uint8Array(4),
    };
  }
}

function destroySlot(s: FrameSlot): void {
  s.a.destroy();
  s.b.destroy();
  s.readback.destroy();
  s.params.destroy();
  s.timestamps?.set.destroy();
  s.timestamps?.resolve.destroy();
}
