/** The bodies of the HTTP API that clients read and send (docs/protocol.md; errors in errors.ts). */
import type { AnonymizeStyle, BackendChoice, BackendName, FilterName, MediaEngineName } from './names.js';
import type { SessionInfo } from './session-info.js';

/** One backend in GET /backends. */
export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /** Adapter or CPU description; null when unavailable. */
  device: string | null;
  /** Why it is unavailable; null when available. */
  reason: string | null;
  isDefault: boolean;
}

/** A codec the media engine negotiates, and what runs it. */
export interface EngineCodecInfo {
  /** e.g. "video/VP8". */
  mimeType: string;
  encoder: string;
  decoder: string;
  /** True when the encoder or decoder is a hardware one (NVENC/NVDEC). */
  hardware: boolean;
}

/** GET /backends. */
export interface BackendsResponse {
  default: BackendName;
  /** RTC_BACKEND as configured: auto, gpu or cpu. */
  requested: BackendChoice;
  backends: BackendInfo[];
  /** The media engine and its codecs, in its order of preference. */
  media: { engine: MediaEngineName; codecs: EngineCodecInfo[] };
}

/** The server's measured-load estimate (admission, /healthz, rtc_capacity_utilization_ratio). */
export interface CapacityInfo {
  /** 0 idle, 1 full (offers get 503 beyond it); above 1 when overloaded. */
  utilization: number;
  /** Cores the server's process burns now (smoothed over a few seconds). */
  processCores: number;
  /** Fraction of the host's CPU busy, null when not counted (RTC_CAPACITY_HOST_CPU off). */
  hostBusy: number | null;
  /** Cores one more session is estimated to cost. */
  sessionCores: number;
  /** RTC_CAPACITY_CORES and RTC_CAPACITY_TARGET. */
  cores: number;
  target: number;
  /** Live and negotiating sessions, and the hard cap RTC_MAX_SESSIONS. */
  sessions: number;
  maxSessions: number;
}

/** GET /healthz. */
export interface HealthResponse {
  status: 'ok';
  backend: BackendName;
  device: string | null;
  mediaEngine: MediaEngineName;
  sessions: number;
  maxSessions: number;
  capacity: CapacityInfo;
  draining: boolean;
}

/** Where the time of one /process call went, ms. */
export interface ProcessTimings {
  upload: number;
  compute: number;
  download: number;
  total: number;
}

/** GET /process. */
export interface ProcessResult {
  backend: BackendName;
  device: string | null;
  filter: FilterName;
  width: number;
  height: number;
  iterations: number;
  timings: ProcessTimings;
  /** SHA-256 of the output, hex. */
  checksum: string;
}

/** ICE server for the client's peer connection (the W3C RTCIceServer shape). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** POST /offer body (aiortc-compatible: `video_transform` is accepted as the filter too). */
export interface OfferRequest {
  sdp: string;
  type: 'offer';
  filter?: FilterName;
  iterations?: number;
  /** How `anonymize` hides faces (default: the server's RTC_FACES_STYLE). */
  style?: AnonymizeStyle;
  backend?: BackendChoice;
}

/** POST /offer answer. */
export interface OfferAnswer {
  sdp: string;
  type: 'answer';
  sessionId: string;
  iceServers?: IceServer[];
}

/** GET /ice-servers. */
export interface IceServersResponse {
  iceServers: IceServer[];
}

/** One WHEP viewer in GET /sessions. */
export interface ViewerSummary {
  id: string;
  /** The session whose processed output it watches. */
  sessionId: string;
  state: 'connecting' | 'live' | 'closed';
  createdAt: string;
  codec: string | null;
  sendBitrateKbps: number | null;
  rttMs: number | null;
}

/** GET /sessions. */
export interface SessionsResponse {
  sessions: SessionInfo[];
  /** WHEP viewers (absent from servers before WHEP). */
  viewers?: ViewerSummary[];
}
