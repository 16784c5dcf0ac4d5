/**
 * The face detector's worker thread: it owns the ONNX session. onnxruntime-node's `run` is a
 * synchronous native call on the calling thread (its promise only defers the call with
 * setImmediate), so on the main thread every model run would stall the event loop, and with it
 * every session's packets (a 4-run CPU detection about 7 ms, a WebGPU one on lavapipe hundreds).
 * Here the loop that waits is this worker's. It reads the frame copy into model inputs, runs the
 * model once per region and decodes; the main thread gets boxes back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { BLAZEFACE_INPUT, decodeBlazeface, weightedNms, type NormBox } from './blazeface.js';
import { fillModelInput, type Region } from './model-input.js';
import { OnnxModel, type OnnxProvider } from './onnx-runtime.js';

/** What the worker is started with. */
export interface FaceWorkerInit {
  modelPath: string;
  provider: OnnxProvider;
}

/** One detection asked of the worker: a copy of the frame and the regions to look at. */
export interface FaceWorkerRequest {
  id: number;
  kind: 'rgba' | 'i420';
  width: number;
  height: number;
  data: Uint8Array;
  regions: Region[];
  minScore: number;
  /** Lowest score in a `fine` region (face-detector.ts FINE_SCORE_MARGIN). */
  fineMinScore: number;
  nmsIou: number;
}

/** The worker's answers: ready (or not) once, then one reply per request. */
export type FaceWorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'result'; id: number; boxes: NormBox[][]; runMs: number[] }
  | { type: 'error'; id: number; error: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('face-worker.ts runs as a worker thread only');
  const init = workerData as FaceWorkerInit;
  let model: OnnxModel;
  const dims = [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3];
  const input = new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3);
  try {
    model = await OnnxModel.load(init.modelPath, init.provider);
    // The first run compiles kernels (WebGPU: shaders, seconds on lavapipe): pay it now.
    await model.run(input, dims);
  } catch (err) {
    port.postMessage({ type: 'failed', error: err instanceof Error ? err.message : String(err) } satisfies FaceWorkerMessage);
    return;
  }
  // Requests are handled one at a time, in order: the main thread bounds how many wait.
  let chain = Promise.resolve();
  port.on('message', (req: FaceWorkerRequest) => {
    chain = chain.then(async () => {
      try {
        const src = req.kind === 'rgba'
          ? { kind: 'rgba' as const, image: { width: req.width, height: req.height, data: req.data } }
          : { kind: 'i420' as const, frame: { width: req.width, height: req.height, data: req.data } };
        const boxes: NormBox[][] = [];
        const runMs: number[] = [];
        for (const r of req.regions) {
          fillModelInput(src, r, input);
          const t = performance.now();
          const outputs = await model.run(input, dims);
          runMs.push(performance.now() - t);
          boxes.push(weightedNms(decodeBlazeface(outputs, r.fine ? req.fineMinScore : req.minScore), req.nmsIou));
        }
        port.postMessage({ type: 'result', id: req.id, boxes, runMs } satisfies FaceWorkerMessage);
      } catch (err) {
        port.postMessage({ type: 'error', id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies FaceWorkerMessage);
      }
    });
  });
  port.postMessage({ type: 'ready' } satisfies FaceWorkerMessage);
}

void main();
