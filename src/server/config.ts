/**
 * All configuration, read once from environment variables, validated at start.
 * A bad value is a ConfigError naming the variable; main.ts prints it and exits 1.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { PodIdentity } from '../cluster/pod-deletion-cost.js';
import { AdvertiseUrlError, parseAdvertiseUrl, type ReplicaAddress } from '../cluster/session-ids.js';
import { MEDIA_SETTINGS, type NumericSetting } from '../media/media-settings.js';
import { BACKEND_CHOICES, MEDIA_ENGINE_NAMES, type MediaEngineName } from '../protocol/index.js';
import { ANONYMIZE_STYLES, type AnonymizeStyle } from '../protocol/index.js';

export type BackendSetting = (typeof BACKEND_CHOICES)[number];
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** Interface to listen on. Loopback by default; the container image sets 0.0.0.0. */
  host: string;
  port: number;
  backend: BackendSetting;
  /** Use software WebGPU adapters (lavapipe, SwiftShader) as if they were GPUs. */
  gpuAllowSoftware: boolean;
  /** Dawn backend options passed to webgpu's create(), e.g. "backend=opengles". */
  gpuDawnOptions: string[];
  /** Set where the deployment asked for a GPU: running on CPU then raises rtc_gpu_fallback. */
  expectGpu: boolean;
  cpuWorkers: number;
  maxSessions: number;
  drainTimeoutS: number;
  idleTimeoutS: number;
  /** Largest width x height that /process and sessions accept. */
  maxPixels: number;
  maxDimension: number;
  bodyLimitBytes: number;
  logLevel: LogLevel;
  /** UDP port range for ICE host candidates (0/0: any). Fixed ranges help firewalls and hostNetwork. */
  icePortMin: number;
  icePortMax: number;
  /** STUN/TURN URLs handed to clients (with TURN REST credentials), comma separated. The server's own connections gather host candidates only: clients reach it directly or through their relay. */
  turnUrls: string[];
  /** TURN REST API shared secret: when set, answers carry short-lived credentials. */
  turnSecret: string;
  turnTtlS: number;
  /** Static bearer tokens accepted on the protected routes (empty: no static tokens). */
  authTokens: string[];
  /** HS256 secret for signed, expiring JWTs accepted on the protected routes (empty: none). */
  authJwtSecret: string;
  /** Separate port for /metrics (0: /metrics is served on the main port). */
  metricsPort: number;
  /** Origins allowed by CORS (empty: CORS off). "*" allows any. */
  corsOrigins: string[];
  /** /process calls running at once, and waiting beyond those, before 503. */
  processConcurrency: number;
  processQueue: number;
  /** Largest width x height x iterations one /process call may ask for. */
  processMaxWork: number;
  /** Requests a minute per client address on /process, /offer, /sessions (0: no limit). */
  rateLimitPerMin: number;
  /** A live session whose frames stop for this long is closed (the client vanished). */
  stallTimeoutS: number;
  /** An answered offer whose connection is not up after this long releases its place. */
  connectTimeoutS: number;
  /** Which media engine runs the sessions (RTC_MEDIA_ENGINE). */
  mediaEngine: MediaEngineName;
  /** Native engine: outgoing video bitrate bounds and start, kbit/s (follows REMB / transport-cc feedback within them). */
  videoBitrateMinKbps: number;
  videoBitrateMaxKbps: number;
  videoBitrateStartKbps: number;
  /** Native engine: the most a client is asked to send (REMB), in bits per pixel at 30 fps, within the bitrate bounds. */
  videoInputBitsPerPixel: number;
  /** Native engine: longest time between key frames, ms. */
  keyframeIntervalMs: number;
  /** Native engine: libvpx cpu-used for VP8 (higher is faster; 15-16 lose quality). */
  vp8CpuUsed: number;
  /** Native engine: use NVENC/NVDEC where a CUDA device has them. */
  hardwareCodecs: boolean;
  /** Native engine: answer H264 whenever the offer has it (RTC_PREFER_H264). */
  preferH264: boolean;
  /** Native engine: negotiate transport-cc (RTC_TRANSPORT_CC). */
  transportCc: boolean;
  /** Native engine: an incoming frame not complete after this long is dropped and a key frame asked for, ms. */
  frameTimeoutMs: number;
  /** Native engine: the most one client may make the server resend in answer to its NACKs, kbit/s. */
  retransmitBudgetKbps: number;
  /** Cores admission may fill: the cgroup CPU quota where there is one, else the machine's cores. */
  capacityCores: number;
  /** Fraction of capacityCores the sessions may use before offers get 503. */
  capacityTarget: number;
  /** Cores a session is assumed to cost before one was measured. */
  capacitySessionCores: number;
  /** Count other processes' CPU on the host against capacity (a laptop with the browser on it). */
  capacityHostCpu: boolean;
  /** The pod this server runs in, inside Kubernetes (null elsewhere): its deletion cost follows the session count. */
  pod: PodIdentity | null;
  /** Most bytes of /process request bodies buffered at once; an upload past it gets 503 before it is read. */
  processMaxBufferedBytes: number;
  /** Longest a client may take to send a whole request, headers and body (408 after). */
  requestTimeoutS: number;
  /** Static tokens with the operator scope: they see and control every session (a subset of, or in addition to, RTC_AUTH_TOKENS). */
  authOperatorTokens: string[];
  /** A JWT whose "scope" claim (space separated) holds this value has the operator scope. */
  authOperatorScope: string;
  /** Longest a JWT may still be valid for (exp - now); longer-lived ones are refused. */
  authJwtMaxTtlS: number;
  /** Face filters: how anonymize hides a face unless a session or request chooses its own `style` (RTC_FACES_STYLE). */
  facesStyle: AnonymizeStyle;
  /** Face filters: lowest detector score that counts as a face. */
  facesMinScore: number;
  /** Face filters in sessions: detection pyramid levels past the whole frame that every detection looks at (each finds faces half as small, at more model runs). */
  facesTiles: number;
  /** Face filters in sessions: deepest pyramid level reached; levels past facesTiles are swept a few regions a detection. */
  facesSweepTiles: number;
  /** Face filters in sessions: most model runs per detection (the facesTiles levels always run; the rest go to tracked faces and the sweep). */
  facesRuns: number;
  /** Pyramid levels for POST /process, all in one detection (one image: no frame rate to keep). */
  facesProcessTiles: number;
  /** Face filters: newest detection older than this (ms, frame to frame) -> anonymize covers the whole frame. */
  facesMaxAgeMs: number;
  /** Face filters: how long a frame waits for the detection started on it, ms. */
  facesWaitMs: number;
  /** Face filters: detections a lost face's box stays covered for. */
  facesHoldDetections: number;
  /** Face filters: padding added to each side of a face box, as a fraction of its size. */
  facesPad: number;
  /** Face filters: least time between two detection starts of one session, ms (0: every frame). */
  facesDetectIntervalMs: number;
  /** Face filters: session units an anonymize/faces session counts for in admission. */
  facesSessionCost: number;
  /** Seconds an idle keep-alive connection stays open: longer than any load balancer in front keeps its backend connections. */
  keepAliveTimeoutS: number;
  /** Running as one of several replicas (RTC_CLUSTER_SECRET and RTC_ADVERTISE_URL set), or null: a single server. */
  cluster: ClusterConfig | null;
}

