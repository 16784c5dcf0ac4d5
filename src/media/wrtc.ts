/**
 * The one typed door to @roamhq/wrtc (libwebrtc for Node). Its bundled type files do not compile
 * under strict TypeScript, so this file declares the small part of the API the project uses and
 * loads the CommonJS module once. Nothing else in the project imports @roamhq/wrtc.
 */
import { createRequire } from 'node:module';

export type RTCSdpType = 'offer' | 'answer' | 'pranswer' | 'rollback';
export type RTCPeerConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
export type RTCIceGatheringState = 'new' | 'gathering' | 'complete';

export interface RTCSessionDescriptionInit {
  type: RTCSdpType;
  sdp: string;
}

export interface RTCIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface RTCConfiguration {
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: 'all' | 'relay';
  bundlePolicy?: 'balanced' | 'max-compat' | 'max-bundle';
  /** Non-standard (node-webrtc): UDP port range for host candidates. */
  portRange?: { min: number; max: number };
}

export interface MediaStreamTrack {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  readonly readyState: 'live' | 'ended';
  enabled: boolean;
  stop(): void;
}

export interface MediaStream {
  readonly id: string;
  getTracks(): MediaStreamTrack[];
}

export interface RTCRtpSender {
  readonly track: MediaStreamTrack | null;
  replaceTrack(track: MediaStreamTrack | null): Promise<void>;
}

export interface RTCRtpReceiver {
  readonly track: MediaStreamTrack;
}

export interface RTCRtpTransceiver {
  readonly mid: string | null;
  readonly sender: RTCRtpSender;
  readonly receiver: RTCRtpReceiver;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  stop(): void;
}

export interface RTCTrackEvent {
  readonly track: MediaStreamTrack;
  readonly receiver: RTCRtpReceiver;
  readonly transceiver: RTCRtpTransceiver;
  readonly streams: MediaStream[];
}

export interface RTCDataChannel {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  readonly bufferedAmount: number;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(): void;
}

/** A remote candidate for addIceCandidate (RFCIceCandidateInit). */
export interface RTCIceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** A local candidate as onicecandidate reports it. */
export interface RTCIceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
}

/** One entry of getStats(); the fields differ by `type`, so the rest is read defensively. */
export interface RTCStats {
  readonly id: string;
  readonly type: string;
  readonly timestamp: number;
  readonly [key: string]: unknown;
}

export interface RTCStatsReport {
  forEach(cb: (stats: RTCStats) => void): void;
  values(): IterableIterator<RTCStats>;
}

export interface RTCPeerConnection {
  readonly connectionState: RTCPeerConnectionState;
  readonly iceConnectionState: string;
  readonly iceGatheringState: RTCIceGatheringState;
  readonly signalingState: string;
  readonly localDescription: RTCSessionDescriptionInit | null;
  readonly remoteDescription: RTCSessionDescriptionInit | null;
  onconnectionstatechange: (() => void) | null;
  onicegatheringstatechange: (() => void) | null;
  ontrack: ((event: RTCTrackEvent) => void) | null;
  ondatachannel: ((event: { channel: RTCDataChannel }) => void) | null;
  onicecandidate: ((event: { candidate: RTCIceCandidate | null }) => void) | null;
  addIceCandidate(candidate: RTCIceCandidateInit): Promise<void>;
  addEventListener(type: string, listener: (event: unknown) => void): void;
  removeEventListener(type: string, listener: (event: unknown) => void): void;
  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): RTCRtpSender;
  addTransceiver(trackOrKind: MediaStreamTrack | 'video' | 'audio', init?: { direction?: RTCRtpTransceiver['direction']; streams?: MediaStream[] }): RTCRtpTransceiver;
  getTransceivers(): RTCRtpTransceiver[];
  createDataChannel(label: string, init?: { ordered?: boolean; maxRetransmits?: number }): RTCDataChannel;
  createOffer(): Promise<RTCSessionDescriptionInit>;
  createAnswer(): Promise<RTCSessionDescriptionInit>;
  setLocalDescription(desc?: RTCSessionDescriptionInit): Promise<void>;
  setRemoteDescription(desc: RTCSessionDescriptionInit): Promise<void>;
  getStats(): Promise<RTCStatsReport>;
  close(): void;
}

/** A decoded I420 frame as libwebrtc hands it out (and takes it back). */
export interface RTCVideoFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface RTCVideoSink {
  readonly stopped: boolean;
  onframe: ((event: { frame: RTCVideoFrame }) => void) | null;
  stop(): void;
}

export interface RTCVideoSource {
  createTrack(): MediaStreamTrack;
  onFrame(frame: RTCVideoFrame): void;
}

interface WrtcModule {
  RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection;
  MediaStream: new (tracks?: MediaStreamTrack[]) => MediaStream;
  nonstandard: {
    RTCVideoSink: new (track: MediaStreamTrack) => RTCVideoSink;
    RTCVideoSource: new (init?: { isScreencast?: boolean; needsDenoising?: boolean }) => RTCVideoSource;
    i420ToRgba(i420: RTCVideoFrame, rgba: RTCVideoFrame): void;
    rgbaToI420(rgba: RTCVideoFrame, i420: RTCVideoFrame): void;
  };
}

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc') as WrtcModule;

export const RTCPeerConnection = wrtc.RTCPeerConnection;
export const MediaStream = wrtc.MediaStream;
export const RTCVideoSink = wrtc.nonstandard.RTCVideoSink;
export const RTCVideoSource = wrtc.nonstandard.RTCVideoSource;
export const i420ToRgba = wrtc.nonstandard.i420ToRgba;
export const rgbaToI420 = wrtc.nonstandard.rgbaToI420;

/** Resolve once ICE gathering is complete (no trickle: the SDP then carries every candidate). */
export function waitForIceGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    // Gathering can stall on a dead interface; what was gathered by then is usually enough.
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}
