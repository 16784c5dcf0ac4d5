/**
 * The media engine seam. An engine turns a client's SDP offer into a peer that hands out decoded
 * I420 frames and takes processed ones back; the session layer above it (frame slot, processors,
 * control channel, watchdogs, metrics) does not know which engine runs underneath.
 *
 * Engines: `libwebrtc` (@roamhq/wrtc, engines/libwebrtc/) and `native` (a transport library plus
 * FFmpeg codecs owned by the project, engines/native/). Both run through one conformance suite.
 */

import type { EngineCodecInfo, IceServer, MediaEngineName, MediaStats } from '../protocol/index.js';
import type { I420Frame } from '../processing/types.js';

export type { I420Frame, IceServer };

export { MEDIA_ENGINE_NAMES, type MediaEngineName } from '../protocol/index.js';

/** What an engine needs to answer one offer. */
export interface PeerOptions {
  iceServers: IceServer[];
  /** UDP port range for host candidates; absent: any port. */
  portRange?: { min: number; max: number };
  /** Answer with the candidates gathered by then. */
  iceGatheringTimeoutMs: number;
}

export type PeerConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** The control data channel as the session sees it (text messages only). */
export interface ControlChannel {
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  readonly bufferedAmount: number;
  onmessage: ((data: string | ArrayBuffer) => void) | null;
  onclose: (() => void) | null;
  send(text: string): void;
  close(): void;
}

/** Callbacks from a peer to its session. Set before the answer is returned; called on the event loop. */
export interface PeerEvents {
  /** A decoded frame from the client. `frame.data` is valid during the call only (the engine decodes its next frame into it): copy what you keep. */
  onFrame(frame: I420Frame): void;
  /** The client opened its data channel. */
  onChannel(channel: ControlChannel): void;
  onConnectionState(state: PeerConnectionState): void;
  /**
   * The client sent a key frame whose header claims a picture over the pixel limit; the engine
   * dropped it undecoded (engines that read headers before decoding: native). Absent: ignored.
   */
  onOversizeFrame?(width: number, height: number): void;
}

/** Media-level statistics of one peer, for /sessions and the data channel: the protocol's MediaStats. */
export type PeerStats = MediaStats;

/** One client connection, answered and running. */
export interface MediaPeer {
  readonly connectionState: PeerConnectionState;
  /** Encode and send a processed frame. The engine copies what it keeps; `frame.data` may be reused. */
  sendFrame(frame: I420Frame): void;
  stats(): Promise<PeerStats>;
  /**
   * Add a remote ICE candidate that arrived after the offer (WHIP/WHEP trickle PATCH): `candidate`
   * is the `candidate:...` attribute value, `mid` the media section it belongs to (null: the first).
   * Resolves also when the candidate is unusable (RFC 9725 §4.3.2: discard it silently). Absent:
   * the engine takes candidates only in the offer, and trickle PATCH answers 405.
   */
  addRemoteCandidate?(candidate: string, mid: string | null): Promise<void>;
  /** Release everything (transport, codecs, buffers). Idempotent. */
  close(): void;
}

/** Callbacks from a viewer's peer (WHEP): it sends the publisher's output and receives nothing. */
export interface ViewerEvents {
  onConnectionState(state: PeerConnectionState): void;
}

/** What `answer` returns. */
export interface AnsweredPeer {
  sdp: string;
  peer: MediaPeer;
}

/** A codec an engine can run, and what runs it (for /backends): the protocol's EngineCodecInfo. */
export type EngineCodec = EngineCodecInfo;

/** A media engine: one per server process. */
export interface MediaEngine {
  readonly name: MediaEngineName;
  /** The codecs it negotiates, in its order of preference. */
  readonly codecs: readonly EngineCodec[];
  /**
   * What a WHEP viewer costs relative to a session, for measured-load admission: 1 where each
   * viewer runs its own encoder (libwebrtc), a small fraction where viewers share the session's
   * encode and cost only their packets (native; measured with `npm run bench:whep`).
   */
  readonly viewerCost: number;
  /**
   * Media packets the engine dropped before any parser and peer requests it refused (NACK answers
   * past the budget), by reason, over the process's life. Engines that cannot see packets omit it.
   */
  packetDrops?(): Record<string, number>;
  /** Answer an offer; rejects with NegotiationError when the offer cannot be answered. */
  answer(offerSdp: string, options: PeerOptions, events: PeerEvents): Promise<AnsweredPeer>;
  /**
   * Answer a viewer's recvonly offer (WHEP) with a peer that sends `publisher`'s processed output.
   * The returned peer's sendFrame is not used: its frames are the publisher's. It must stop sending
   * when the publisher closes (the session layer closes viewers first). The native engine sends one
   * encode per output codec to all its viewers (shared-encoder.ts); libwebrtc encodes once per
   * viewer, because each of its peer connections owns its encoder.
   */
  answerViewer(offerSdp: string, options: PeerOptions, publisher: MediaPeer, events: ViewerEvents): Promise<AnsweredPeer>;
}

/**
 * The engine refused the offer (it passed our own SDP checks). `malformed`: the engine could not
 * read it (400); `unanswerable`: it read it but cannot answer it, e.g. no codec it runs (422).
 */
export class NegotiationError extends Error {
  constructor(message: string, readonly kind: 'malformed' | 'unanswerable' = 'malformed') {
    super(message);
    this.name = 'NegotiationError';
  }
}
