/**
 * Supervision of the load generator's worker processes: forks them, waits until each is ready,
 * places every new session on the least-loaded live worker, notices a worker that dies (its
 * sessions are reported lost so the run can replace them) and shuts them all down at the end,
 * killing any that does not leave in time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SessionConfig } from './client-session.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/** Thrown when workers cannot be started. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));
/** A worker loads libwebrtc and the synthetic video; far less than this on any machine seen. */
const READY_TIMEOUT_MS = 15_000;

export interface WorkerPoolEvents {
  /** A message from worker `worker`. */
  onMessage(worker: number, message: FromWorker): void;
  /** Worker `worker` exited before shutdown(); `lost` are the session ids it was running. */
  onUnexpectedExit(worker: number, lost: number[], how: string): void;
}

interface Handle {
  index: number;
  child: ChildProcess;
  live: Set<number>;
  exited: Promise<void>;
}

/** A set of forked workers running client sessions. */
export class WorkerPool {
  private shuttingDown = false;
  private readonly where = new Map<number, Handle>();

  private constructor(private readonly workers: Handle[]) {}

  /** Fork `count` workers with the session config; resolves when all are ready, else kills them all and throws. */
  static async start(count: number, session: SessionConfig, events: WorkerPoolEvents): Promise<WorkerPool> {
    const handles: Handle[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      // MALLOC_ARENA_MAX=2 keeps libwebrtc's many threads from fragmenting memory (seen in a trial).
      const child = fork(WORKER_PATH, [], {
        env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      const handle: Handle = { index: i, child, live: new Set(), exited: new Promise((resolve) => child.once('exit', () => resolve())) };
      handles.push(handle);
      ready.push(new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new WorkerStartError(`worker ${i} not ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
        child.on('message', (m: FromWorker) => {
          if (m.type === 'ready') {
            clearTimeout(timer);
            resolve();
          }
          events.onMessage(i, m);
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new WorkerStartError(`worker ${i} exited (${code ?? signal}) before it was ready`));
        });
      }));
      const msg: ToWorker = { type: 'config', config: session };
      child.send(msg);
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      for (const h of handles) h.child.kill('SIGKILL');
      throw err;
    }
    const pool = new WorkerPool(handles);
    for (const h of handles) {
      void h.exited.then(() => {
        if (pool.shuttingDown) return;
        const lost = [...h.live];
        h.live.clear();
        for (const id of lost) pool.where.delete(id);
        events.onUnexpectedExit(h.index, lost, `code ${h.child.exitCode ?? h.child.signalCode}`);
      });
    }
    return pool;
  }

  /** Workers still running. */
  get aliveCount(): number {
    return this.alive().length;
  }

  /** Start session `id` on the least-loaded live worker; its index, or null when none is alive. */
  startSession(id: number): number | null {
    const candidates = this.alive();
    if (candidates.length === 0) return null;
    const w = candidates.reduce((a, b) => (b.live.size < a.live.size ? b : a));
    w.live.add(id);
    this.where.set(id, w);
    this.send(w, { type: 'start', id });
    return w.index;
  }

  /** Ask the worker running session `id` to stop it (its result comes as an 'ended' message). */
  stopSession(id: number): void {
    const w = this.where.get(id);
    if (w) this.send(w, { type: 'stop', id });
  }

  /** Session `id` ended (its worker said so): forget where it ran. */
  sessionEnded(id: number): void {
    this.where.get(id)?.live.delete(id);
    this.where.delete(id);
  }

  /** Tell every worker to shut down; kill those still there after `timeoutMs`. Returns what went wrong. */
  async shutdown(timeoutMs: number): Promise<string[]> {
    this.shuttingDown = true;
    for (const w of this.workers) this.send(w, { type: 'shutdown' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.workers.map((w) => w.exited)),
      new Promise((r) => { timer = setTimeout(r, timeoutMs); }),
    ]);
    clearTimeout(timer);
    const errors: string[] = [];
    for (const w of this.alive()) {
      errors.push(`worker ${w.index} did not exit; killed`);
      w.child.kill('SIGKILL');
    }
    return errors;
  }

  private alive(): Handle[] {
    return this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  private send(w: Handle, msg: ToWorker): void {
    if (w.child.connected) w.child.send(msg);
  }
}
