/**
 * Assembles a running server from a configuration: backends, sessions, metrics, HTTP. Its
 * shutdown() drains (readiness off, no new sessions, live ones may finish) and releases all.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { PodDeletionCostUpdater } from '../cluster/pod-deletion-cost.js';
import { ClusterIds } from '../cluster/session-ids.js';
import { CapacityEstimator } from '../media/capacity-estimator.js';
import { createMediaEngine } from '../media/engines/index.js';
import { SessionManager } from '../media/session-manager.js';
import { BackendRegistry } from '../processing/backend-registry.js';
import { createApp } from './app.js';
import { registerMetricsRoute } from './routes/health.js';
import type { Config } from './config.js';
import type { ServerContext } from './context.js';
import { Metrics } from './metrics.js';
import { iceServersFor } from './turn-credentials.js';

/** Window over which rtc_gpu_busy_ratio is measured. */
const GPU_BUSY_WINDOW_MS = 5000;

/** A started server. */
export interface RunningServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** The port it listens on (useful with PORT=0). */
  port: number;
  /** Drain (unless told not to), close everything. Resolves when it is safe to exit. */
  shutdown(options?: { drain?: boolean; signal?: string }): Promise<void>;
}

/** Start backends and HTTP according to `config`. */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const metrics = new Metrics();
  const registry = await BackendRegistry.create({
    backend: config.backend,
    cpuWorkers: config.cpuWorkers,
    gpuAllowSoftware: config.gpuAllowSoftware,
    gpuDawnOptions: config.gpuDawnOptions,
    faces: {
      minScore: config.facesMinScore,
      tiles: config.facesTiles,
      onInference: (provider, seconds) => metrics.faceInferenceSeconds.observe({ provider }, seconds),
    },
    faceGuard: {
      style: config.facesStyle,
      maxAgeMs: config.facesMaxAgeMs,
      waitMs: config.facesWaitMs,
      holdDetections: config.facesHoldDetections,
      pad: config.facesPad,
      minIntervalMs: config.facesDetectIntervalMs,
      tiles: config.facesTiles,
      sweepTiles: config.facesSweepTiles,
      runs: config.facesRuns,
    },
    onDetectorRestart: (provider) => metrics.faceDetectorRestarts.inc({ provider }),
    log: (level, msg) => log[level](msg),
  });

  const publishBackend = (): void => {
    const backend = registry.defaultBackend;
    metrics.backendInfo.reset();
    metrics.backendInfo.set({ backend, device: registry.get(backend).device, requested: config.backend }, 1);
    const expected = config.expectGpu || config.backend === 'gpu';
    const fallback = expected && backend !== 'gpu';
    metrics.gpuFallback.set(fallback ? 1 : 0);
    if (fallback) {
      log.error({ gpuReason: registry.list().find((b) => b.name === 'gpu')?.reason },
        'a GPU was expected (RTC_EXPECT_GPU) but this server processes on CPU');
    }
  };
  publishBackend();
  registry.onGpuLost(() => publishBackend());

  // The busy ratio is sampled on a fixed clock, not per scrape, so that several scrapers (or a
  // person curling /metrics) each read the same figure instead of slicing the window.
  const busyTimer = setInterval(() => {
    metrics.gpuBusyRatio.set(registry.takeGpuBusyRatio());
  }, GPU_BUSY_WINDOW_MS);
  busyTimer.unref();

  // In a cluster, keep controller.kubernetes.io/pod-deletion-cost = live sessions, so a scale-down
  // deletes the emptiest pods first.
  const deletionCost = config.pod ? PodDeletionCostUpdater.forPod(config.pod, log) : undefined;
  deletionCost?.set(0);

  const engineLog = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void =>
    log[level](extra ?? {}, msg);
  const engine = await createMediaEngine(config.mediaEngine, {
    log: engineLog,
    bitrate: { minKbps: config.videoBitrateMinKbps, maxKbps: config.videoBitrateMaxKbps, startKbps: config.videoBitrateStartKbps },
    inputBitsPerPixel: config.videoInputBitsPerPixel,
    keyframeIntervalMs: config.keyframeIntervalMs,
    vp8CpuUsed: config.vp8CpuUsed,
    hardwareCodecs: config.hardwareCodecs,
    preferH264: config.preferH264,
    transportCc: config.transportCc,
    frameTimeoutMs: config.frameTimeoutMs,
    retransmitBudgetKbps: config.retransmitBudgetKbps,
    maxPixels: config.maxPixels,
  });
  metrics.mediaDropSource = () => engine.packetDrops?.() ?? {};
  const capacity = new CapacityEstimator({
    cores: config.capacityCores,
    target: config.capacityTarget,
    sessionCoresPrior: config.capacitySessionCores,
    hostCpu: config.capacityHostCpu,
  });
  // Several replicas: session and viewer ids name this one, so any replica can forward to it.
  const cluster = config.cluster ? new ClusterIds(config.cluster.secret, config.cluster.advertise) : null;
  const sessions = new SessionManager({
    ...(cluster ? { newId: () => cluster.newId() } : {}),
    onCountChange: (n) => deletionCost?.set(n),
    engine,
    registry,
    metrics,
    capacity,
    maxSessions: config.maxSessions,
    maxPixels: config.maxPixels,
    connectTimeoutMs: config.connectTimeoutS * 1000,
    idleTimeoutMs: config.idleTimeoutS * 1000,
    stallTimeoutMs: config.stallTimeoutS * 1000,
    faceSessionCost: config.facesSessionCost,
    ...(config.icePortMax > 0 ? { portRange: { min: config.icePortMin, max: config.icePortMax } } : {}),
    log: engineLog,
  });

  const ctx: ServerContext = { config, registry, engine, sessions, metrics, cluster, iceServersFor: (id) => iceServersFor(config, id) };
  const app = await createApp(ctx, log);
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;

  // Metrics on their own port when asked: scrapers reach it, the public Service does not.
  let metricsApp: FastifyInstance | null = null;
  if (config.metricsPort !== 0) {
    const m = Fastify({ loggerInstance: log as FastifyBaseLogger });
    registerMetricsRoute(m, ctx);
    await m.listen({ host: config.host, port: config.metricsPort });
    metricsApp = m;
  }
  const backend = registry.defaultBackend;
  log.info({ host: config.host, port, backend, device: registry.get(backend).device, mediaEngine: engine.name,
    maxSessions: config.maxSessions, capacityCores: config.capacityCores, advertise: cluster?.self.url },
    `rtc-scale listening on http://${config.host}:${port} (backend ${backend}, media engine ${engine.name})`);

  let stopping: Promise<void> | null = null;
  // Resolving it cuts a drain in progress short: a second signal means "now".
  let skipDrain: () => void = () => {};
  const skipped = new Promise<void>((resolve) => { skipDrain = resolve; });
  const shutdown = (options: { drain?: boolean; signal?: string } = {}): Promise<void> => {
    if (options.drain === false) skipDrain();
    stopping ??= (async () => {
      clearInterval(busyTimer);
      sessions.startDraining();
      metrics.draining.set(1);
      const drainMs = options.drain === false ? 0 : config.drainTimeoutS * 1000;
      const deadline = Date.now() + drainMs;
      log.info({ signal: options.signal, sessions: sessions.count, drainTimeoutS: drainMs / 1000 }, 'draining');
      const emptied = await Promise.race([sessions.waitUntilEmpty(drainMs), skipped.then(() => false)]);
      if (!emptied) log.warn({ sessions: sessions.count }, 'drain timeout reached (or drain skipped); closing the remaining sessions');
      sessions.closeAll('shutdown');
      // Requests in flight may finish until the drain deadline; then every connection is closed,
      // so a silent client, half-sent headers or a stalled upload cannot hold the exit.
      await Promise.all([closeHttp(app, deadline, skipped, log), metricsApp ? closeHttp(metricsApp, deadline, skipped, log) : undefined]);
      await registry.close();
      await deletionCost?.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { app, ctx, port, shutdown };
}

/** Close `app`, waiting for its requests in flight until `deadline` (or `skipped`), then dropping every connection. */
async function closeHttp(app: FastifyInstance, deadline: number, skipped: Promise<void>, log: Logger): Promise<void> {
  const closed = app.close();
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())); });
  const how = await Promise.race([closed.then(() => 'closed' as const), timeUp, skipped.then(() => 'skipped' as const)]);
  clearTimeout(timer);
  if (how !== 'closed') {
    log.warn({ how }, 'closing the HTTP connections still open');
    app.server.closeAllConnections();
  }
  await closed;
}
