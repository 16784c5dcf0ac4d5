/**
 * What a server tells about one session: GET /sessions, GET/PATCH /sessions/:id, and the `ack`
 * and `stats` messages of the data channel all carry this object.
 */
import { isAnonymizeStyle, isBackendChoice, isBackendName, isFilterName, isMediaEngineName, MAX_ITERATIONS, type AnonymizeStyle, type BackendChoice, type BackendName, type FilterName, type MediaEngineName } from './names.js';

export const SESSION_STATES = ['connecting', 'live', 'closed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** Median and 95th percentile of a rolling window, ms; null before the first sample. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

/** Media-level figures of a session's connection (null: the engine does not know them, or not yet). */
export interface MediaStats {
  /** Negotiated video codec as a MIME type, e.g. "video/VP8". */
  codec: string | null;
  /** Where encoding and decoding run, e.g. "libvpx", "h264_nvenc", "libwebrtc". */
  encoder: string | null;
  decoder: string | null;
  /** Round trip to the client as the transport measures it, ms. */
  rttMs: number | null;
  /** Fraction of the client's packets lost on the way in, 0..1. */
  lossRatio: number | null;
  /** Outgoing video bitrate, kbit/s. */
  sendBitrateKbps: number | null;
  /** Median encode and decode time per frame, ms. */
  encodeMs: number | null;
  decodeMs: number | null;
}

/** The media fields, in the order docs/protocol.md lists them. */
export const MEDIA_STAT_FIELDS = ['codec', 'encoder', 'decoder', 'rttMs', 'lossRatio', 'sendBitrateKbps', 'encodeMs', 'decodeMs'] as const;

/** One session as the server reports it. */
export interface SessionInfo extends MediaStats {
  id: string;
  state: SessionState;
  /** ISO 8601 time the offer was accepted. */
  createdAt: string;
  filter: FilterName;
  iterations: number;
  /** How `anonymize` hides faces in this session (null: a server from before the parameter). */
  style: AnonymizeStyle | null;
  /** What the client asked for. */
  backend: BackendChoice;
  /** The backend that processed the latest frame (differs from `backend` after auto or a GPU fallback). */
  activeBackend: BackendName;
  /** The media engine that runs the session. */
  engine: MediaEngineName;
  /** Size of the latest received frame (0 before the first). */
  width: number;
  height: number;
  fpsIn: number;
  fpsOut: number;
  framesReceived: number;
  framesSent: number;
  /** Frames superseded in the latest-frame slot or failed in processing. */
  framesDropped: number;
  /** Time inside the processor per frame. */
  processingMs: Percentiles;
  /** Frame arrival to processed frame handed to the encoder. */
  serverLatencyMs: Percentiles;
  /** Face filters only (null otherwise): what the detector found and the fail-closed count. */
  faces: FaceStats | null;
}

/** A face-filter session's figures. */
export interface FaceStats {
  /** Faces covered (anonymize) or drawn (faces) in the latest frame. */
  lastFrame: number;
  /** Frames covered whole because no detection was fresh enough (fail-closed). */
  framesCoveredWhole: number;
  /** Age of the detection the latest frame used, ms (null: none yet). */
  detectionAgeMs: number | null;
}

/** Why a value is not a SessionInfo: the first field that is wrong. */
export class SessionInfoError extends Error {
  override readonly name = 'SessionInfoError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isNullableNonNegative = (v: unknown): v is number | null => v === null || isNonNegative(v);

function percentiles(v: unknown, field: string): Percentiles {
  if (!isRecord(v) || !isNullableNonNegative(v.p50) || !isNullableNonNegative(v.p95)) {
    throw new SessionInfoError(`${field} must be { p50, p95 } of non-negative numbers or null`);
  }
  return { p50: v.p50, p95: v.p95 };
}

/** A nullable media field: absent reads as null (a server that does not measure it yet). */
function nullableString(o: Record<string, unknown>, field: string): string | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new SessionInfoError(`${field} must be a string or null`);
  return v;
}

function nullableNumber(o: Record<string, unknown>, field: string, max = Number.POSITIVE_INFINITY): number | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (!isNonNegative(v) || v > max) throw new SessionInfoError(`${field} must be a number from 0 to ${max} or null`);
  return v;
}

