/**
 * /process: the benchmark workload (GET, synthetic image) and processing of an uploaded image
 * (POST, PNG or raw RGBA). Both report where the time went.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { performance } from 'node:perf_hooks';
import { sha256Hex, syntheticRgba } from '../../processing/synthetic.js';
import type { FilterSpec, FrameProcessor, ProcessTimings, RgbaImage } from '../../processing/types.js';
import { isKernelSpec } from '../../processing/filter-spec.js';
import type { FaceFrameOutcome } from '../../processing/faces/face-guard.js';
import type { ServerContext } from '../context.js';
import { ConcurrencyLimiter, LimiterFullError } from '../concurrency-limiter.js';
import { ApiError } from '../errors.js';
import { asParams, backendParam, filterParam, intParam, sizeParams } from '../params.js';
import { decodePng, encodePng, PngDecodeError, type DecodedPng } from '../png-codec.js';
import { checkPngHeader, PngGuardError, type PngHeader } from '../png-guard.js';
import { UploadBudget } from '../upload-budget.js';

/** Synthetic inputs by size; a few entries, since generating 4K takes longer than blurring it. */
class SyntheticCache {
  private readonly entries = new Map<string, Uint8Array>();
  constructor(private readonly capacity = 4) {}
  get(width: number, height: number): Uint8Array {
    const key = `${width}x${height}`;
    let data = this.entries.get(key);
    if (data) {
      this.entries.delete(key);
    } else {
      data = syntheticRgba(width, height);
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, data);
    return data;
  }
}

/** The processor asked for; BackendUnavailableError (mapped in domain-errors.ts) when it does not run. */
function resolveProcessor(ctx: ServerContext, backend: ReturnType<typeof backendParam>): FrameProcessor {
  return ctx.registry.get(backend);
}

/** Seconds a client refused for load should wait. */
const BUSY_RETRY_AFTER_S = 1;

/** The media type of a request, lower case, without parameters ("IMAGE/PNG; x=y" is "image/png"). */
function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The input of one /process call and the buffer its output goes to. */
interface Job {
  image: RgbaImage;
  out: Uint8Array;
}

/**
 * Check the work cap, then — holding a place in the limiter, so refused and queued requests cost
 * nothing — build the input with `prepare`, process it, and turn the output into the answer with
 * `finish`.
 */
