/**
 * The one typed doorway to onnxruntime-node: load a model on the CPU or the WebGPU execution
 * provider and run it on one float32 input. onnxruntime-node ships its CPU and WebGPU (Dawn)
 * providers inside its npm tarball; the CUDA/TensorRT ones its install script would download are
 * not used (the script is off: package.json allowScripts and .npmrc).
 */
import ort from 'onnxruntime-node';

/** The execution providers the project runs models on. */
export type OnnxProvider = 'cpu' | 'webgpu';

/** One loaded model on one execution provider. Calls to `run` may overlap; the caller bounds them. */
export class OnnxModel {
  private closed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: OnnxProvider,
    readonly inputName: string,
    readonly outputNames: readonly string[],
  ) {}

  /** Load `modelPath` on `provider`; throws when the provider cannot run here (no adapter, bad model). */
  static async load(modelPath: string, provider: OnnxProvider, threads = 1): Promise<OnnxModel> {
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: [provider === 'webgpu' ? { name: 'webgpu', validationMode: 'basic' } : { name: 'cpu' }],
      // One intra-op thread: sessions share the box with codecs; parallelism comes from sessions.
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // 3 = errors only: the model carries unused initializers that ORT would warn about at every load.
      logSeverityLevel: 3,
    });
    const input = session.inputNames[0];
    if (input === undefined) throw new Error(`model ${modelPath} has no input`);
    return new OnnxModel(session, provider, input, [...session.outputNames]);
  }

  /** Run the model on one float32 tensor of `dims`; the outputs' data in `outputNames` order. */
  async run(data: Float32Array, dims: readonly number[]): Promise<Float32Array[]> {
    if (this.closed) throw new Error('model is closed');
    const feeds = { [this.inputName]: new ort.Tensor('float32', data, dims) };
    const results = await this.session.run(feeds);
    return this.outputNames.map((n) => {
      const t = results[n];
      if (!t || !(t.data instanceof Float32Array)) throw new Error(`model output ${n} is missing or not float32`);
      return t.data;
    });
  }

  /** Release the session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
