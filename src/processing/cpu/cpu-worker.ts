/**
 * A CPU backend worker: instantiates the WASM kernels on the shared memory it is given and runs
 * the kernel calls of each task it receives (see worker-pool.ts for the protocol).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels, type KernelFunctions } from './wasm-kernels.js';
import type { TaskMessage, WorkerInit, WorkerReply } from './worker-pool.js';

const port = parentPort;
if (!port) throw new Error('cpu-worker.js must run as a worker thread');
const init = workerData as WorkerInit;
const kernels: KernelFunctions = instantiateKernels(init.module, init.memory);
// the kernels are called by name with numeric arguments only
const table = kernels as unknown as Record<string, (...args: number[]) => void>;

port.on('message', (msg: TaskMessage) => {
  let reply: WorkerReply;
  try {
    for (const call of msg.calls) {
      const fn = table[call.fn];
      if (typeof fn !== 'function') throw new Error(`no kernel named ${call.fn}`);
      fn(...call.args);
    }
    reply = { type: 'done', id: msg.id };
  } catch (err) {
    reply = { type: 'failed', id: msg.id, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