async function run<R = Uint8Array>(
  ctx: ServerContext, limiter: ConcurrencyLimiter, p: FrameProcessor,
  size: { width: number; height: number }, filter: FilterSpec, prepare: () => Job | Promise<Job>,
  finish?: (out: Uint8Array) => Promise<R>,
): Promise<{ timings: ProcessTimings; out: R; faces?: FaceFrameOutcome }> {
  const work = size.width * size.height * (filter.name === 'blur' || filter.name === 'sharpen' ? filter.iterations : 1);
  if (work > ctx.config.processMaxWork) {
    throw new ApiError('INVALID_PARAMETER',
      `width x height x iterations = ${work} is over the limit of ${ctx.config.processMaxWork} (RTC_PROCESS_MAX_WORK)`);
  }
  try {
    return await limiter.run(async () => {
      const job = await prepare();
      const t0 = performance.now();
      let faces: FaceFrameOutcome | undefined;
      let timings: ProcessTimings;
      if (isKernelSpec(filter)) {
        timings = await p.processRgba(job.image, filter, job.out);
      } else {
        faces = await runFaceFilter(ctx, p, filter, job);
        const ms = performance.now() - t0;
        timings = { upload: 0, compute: ms, download: 0, total: ms };
      }
      ctx.metrics.processRequestSeconds.observe({ backend: p.name, filter: filter.name }, (performance.now() - t0) / 1000);
      // Encoding the answer is work too (a 4K PNG: hundreds of ms): it keeps the place.
      const out = finish ? await finish(job.out) : (job.out as R);
      return { timings, out, ...(faces ? { faces } : {}) };
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof LimiterFullError || (err instanceof Error && err.name === 'CpuQueueFullError')) {
      throw new ApiError('SERVER_BUSY', `too much /process work in flight: ${err.message}`, { retryAfterS: BUSY_RETRY_AFTER_S });
    }
    // A frame the backend cannot take (e.g. over the GPU's buffer limit) is the request's fault.
    if (err instanceof RangeError) throw new ApiError('INVALID_PARAMETER', err.message);
    throw new ApiError('BACKEND_UNAVAILABLE', `processing on ${p.name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A face filter on one image: wait for the detector of the processor's backend (loading it on
 * first use), detect on the image and cover (or draw) in the output. One image has no later frame
 * to carry boxes to: its own detection is always waited for, and without a detector (or when it
 * fails) `anonymize` covers the whole image.
 */
async function runFaceFilter(ctx: ServerContext, p: FrameProcessor, filter: FilterSpec, job: Job): Promise<FaceFrameOutcome> {
  const mode = filter.name === 'faces' ? 'faces' : 'anonymize';
  const backend = p.name === 'gpu' ? 'gpu' : 'cpu';
  const detector = await ctx.registry.faceDetectorReady(backend);
  const guard = ctx.registry.createFaceGuard(mode, () => backend, {
    ...(filter.style ? { style: filter.style } : {}), waitMs: 60_000, maxAgeMs: 60_000, holdDetections: 0, minIntervalMs: 0, tiles: ctx.config.facesProcessTiles,
  }, detector);
  job.out.set(job.image.data);
  const outcome = await guard.apply({ kind: 'rgba', width: job.image.width, height: job.image.height, data: job.out });
  ctx.metrics.facesPerFrame.observe({ filter: mode }, outcome.faces);
  if (outcome.wholeFrame) ctx.metrics.faceFramesCoveredWhole.inc();
  return outcome;
}

/** Headers telling what a face filter did: faces covered, and whether the whole image was covered. */
function faceHeaders(reply: FastifyReply, faces: FaceFrameOutcome | undefined): void {
  if (!faces) return;
  reply.header('X-Rtc-Faces', String(faces.faces));
  reply.header('X-Rtc-Faces-Covered-Whole', faces.wholeFrame ? '1' : '0');
}

function round(t: ProcessTimings): ProcessTimings {
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return { upload: r(t.upload), compute: r(t.compute), download: r(t.download), total: r(t.total) };
}

function serverTiming(reply: FastifyReply, t: ProcessTimings): void {
  reply.header('Server-Timing', `upload;dur=${t.upload},compute;dur=${t.compute},download;dur=${t.download},total;dur=${t.total}`);
}

/** Register GET and POST /process. */
export function registerProcessRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const cache = new SyntheticCache();
  const limiter = new ConcurrencyLimiter(ctx.config.processConcurrency, ctx.config.processQueue);
  const limits = { maxDimension: ctx.config.maxDimension, maxPixels: ctx.config.maxPixels };

  app.get('/process', async (req) => {
    const q = asParams(req.query, 'query');
    const { width, height } = sizeParams(q, { width: 1920, height: 1080 }, limits);
    const filter = filterParam(q, 'blur', intParam(q, 'iterations', 10, 1, 50));
    const processor = resolveProcessor(ctx, backendParam(q));
    const { timings: t, out } = await run(ctx, limiter, processor, { width, height }, filter, () => {
      const data = cache.get(width, height);
      return { image: { width, height, data }, out: new Uint8Array(data.length) };
    });
    const timings = round(t);
    return {
      backend: processor.name,
      device: processor.device,
      filter: filter.name,
      width,
      height,
      iterations: filter.iterations,
      timings,
      checksum: sha256Hex(out),
    };
  });

  // POST /process lives in its own scope with only the parsers it takes: the JSON parser the
  // rest of the API uses must not see its 40 MiB limit (a 38 MiB nested-array body blocked the
  // event loop for 10 s and reached 2 GB before the 415).
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    registerProcessUpload(scope, ctx, limiter, limits);
  });
}

/** POST /process: admit the upload (places, bytes), then buffer, decode, process and encode it. */
function registerProcessUpload(
  app: FastifyInstance, ctx: ServerContext, limiter: ConcurrencyLimiter, limits: { maxDimension: number; maxPixels: number },
): void {
  const bodyLimit = ctx.config.bodyLimitBytes;
  const budget = new UploadBudget(ctx.config.processMaxBufferedBytes);
  app.addContentTypeParser(['image/png', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    done(null, body);
  });

  app.post('/process', {
    bodyLimit,
    // Runs after auth and the rate limit, before a byte of the body is read: a request that
    // would be refused for load is refused now, and every buffered body has its bytes reserved.
    preParsing: async (req, reply, payload) => {
      // A refused body is never buffered: Node reads and drops it after the answer (closing the
      // connection instead made clients still sending it see EPIPE rather than the 503).
      const refuse = (message: string): ApiError => new ApiError('SERVER_BUSY', message, { retryAfterS: BUSY_RETRY_AFTER_S });
      if (limiter.full) throw refuse('too much /process work in flight');
      const declared = Number(req.headers['content-length']);
      // Over the body limit: fastify answers 413 without reading it, nothing to reserve.
      if (Number.isFinite(declared) && declared > bodyLimit) return payload;
      const bytes = Number.isFinite(declared) && declared >= 0 ? declared : bodyLimit;
      if (!budget.tryReserve(bytes)) {
        throw refuse(`uploads in flight hold ${budget.reserved} bytes; ${bytes} more would pass RTC_PROCESS_MAX_BUFFERED_BYTES`);
      }
      // 'close' comes once the response is sent or the client went away, whichever is first.
      reply.raw.once('close', () => budget.release(bytes));
      return payload;
    },
  }, async (req, reply) => {
    const q = asParams(req.query, 'query');
    const filter = filterParam(q, 'blur', 1, ctx.config.facesStyle);
    const processor = resolveProcessor(ctx, backendParam(q));
    const body = req.body;
    if (!Buffer.isBuffer(body)) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send image/png, or application/octet-stream (raw RGBA) with width and height');
    }
    if (mediaType(req) === 'image/png') {
      let header: PngHeader;
      try {
        header = checkPngHeader(body, limits);
      } catch (err) {
        if (err instanceof PngGuardError) throw new ApiError(err.reason === 'too-large' ? 'INVALID_PARAMETER' : 'INVALID_IMAGE', err.message);
        throw err;
      }
      // Decoding a large PNG is real work too: it happens inside the limiter.
      const { timings: t, out: encoded, faces } = await run(ctx, limiter, processor, header, filter, async () => {
        let png: DecodedPng;
        try {
          png = await decodePng(body, limits.maxPixels);
        } catch (err) {
          if (err instanceof PngDecodeError) throw new ApiError('INVALID_IMAGE', err.message);
          throw err;
        }
        if (png.width !== header.width || png.height !== header.height) {
          throw new ApiError('INVALID_IMAGE', `PNG header says ${header.width}x${header.height}, its data ${png.width}x${png.height}`);
        }
        return { image: png, out: new Uint8Array(png.data.length) };
      }, (pixels) => encodePng(pixels, header.width, header.height));
      serverTiming(reply, round(t));
      faceHeaders(reply, faces);
      reply.header('X-Rtc-Backend', processor.name);
      return reply.type('image/png').send(encoded);
    }
    const { width, height } = sizeParams(q, { width: 0, height: 0 }, limits);
    if (width === 0 || height === 0) throw new ApiError('INVALID_PARAMETER', 'raw RGBA needs width and height parameters');
    if (body.length !== width * height * 4) {
      throw new ApiError('INVALID_IMAGE', `raw RGBA of ${width}x${height} is ${width * height * 4} bytes, got ${body.length}`);
    }
    const data = new Uint8Array(body.buffer, body.byteOffset, body.length);
    const { timings, out, faces } = await run(ctx, limiter, processor, { width, height }, filter,
      () => ({ image: { width, height, data }, out: new Uint8Array(data.length) }));
    serverTiming(reply, round(timings));
    faceHeaders(reply, faces);
    reply.header('X-Rtc-Backend', processor.name);
    return reply.type('application/octet-stream').send(Buffer.from(out.buffer, out.byteOffset, out.length));
  });
}