/** How a replica finds and reaches the others' sessions (docs/deployment.md#several-replicas). */
export interface ClusterConfig {
  /** Shared by every replica: authenticates the owner named in session ids and the hop header of forwards. */
  secret: string;
  /** Where the other replicas reach this one (the pod IP). */
  advertise: ReplicaAddress;
  /** A forward whose owner does not accept the connection within this is answered 404 (the owner is gone). */
  connectTimeoutMs: number;
  /** A forward whose owner has not answered within this is answered 502. */
  forwardTimeoutS: number;
  /** Forwards in flight at once from this replica; past it 503. */
  maxForwards: number;
}

/** A configuration value that cannot be used. */
export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected 1/0, true/false, yes/no or on/off, got ${JSON.stringify(raw)}`);
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = raw.trim() as T;
  if (!allowed.includes(v)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function decimal(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** A numeric setting declared in a settings table (name, default, range). */
function numeric(env: Env, s: NumericSetting): number {
  return s.kind === 'integer' ? int(env, s.env, s.default, s.min, s.max) : decimal(env, s.env, s.default, s.min, s.max);
}

/** CPU quota of this container in cores (cgroup v2 cpu.max), or null when unlimited. */
function cgroupCores(): number | null {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota === undefined || quota === 'max' || period === undefined) return null;
    const cores = Number(quota) / Number(period);
    return Number.isFinite(cores) && cores > 0 ? cores : null;
  } catch {
    return null;
  }
}

/** This pod's identity from the downward API and the service environment Kubernetes gives every pod. */
function podIdentity(env: Env): PodIdentity | null {
  const podName = env.POD_NAME?.trim();
  const namespace = env.POD_NAMESPACE?.trim();
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  if (!podName || !namespace || !host) return null;
  const port = int(env, 'KUBERNETES_SERVICE_PORT', 443, 1, 65535);
  return { podName, namespace, apiBase: `https://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** The cluster settings: both RTC_CLUSTER_SECRET and RTC_ADVERTISE_URL, or neither. */
