/**
 * The seam between a load-generator session and the WebRTC stack that carries its video. The
 * session (stamps, latency, freezes, frame counts, server stats, the report) is one piece of code;
 * the stack below it is one of two client kinds, chosen with --engine:
 *
 * - `libwebrtc`: @roamhq/wrtc, libwebrtc's own jitter buffer and pacing, i.e. what a browser does;
 * - `native`: the server's native engine as an offerer (werift + FFmpeg), decoding each frame on
 *   arrival, at a fraction of the CPU, so one box drives more sessions.
 *
 * The kinds implement this file's types; client-media-factory.ts picks one and imports it on first
 * use, so a run loads only the stack it uses.
 */

import type { MediaStats } from '../protocol/index.js';

/** Client kinds, for --engine. */
export const CLIENT_ENGINES = ['libwebrtc', 'native'] as const;
export type ClientEngine = (typeof CLIENT_ENGINES)[number];

/**
 * The video codec a client offers first, for --codec. `vp8` offers VP8 alone; `h264` (native
 * clients only: the @roamhq/wrtc build has no H264) offers H264 packetization-mode 1, constrained
 * baseline, first and VP8 after it, as a browser that prefers H264 does.
 */
export const CLIENT_CODECS = ['vp8', 'h264'] as const;
export type ClientCodec = (typeof CLIENT_CODECS)[number];

/** What the media side tells its session; called on the event loop. */
export interface ClientMediaEvents {
  /** A decoded frame of the processed video; `data` is I420, only valid during the call. */
  onFrame(data: Uint8Array, width: number, height: number): void;
  /** A message on the control data channel (the server's `stats`, among others). */
  onControlMessage(data: unknown): void;
  /** The connection failed; the session ends with an error. */
  onFailed(reason: string): void;
}

/** The client side's own view of its media (native clients; libwebrtc clients report none). */
export interface ClientSideStats {
  /** Codec, encoder/decoder, rtt, loss, bitrate, encode/decode ms, as of the last second. */
  media: MediaStats | null;
  /** Monotonic counters of the stack (frames encoded/decoded, PLIs, NACKs, frames given up...). */
  counters: Record<string, number>;
}

/** One client's WebRTC stack: offer, answer, send frames, close. */
export interface ClientMedia {
  /** The offer SDP with candidates gathered (sendrecv video in the codecs of --codec + a "control" data channel). */
  createOffer(): Promise<string>;
  /** Apply the server's answer. */
  acceptAnswer(sdp: string): Promise<void>;
  /** Send one I420 frame; `data` may be reused by the caller after the call. */
  sendFrame(width: number, height: number, data: Uint8Array): void;
  /** Whether the control channel is open (then closing it ends the server session). */
  readonly controlChannelOpen: boolean;
  /** The stack's own figures, when it has them (read once, as the session ends). */
  sideStats?(): ClientSideStats | null;
  /** Release everything. Idempotent. */
  close(): void;
}

/** How a session wants its stack set up. */
export interface ClientMediaOptions {
  /** Open the "control" data channel (WHIP clients such as OBS open none; libwebrtc kind only: the native client always opens it). */
  dataChannel: boolean;
  /** The codec offered first (default vp8; h264 needs the native kind). */
  codec?: ClientCodec;
}
