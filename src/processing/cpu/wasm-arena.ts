/**
 * Hands out regions of the shared WebAssembly memory that the main thread and every worker see:
 * one region per job in flight (input, output and the workers' scratch). Freed regions are reused
 * (smallest that fits); the memory grows when none fits. WebAssembly memory never shrinks, so the
 * high-water mark is bounded by the number of jobs in flight times the largest frame.
 */
import { MAX_PAGES, WASM_PAGE } from './wasm-kernels.js';

/** The memory cannot grow to hold a job. */
export class CpuOutOfMemoryError extends Error {
  constructor(bytes: number) {
    super(`cannot reserve ${bytes} bytes of WebAssembly memory for the CPU backend`);
    this.name = 'CpuOutOfMemoryError';
  }
}

/** A block of the shared memory. */
export interface Region {
  readonly ptr: number;
  readonly size: number;
}

interface Block {
  ptr: number;
  size: number;
  free: boolean;
}

const ALIGN = 64;
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Allocator of regions in one shared memory. */
export class WasmArena {
  private readonly blocks: Block[] = [];
  private top: number;

  /** `base`: the first byte the module's static data does not use. */
  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.top = align(Math.max(base, 1024));
  }

  /** Reserve at least `bytes` bytes, 64-byte aligned. */
  alloc(bytes: number): Region {
    const size = align(Math.max(bytes, 1));
    let best: Block | undefined;
    for (const b of this.blocks) {
      if (b.free && b.size >= size && (!best || b.size < best.size)) best = b;
    }
    if (best) {
      best.free = false;
      return { ptr: best.ptr, size: best.size };
    }
    const last = this.blocks[this.blocks.length - 1];
    if (last && last.free) {
      // the free block at the top grows in place instead of leaving a hole behind
      this.ensure(last.ptr + size);
      last.size = size;
      last.free = false;
      this.top = last.ptr + size;
      return { ptr: last.ptr, size };
    }
    const ptr = this.top;
    this.ensure(ptr + size);
    this.top = ptr + size;
    this.blocks.push({ ptr, size, free: false });
    return { ptr, size };
  }

  /** Return a region to the arena. */
  free(region: Region): void {
    const b = this.blocks.find((x) => x.ptr === region.ptr);
    if (b) b.free = true;
  }

  /** Bytes of memory reserved so far. */
  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A view of `length` bytes at `ptr` (made fresh: growing the memory replaces its buffer). */
  view(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  /** Write two little-endian u32 at `ptr` (8-byte aligned): one i64 word as the kernels read it. */
  writeWordPair(ptr: number, low: number, high: number): void {
    const words = new Uint32Array(this.memory.buffer, ptr, 2);
    words[0] = low;
    words[1] = high;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / WASM_PAGE);
    // grow in steps of at least 1/4 of the current size so a ramp of frame sizes grows rarely
    const step = Math.max(pages, Math.ceil(have / WASM_PAGE / 4));
    const current = have / WASM_PAGE;
    try {
      this.memory.grow(Math.min(step, MAX_PAGES - current));
    } catch {
      throw new CpuOutOfMemoryError(end);
    }
    if (this.memory.buffer.byteLength < end) throw new CpuOutOfMemoryError(end);
  }
}