function clusterConfig(env: Env): ClusterConfig | null {
  const secret = env.RTC_CLUSTER_SECRET ?? '';
  const url = (env.RTC_ADVERTISE_URL ?? '').trim();
  if (secret === '' && url === '') return null;
  if (secret === '') throw new ConfigError('RTC_CLUSTER_SECRET', 'must be set with RTC_ADVERTISE_URL');
  if (url === '') throw new ConfigError('RTC_ADVERTISE_URL', 'must be set with RTC_CLUSTER_SECRET (http://POD_IP:PORT)');
  if (secret.length < 32) throw new ConfigError('RTC_CLUSTER_SECRET', 'must be at least 32 characters');
  let advertise: ReplicaAddress;
  try {
    advertise = parseAdvertiseUrl(url);
  } catch (err) {
    if (err instanceof AdvertiseUrlError) throw new ConfigError('RTC_ADVERTISE_URL', err.message);
    throw err;
  }
  return {
    secret,
    advertise,
    connectTimeoutMs: int(env, 'RTC_CLUSTER_CONNECT_TIMEOUT_MS', 2000, 50, 30_000),
    forwardTimeoutS: int(env, 'RTC_CLUSTER_FORWARD_TIMEOUT_S', 20, 1, 300),
    maxForwards: int(env, 'RTC_CLUSTER_MAX_FORWARDS', 256, 1, 100_000),
  };
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Read and validate the configuration from `env` (process.env by default). */
export function loadConfig(env: Env = process.env): Config {
  const cores = Math.max(1, os.availableParallelism());
  const host = (env.RTC_HOST ?? '127.0.0.1').trim();
  if (host === '') throw new ConfigError('RTC_HOST', 'must not be empty');
  const turnUrls = list(env, 'RTC_TURN_URLS');
  for (const u of turnUrls) {
    if (!/^(stun|stuns|turn|turns):/.test(u)) throw new ConfigError('RTC_TURN_URLS', `not a stun:/turn: URL: ${JSON.stringify(u)}`);
  }
  const cfg: Config = {
    host,
    port: int(env, 'PORT', 8080, 0, 65535),
    backend: oneOf(env, 'RTC_BACKEND', 'auto', BACKEND_CHOICES),
    gpuAllowSoftware: bool(env, 'RTC_GPU_ALLOW_SOFTWARE', false),
    gpuDawnOptions: list(env, 'RTC_GPU_DAWN_OPTIONS'),
    expectGpu: bool(env, 'RTC_EXPECT_GPU', false),
    cpuWorkers: int(env, 'RTC_CPU_WORKERS', cores, 1, 256),
    maxSessions: int(env, 'RTC_MAX_SESSIONS', Math.max(8, cores * 8), 0, 10_000),
    drainTimeoutS: int(env, 'RTC_DRAIN_TIMEOUT_S', 30, 0, 86_400),
    idleTimeoutS: int(env, 'RTC_IDLE_TIMEOUT_S', 20, 1, 86_400),
    maxPixels: int(env, 'RTC_MAX_PIXELS', 3840 * 2160, 1, 7680 * 4320),
    maxDimension: int(env, 'RTC_MAX_DIMENSION', 7680, 1, 16_384),
    bodyLimitBytes: int(env, 'RTC_BODY_LIMIT_BYTES', 40 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    logLevel: oneOf(env, 'RTC_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    icePortMin: int(env, 'RTC_ICE_PORT_MIN', 0, 0, 65535),
    icePortMax: int(env, 'RTC_ICE_PORT_MAX', 0, 0, 65535),
    turnUrls,
    turnSecret: env.RTC_TURN_SECRET ?? '',
    turnTtlS: int(env, 'RTC_TURN_TTL_S', 600, 60, 86_400),
    authTokens: list(env, 'RTC_AUTH_TOKENS'),
    authJwtSecret: env.RTC_AUTH_JWT_SECRET ?? '',
    metricsPort: int(env, 'RTC_METRICS_PORT', 0, 0, 65535),
    corsOrigins: list(env, 'RTC_CORS_ORIGINS'),
    processConcurrency: int(env, 'RTC_PROCESS_CONCURRENCY', cores, 1, 1024),
    processQueue: int(env, 'RTC_PROCESS_QUEUE', 8, 0, 10_000),
    processMaxWork: int(env, 'RTC_PROCESS_MAX_WORK', 3840 * 2160 * 10, 1, 2 ** 40),
    rateLimitPerMin: int(env, 'RTC_RATE_LIMIT_PER_MIN', 600, 0, 1_000_000),
    stallTimeoutS: int(env, 'RTC_STALL_TIMEOUT_S', 5, 1, 3600),
    connectTimeoutS: int(env, 'RTC_CONNECT_TIMEOUT_S', 10, 1, 3600),
    mediaEngine: oneOf(env, 'RTC_MEDIA_ENGINE', 'native', MEDIA_ENGINE_NAMES),
    // the media settings: name, default and range declared once, in src/media/media-settings.ts
    videoBitrateMinKbps: numeric(env, MEDIA_SETTINGS.videoBitrateMinKbps),
    videoBitrateMaxKbps: numeric(env, MEDIA_SETTINGS.videoBitrateMaxKbps),
    videoBitrateStartKbps: numeric(env, MEDIA_SETTINGS.videoBitrateStartKbps),
    videoInputBitsPerPixel: numeric(env, MEDIA_SETTINGS.videoInputBitsPerPixel),
    keyframeIntervalMs: numeric(env, MEDIA_SETTINGS.keyframeIntervalMs),
    vp8CpuUsed: numeric(env, MEDIA_SETTINGS.vp8CpuUsed),
    hardwareCodecs: bool(env, MEDIA_SETTINGS.hardwareCodecs.env, MEDIA_SETTINGS.hardwareCodecs.default),
    preferH264: bool(env, MEDIA_SETTINGS.preferH264.env, MEDIA_SETTINGS.preferH264.default),
    transportCc: bool(env, MEDIA_SETTINGS.transportCc.env, MEDIA_SETTINGS.transportCc.default),
    frameTimeoutMs: numeric(env, MEDIA_SETTINGS.frameTimeoutMs),
    retransmitBudgetKbps: numeric(env, MEDIA_SETTINGS.retransmitBudgetKbps),
    capacityCores: decimal(env, 'RTC_CAPACITY_CORES', Math.min(cores, cgroupCores() ?? cores), 0.01, 1024),
    capacityTarget: decimal(env, 'RTC_CAPACITY_TARGET', 0.8, 0.05, 1),
    capacitySessionCores: decimal(env, 'RTC_CAPACITY_SESSION_CORES', 0.25, 0.001, 64),
    capacityHostCpu: bool(env, 'RTC_CAPACITY_HOST_CPU', false),
    pod: podIdentity(env),
    processMaxBufferedBytes: 0,
    requestTimeoutS: int(env, 'RTC_REQUEST_TIMEOUT_S', 60, 1, 3600),
    authOperatorTokens: list(env, 'RTC_AUTH_OPERATOR_TOKENS'),
    authOperatorScope: (env.RTC_AUTH_OPERATOR_SCOPE ?? 'rtc:operator').trim(),
    authJwtMaxTtlS: int(env, 'RTC_AUTH_JWT_MAX_TTL_S', 86_400, 60, 366 * 86_400),
    facesStyle: oneOf(env, 'RTC_FACES_STYLE', 'blur', ANONYMIZE_STYLES),
    facesMinScore: decimal(env, 'RTC_FACES_MIN_SCORE', 0.5, 0.05, 0.99),
    facesTiles: int(env, 'RTC_FACES_TILES', 1, 0, 3),
    facesSweepTiles: int(env, 'RTC_FACES_SWEEP_TILES', 3, 0, 3),
    facesRuns: int(env, 'RTC_FACES_RUNS', 10, 1, 128),
    facesProcessTiles: int(env, 'RTC_FACES_PROCESS_TILES', 3, 0, 3),
    facesMaxAgeMs: int(env, 'RTC_FACES_MAX_AGE_MS', 250, 10, 5000),
    facesWaitMs: int(env, 'RTC_FACES_WAIT_MS', 20, 0, 1000),
    facesHoldDetections: int(env, 'RTC_FACES_HOLD', 5, 0, 100),
    facesPad: decimal(env, 'RTC_FACES_PAD', 0.3, 0, 2),
    facesDetectIntervalMs: int(env, 'RTC_FACES_DETECT_INTERVAL_MS', 100, 0, 10_000),
    facesSessionCost: decimal(env, 'RTC_FACES_SESSION_COST', 2, 1, 50),
    keepAliveTimeoutS: int(env, 'RTC_KEEP_ALIVE_TIMEOUT_S', 620, 1, 3600),
    cluster: clusterConfig(env),
  };
  // Three bodies of the largest size by default: enough for the limiter's running calls on a small pod.
  cfg.processMaxBufferedBytes = int(env, 'RTC_PROCESS_MAX_BUFFERED_BYTES', 3 * cfg.bodyLimitBytes, 1024, 2 ** 40);
  if (cfg.processMaxBufferedBytes < cfg.bodyLimitBytes) {
    throw new ConfigError('RTC_PROCESS_MAX_BUFFERED_BYTES', `must be at least RTC_BODY_LIMIT_BYTES (${cfg.bodyLimitBytes})`);
  }
  for (const t of cfg.authOperatorTokens) {
    if (t.length < 16) throw new ConfigError('RTC_AUTH_OPERATOR_TOKENS', 'each token must be at least 16 characters');
  }
  if (cfg.authOperatorScope === '') throw new ConfigError('RTC_AUTH_OPERATOR_SCOPE', 'must not be empty');
  for (const t of cfg.authTokens) {
    if (t.length < 16) throw new ConfigError('RTC_AUTH_TOKENS', 'each token must be at least 16 characters');
  }
  if (cfg.authJwtSecret !== '' && cfg.authJwtSecret.length < 32) {
    throw new ConfigError('RTC_AUTH_JWT_SECRET', 'must be at least 32 characters');
  }
  if (cfg.metricsPort !== 0 && cfg.metricsPort === cfg.port) {
    throw new ConfigError('RTC_METRICS_PORT', `must differ from PORT (${cfg.port})`);
  }
  if (!(cfg.videoBitrateMinKbps <= cfg.videoBitrateStartKbps && cfg.videoBitrateStartKbps <= cfg.videoBitrateMaxKbps)) {
    throw new ConfigError('RTC_VIDEO_BITRATE_START_KBPS',
      `must lie within RTC_VIDEO_BITRATE_MIN_KBPS (${cfg.videoBitrateMinKbps}) and RTC_VIDEO_BITRATE_MAX_KBPS (${cfg.videoBitrateMaxKbps})`);
  }
  if (cfg.icePortMin > cfg.icePortMax) {
    throw new ConfigError('RTC_ICE_PORT_MIN', `must not exceed RTC_ICE_PORT_MAX (${cfg.icePortMax})`);
  }
  return cfg;
}
