/** The bodies of the HTTP API that clients read and send (docs/protocol.md; errors in errors.ts). */
import type { BackendChoice, BackendName, FilterName } from './names.js';
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

/** GET /backends. */
export interface BackendsResponse {
  default: BackendName;
  /** RTC_BACKEND as configured: auto, gpu or cpu. */
  requested: BackendChoice;
  backends: BackendInfo[];
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
