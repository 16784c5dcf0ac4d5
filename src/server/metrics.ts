/**
 * Prometheus metrics (prefix rtc_). One registry per server instance so tests can run several
 * servers in one process; the names here are what monitoring/ rules and dashboards read.
 */
import client from 'prom-client';
import type { MediaMetrics } from '../media/media-metrics.js';

/** Fine buckets from 0.5 ms to 2 s, so a p95 anywhere between 1 ms and 1 s reads well. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
  0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2,
];

/** The metrics of one server. */
export class Metrics implements MediaMetrics {
  readonly registry = new client.Registry();

  readonly frameProcessingSeconds = new client.Histogram({
    name: 'rtc_frame_processing_seconds',
    help: 'Time to process one video frame on the backend (upload + compute + download)',
    labelNames: ['backend', 'filter'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly frameServerLatencySeconds = new client.Histogram({
    name: 'rtc_frame_server_latency_seconds',
    help: 'Time from a decoded frame arriving to its processed frame handed to the encoder (queue wait + processing)',
    labelNames: ['backend'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly frameQueueWaitSeconds = new client.Histogram({
    name: 'rtc_frame_queue_wait_seconds',
    help: 'Time a decoded frame waited in its session slot before processing started',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly processRequestSeconds = new client.Histogram({
    name: 'rtc_process_request_seconds',
    help: 'Total time of a /process request (workload generation excluded)',
    labelNames: ['backend', 'filter'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly sessionsActive = new client.Gauge({
    name: 'rtc_sessions_active',
    help: 'Live WebRTC processing sessions',
    registers: [this.registry],
  });

  readonly sessionsMax = new client.Gauge({
    name: 'rtc_sessions_max',
    help: 'Configured session limit (RTC_MAX_SESSIONS)',
    registers: [this.registry],
  });

  readonly sessionsStarted = new client.Counter({
    name: 'rtc_sessions_started_total',
    help: 'Sessions accepted',
    registers: [this.registry],
  });

  readonly sessionsRejected = new client.Counter({
    name: 'rtc_sessions_rejected_total',
    help: 'Offers refused, by reason: draining, capacity (RTC_MAX_SESSIONS), load (measured CPU), resources (file descriptors)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly sessionsClosed = new client.Counter({
    name: 'rtc_sessions_closed_total',
    help: 'Sessions ended, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly framesReceived = new client.Counter({
    name: 'rtc_frames_received_total',
    help: 'Decoded frames received from clients',
    registers: [this.registry],
  });

  readonly framesSent = new client.Counter({
    name: 'rtc_frames_sent_total',
    help: 'Processed frames sent back to clients',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  readonly framesDropped = new client.Counter({
    name: 'rtc_frames_dropped_total',
    help: 'Frames dropped because a newer frame arrived before processing started (latest frame wins), or processing failed',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly backendInfo = new client.Gauge({
    name: 'rtc_backend_info',
    help: 'The default processing backend of this server (value 1), with its device',
    labelNames: ['backend', 'device', 'requested'] as const,
    registers: [this.registry],
  });

  readonly gpuFallback = new client.Gauge({
    name: 'rtc_gpu_fallback',
    help: '1 when a GPU was expected (RTC_EXPECT_GPU or RTC_BACKEND=gpu) but the server processes on CPU',
    registers: [this.registry],
  });

  readonly gpuBusyRatio = new client.Gauge({
    name: 'rtc_gpu_busy_ratio',
    help: 'Fraction of wall time with GPU work in flight, over the last 5 s (sampled by the server, independent of scrapers)',
    registers: [this.registry],
  });

  readonly capacityUtilization = new client.Gauge({
    name: 'rtc_capacity_utilization_ratio',
    help: 'Measured load against capacity: 0 idle, 1 full (offers get 503 beyond it); the larger of CPU load / target and sessions / RTC_MAX_SESSIONS',
    registers: [this.registry],
  });

  readonly sessionsByCodec = new client.Gauge({
    name: 'rtc_sessions_by_codec',
    help: 'Live sessions by media engine, negotiated codec and the encoder that runs it (software or hardware)',
    labelNames: ['engine', 'codec', 'encoder'] as const,
    registers: [this.registry],
  });

  readonly faceInferenceSeconds = new client.Histogram({
    name: 'rtc_face_inference_seconds',
    help: 'Time of one face detector model run (one region of a frame) by execution provider (cpu, webgpu)',
    labelNames: ['provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly facesPerFrame = new client.Histogram({
    name: 'rtc_faces_per_frame',
    help: 'Faces covered (anonymize) or drawn (faces) in one frame',
    labelNames: ['filter'] as const,
    buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 32],
    registers: [this.registry],
  });

  readonly faceFramesCoveredWhole = new client.Counter({
    name: 'rtc_face_frames_covered_whole_total',
    help: 'Frames the anonymize filter covered whole because no face detection was fresh enough (fail-closed)',
    registers: [this.registry],
  });

  readonly faceDetectorRestarts = new client.Counter({
    name: 'rtc_face_detector_restarts_total',
    help: 'Face detectors restarted after their worker died, by execution provider (cpu, webgpu)',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  /** Where rtc_media_packets_dropped_total reads its counts (the media engine's, set once it exists). */
  mediaDropSource: () => Record<string, number> = () => ({});

  readonly mediaPacketsDropped: client.Counter<'reason'> = (() => {
    const metrics = this;
    return new client.Counter({
      name: 'rtc_media_packets_dropped_total',
      help: 'Media packets dropped before any parser, and peer requests refused (NACK answers past the budget, oversized frames), by reason',
      labelNames: ['reason'] as const,
      registers: [this.registry],
      collect(this: client.Counter<'reason'>) {
        this.reset();
        for (const [reason, n] of Object.entries(metrics.mediaDropSource())) this.inc({ reason }, n);
      },
    });
  })();

  readonly draining = new client.Gauge({
    name: 'rtc_draining',
    help: '1 while the server drains before shutdown',
    registers: [this.registry],
  });

  readonly clusterForwards = new client.Counter({
    name: 'rtc_cluster_forwards_total',
    help: 'Requests about a session another replica holds, forwarded there, by outcome (answered: the owner answered; owner_gone: 404; failed: 502; busy: 503)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly clusterForwardsReceived = new client.Counter({
    name: 'rtc_cluster_forwards_received_total',
    help: 'Requests forwarded to this replica by another one (with a valid hop header)',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry });
  }
}
