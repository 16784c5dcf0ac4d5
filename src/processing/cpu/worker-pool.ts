/**
 * A fixed-size pool of worker_threads that run kernel calls on the shared WebAssembly memory.
 * One task at a time per worker, FIFO. Idle workers are unref'd so a pool never keeps the
 * process alive by itself; close() terminates them. A worker that dies (uncaught error, killed)
 * rejects its task with CpuWorkerCrashedError and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { KernelCall } from './wasm-kernels.js';

/** What the main thread sends a worker. */
export interface TaskMessage {
  id: number;
  calls: KernelCall[];
}

/** What a worker answers: once `ready` after start, then one reply per task. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

/** What a worker is started with. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

/** A worker died while it ran (or before it took) a task. */
export class CpuWorkerCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpuWorkerCrashedError';
  }
}

/** A kernel call failed inside a worker (a WASM trap: a bug, or a buffer too small). */
export class CpuKernelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpuKernelError';
  }
}

/** The processor was closed. */
export class CpuProcessorClosedError extends Error {
  constructor() {
    super('the CPU processor is closed');
    this.name = 'CpuProcessorClosedError';
  }
}

interface Task {
  id: number;
  calls: KernelCall[];
  resolve(): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  lastError: string;
}

const WORKER_URL = new URL('./cpu-worker.js', import.meta.url);

/** Start one worker and wait until it has instantiated the kernels. */
function startWorker(init: WorkerInit): Promise<Worker> {
  return new Promise((resolve, reject) => {
    // no node flags: a worker inherits the parent's by default, and some make it refuse to start
    // (--input-type of `node -e` scripts; V8 flags such as --no-liftoff when passed explicitly)
    const worker = new Worker(WORKER_URL, { workerData: init, execArgv: [] });
    // remove only these listeners: Worker keeps internal ones of its own
    const off = (): void => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.off('message', onMessage);
    };
    const fail = (err: Error): void => {
      off();
      void worker.terminate();
      reject(new CpuWorkerCrashedError(`CPU worker failed to start: ${err.message}`));
    };
    const onError = (err: Error): void => fail(err);
    const onExit = (code: number): void => fail(new Error(`exited with code ${code}`));
    const onMessage = (msg: WorkerReply): void => {
      if (msg.type !== 'ready') return fail(new Error(`unexpected first message ${JSON.stringify(msg)}`));
      off();
      resolve(worker);
    };
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.on('message', onMessage);
  });
}

/** The pool. */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private respawning = 0;
  private broken: Error | null = null;

  private constructor(private readonly init: WorkerInit, readonly size: number, private readonly onStarted: (w: Worker) => void) {}

  /** Start `size` workers; rejects if any cannot start (missing kernels, bad module). `onStarted` sees every worker, respawned ones too. */
  static async start(size: number, init: WorkerInit, onStarted: (w: Worker) => void = () => {}): Promise<WorkerPool> {
    const pool = new WorkerPool(init, size, onStarted);
    const started = await Promise.allSettled(Array.from({ length: size }, () => startWorker(init).then((w) => { onStarted(w); return w; })));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.terminate() : undefined)));
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    for (const r of started) if (r.status === 'fulfilled') pool.adopt(r.value);
    return pool;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Run kernel calls on the next free worker. */
  run(calls: KernelCall[]): Promise<void> {
    if (this.closed) return Promise.reject(new CpuProcessorClosedError());
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, calls, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminate every worker; queued and running tasks are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new CpuProcessorClosedError();
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = this.slots.splice(0);
    for (const s of slots) {
      s.task?.reject(err);
      s.task = null;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker, task: null, lastError: '' };
    worker.on('message', (msg: WorkerReply) => this.onReply(slot, msg));
    worker.on('error', (err) => {
      slot.lastError = err.message;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
    this.slots.push(slot);
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.task) continue;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      const msg: TaskMessage = { id: task.id, calls: task.calls };
      slot.worker.postMessage(msg);
    }
  }

  private onReply(slot: Slot, msg: WorkerReply): void {
    const task = slot.task;
    if (msg.type === 'ready' || !task || task.id !== msg.id) return;
    slot.task = null;
    if (msg.type === 'done') task.resolve();
    else task.reject(new CpuKernelError(msg.message));
    if (this.queue.length > 0) this.dispatch();
    if (!slot.task) slot.worker.unref();
  }

  private onExit(slot: Slot, code: number): void {
    if (this.closed) return;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const why = `CPU worker exited with code ${code}${slot.lastError ? `: ${slot.lastError}` : ''}`;
    slot.task?.reject(new CpuWorkerCrashedError(why));
    slot.task = null;
    this.respawning++;
    startWorker(this.init).then((w) => { this.onStarted(w); return w; }).then(
      (worker) => {
        this.respawning--;
        if (this.closed) void worker.terminate();
        else this.adopt(worker);
      },
      (err: Error) => {
        this.respawning--;
        if (this.slots.length === 0 && this.respawning === 0) {
          // nothing left to run on: fail now rather than leave callers waiting
          this.broken = new CpuWorkerCrashedError(`${why}; restart failed: ${err.message}`);
          for (const t of this.queue.splice(0)) t.reject(this.broken);
        }
      },
    );
  }
}