/** The `faces` field: absent or null reads as null. */
function faceStats(v: unknown): FaceStats | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v) || !isCount(v.lastFrame) || !isCount(v.framesCoveredWhole) || !isNullableNonNegative(v.detectionAgeMs)) {
    throw new SessionInfoError('faces must be { lastFrame, framesCoveredWhole, detectionAgeMs } or null');
  }
  return { lastFrame: v.lastFrame, framesCoveredWhole: v.framesCoveredWhole, detectionAgeMs: v.detectionAgeMs };
}

/**
 * Validate an unknown value (parsed JSON) into a SessionInfo; throws SessionInfoError naming the
 * first bad field. Unknown fields are dropped. The media fields may be absent (read as null), and
 * an absent `engine` reads as `libwebrtc`: servers from before the field ran only that engine.
 */
export function parseSessionInfo(v: unknown): SessionInfo {
  if (!isRecord(v)) throw new SessionInfoError('session must be a JSON object');
  const o = v;
  if (typeof o.id !== 'string' || o.id === '') throw new SessionInfoError('id must be a non-empty string');
  if (o.state !== 'connecting' && o.state !== 'live' && o.state !== 'closed') throw new SessionInfoError('state must be connecting, live or closed');
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) throw new SessionInfoError('createdAt must be an ISO 8601 time');
  if (!isFilterName(o.filter)) throw new SessionInfoError('filter must be a filter name');
  if (!isCount(o.iterations) || o.iterations < 1 || o.iterations > MAX_ITERATIONS) {
    throw new SessionInfoError(`iterations must be an integer from 1 to ${MAX_ITERATIONS}`);
  }
  const style = o.style === undefined || o.style === null ? null : o.style;
  if (style !== null && !isAnonymizeStyle(style)) throw new SessionInfoError('style must be blur, pixelate or null');
  if (!isBackendChoice(o.backend)) throw new SessionInfoError('backend must be auto, gpu or cpu');
  if (!isBackendName(o.activeBackend)) throw new SessionInfoError('activeBackend must be gpu or cpu');
  const engine = o.engine === undefined ? 'libwebrtc' : o.engine;
  if (!isMediaEngineName(engine)) throw new SessionInfoError('engine must be native or libwebrtc');
  const count = (f: string): number => {
    const n = o[f];
    if (!isCount(n)) throw new SessionInfoError(`${f} must be a non-negative integer`);
    return n;
  };
  const rate = (f: string): number => {
    const n = o[f];
    if (!isNonNegative(n)) throw new SessionInfoError(`${f} must be a non-negative number`);
    return n;
  };
  return {
    id: o.id,
    state: o.state,
    createdAt: o.createdAt,
    filter: o.filter,
    iterations: o.iterations,
    style,
    backend: o.backend,
    activeBackend: o.activeBackend,
    engine,
    width: count('width'),
    height: count('height'),
    fpsIn: rate('fpsIn'),
    fpsOut: rate('fpsOut'),
    framesReceived: count('framesReceived'),
    framesSent: count('framesSent'),
    framesDropped: count('framesDropped'),
    processingMs: percentiles(o.processingMs, 'processingMs'),
    serverLatencyMs: percentiles(o.serverLatencyMs, 'serverLatencyMs'),
    codec: nullableString(o, 'codec'),
    encoder: nullableString(o, 'encoder'),
    decoder: nullableString(o, 'decoder'),
    rttMs: nullableNumber(o, 'rttMs'),
    lossRatio: nullableNumber(o, 'lossRatio', 1),
    sendBitrateKbps: nullableNumber(o, 'sendBitrateKbps'),
    encodeMs: nullableNumber(o, 'encodeMs'),
    decodeMs: nullableNumber(o, 'decodeMs'),
    faces: faceStats(o.faces),
  };
}
