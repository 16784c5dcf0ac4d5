/**
 * The native media engine: werift transport, FFmpeg codecs (node-av), and the project's own RTP
 * processing (packetizers, receive buffer with NACK/PLI, playout-delay 0). See docs/media-engines.md.
 */
import {
  NegotiationError, type AnsweredPeer, type EngineCodec, type MediaEngine, type MediaPeer, type PeerEvents, type PeerOptions, type ViewerEvents,
} from '../../engine.js';
import { DEFAULT_BITRATE, validateBitrate, type BitrateBounds } from './congestion/bitrate-controller.js';
import { validateImpairment, type ImpairmentOptions } from './transport/impairment.js';
import { probeCodecs, softwareCodecNames, type CodecProbe } from './codecs/ffmpeg.js';
import { DEFAULT_MAX_PIXELS, EncoderLimitError, NativePeer, type PeerSettings } from './native-peer.js';
import { NativeViewerPeer } from './native-viewer-peer.js';
import { checkSetting, MEDIA_SETTINGS } from '../../media-settings.js';
import { selectVideoCodec, supportedVideoCodecs } from './codecs/offer-codecs.js';
import type { SelectedCodec } from './stack-types.js';
import { RtpSendStream } from './send/rtp-send-stream.js';
import { encoderKey } from './send/shared-encoder.js';
import { dropCounts } from './transport/packet-drops.js';
import { DEFAULT_RETRANSMIT_BUDGET } from './transport/retransmit-budget.js';
import type { TransportConfig } from './transport/transport-types.js';
import { answerOffer } from './transport/werift-answerer.js';
import { defaultHostAddresses } from './transport/werift-peer-setup.js';
import { warmUpWerift } from './transport/werift-warm-up.js';

export type { ImpairmentOptions } from './transport/impairment.js';
export type { BitrateBounds } from './congestion/bitrate-controller.js';
export { NativePeer } from './native-peer.js';
export { NativeViewerPeer } from './native-viewer-peer.js';

/** Options of the native engine (the server fills them from src/server/config.ts). */
export interface NativeEngineOptions {
  /** Outgoing video bitrate bounds, kbit/s. */
  bitrate?: BitrateBounds;
  /** The most a client is asked to send (REMB), bits per pixel at 30 fps within `bitrate` (default and range: media-settings.ts). */
  inputBitsPerPixel?: number;
  /** Longest time between key frames, ms (media-settings.ts). */
  keyframeIntervalMs?: number;
  /** libvpx cpu-used for VP8 (media-settings.ts). */
  vp8CpuUsed?: number;
  /** Use NVENC/NVDEC when a CUDA device is present (media-settings.ts). */
  hardware?: boolean;
  /** Answer H264 whenever the offer has it, else the client's first codec (media-settings.ts). */
  preferH264?: boolean;
  /** Give up an incomplete incoming frame after this long and ask for a key frame, ms (media-settings.ts). */
  frameTimeoutMs?: number;
  /** Extra host addresses for ICE; default: loopback only when the machine has no other interface. */
  additionalHostAddresses?: string[];
  /** Negotiate transport-cc, so the client's send-side estimator runs on the engine's feedback (media-settings.ts). */
  transportCc?: boolean;
  /** Where a closing peer writes its counters (one line per session, for diagnosis). */
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** Test only: seeded drop/reorder/duplicate of incoming RTP. Never set in production. */
  impairment?: ImpairmentOptions | null;
  /** Test only: the same on outgoing RTP (after werift's send history, so NACKs are answerable). */
  sendImpairment?: ImpairmentOptions | null;
  /** The most one client may make the server resend (NACK answers), kbit/s (media-settings.ts; and 300 packets/s). */
  retransmitBudgetKbps?: number;
  /** Frames whose header (VP8 key frame, H264 SPS) claims more pixels are dropped undecoded (default 3840x2160). */
  maxPixels?: number;
}

/**
 * A viewer's share of a session's cost: while it takes a codec the session already encodes, it adds
 * sending (SRTP, RTCP, its own bandwidth estimate) and no codec work. Measured with
 * `npm run bench:whep` (docs/measurements/2026-12-01-whep-viewers.md); rounded up, since a viewer
 * in a new codec costs an encode.
 */
const NATIVE_VIEWER_COST = 0.15;

const HARDWARE_CODECS = new Set(['h264_nvenc', 'h264_cuvid', 'vp8_cuvid']);

function engineCodecs(probes: CodecProbe[]): EngineCodec[] {
  return probes.map((p) => ({
    mimeType: `video/${p.codec}`, encoder: p.encoder, decoder: p.decoder,
    hardware: HARDWARE_CODECS.has(p.encoder) || HARDWARE_CODECS.has(p.decoder),
  }));
}

/** Create the native engine after opening each codec once, so `codecs` names what really runs (NVENC/NVDEC or software). */
export async function createProbedNativeEngine(options: NativeEngineOptions = {}): Promise<MediaEngine> {
  const probed = await probeCodecs(options.hardware ?? true);
  // The server's first session otherwise pays werift's cold paths: measured 503-530 ms from a WHIP
  // POST to the first frame at a WHEP viewer for a server's first session, against 379-385 warm.
  await warmUpWerift({ name: 'VP8', payloadType: 96, rtxPayloadType: 97, fmtp: null, profileLevelId: null });
  return createNativeEngine(options, probed);
}

/** Create the native engine; throws RangeError on invalid options. `codecs` defaults to the software names. */
export function createNativeEngine(options: NativeEngineOptions = {}, probed: CodecProbe[] = softwareCodecNames()): MediaEngine {
  const settings: PeerSettings = {
    bitrate: validateBitrate(options.bitrate ?? DEFAULT_BITRATE),
    inputBitsPerPixel: checkSetting('videoInputBitsPerPixel', options.inputBitsPerPixel ?? MEDIA_SETTINGS.videoInputBitsPerPixel.default),
    keyframeIntervalMs: checkSetting('keyframeIntervalMs', options.keyframeIntervalMs ?? MEDIA_SETTINGS.keyframeIntervalMs.default),
    vp8CpuUsed: checkSetting('vp8CpuUsed', options.vp8CpuUsed ?? MEDIA_SETTINGS.vp8CpuUsed.default),
    hardware: options.hardware ?? MEDIA_SETTINGS.hardwareCodecs.default,
    frameTimeoutMs: checkSetting('frameTimeoutMs', options.frameTimeoutMs ?? MEDIA_SETTINGS.frameTimeoutMs.default),
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
    impairment: options.impairment ? validateImpairment(options.impairment) : null,
  };
  if (!(Number.isInteger(settings.maxPixels) && settings.maxPixels >= 1)) throw new RangeError('maxPixels must be a positive integer');
  const preferred = (options.preferH264 ?? MEDIA_SETTINGS.preferH264.default) ? 'H264' : null;
  const hostAddresses = options.additionalHostAddresses ?? defaultHostAddresses();
  const transportCc = options.transportCc ?? MEDIA_SETTINGS.transportCc.default;
  const sendImpairment = options.sendImpairment ? validateImpairment(options.sendImpairment) : null;
  const rtxKbps = checkSetting('retransmitBudgetKbps', options.retransmitBudgetKbps ?? MEDIA_SETTINGS.retransmitBudgetKbps.default);
  const retransmitBudget = { bytesPerSecond: rtxKbps * 1000 / 8, packetsPerSecond: DEFAULT_RETRANSMIT_BUDGET.packetsPerSecond };

  const transportConfig = (codec: SelectedCodec, peerOptions: PeerOptions): TransportConfig => ({
    iceServers: peerOptions.iceServers,
    ...(peerOptions.portRange ? { portRange: peerOptions.portRange } : {}),
    iceGatheringTimeoutMs: peerOptions.iceGatheringTimeoutMs,
    codec,
    additionalHostAddresses: hostAddresses,
    transportCc,
    sendImpairment,
    retransmitBudget,
  });

  const codecs = engineCodecs(probed);
  return {
    name: 'native',
    viewerCost: NATIVE_VIEWER_COST,
    codecs,
    packetDrops: dropCounts,
    async answer(offerSdp: string, peerOptions: PeerOptions, events: PeerEvents): Promise<AnsweredPeer> {
      const codec = selectVideoCodec(offerSdp, preferred);
      if (!codec) throw new NegotiationError('the offer has no video codec the native engine supports (VP8, or H264 with packetization-mode=1 and a baseline profile)', 'unanswerable');
      let peer: NativePeer | null = null;
      let answered;
      try {
        answered = await answerOffer(offerSdp, transportConfig(codec, peerOptions), {
          onRtp: (p) => peer?.onRtp(p),
          onKeyframeRequest: () => peer?.onKeyframeRequest(),
          onRemb: (bps) => peer?.onRemb(bps),
          onReceiverReport: (f) => peer?.onReceiverReport(f),
          onTransportFeedback: (r) => peer?.onTransportFeedback(r),
          onChannel: (ch) => events.onChannel(ch),
          onConnectionState: (s) => peer?.onConnectionState(s),
          onStreamRestart: () => peer?.onStreamRestart(),
        });
      } catch (err) {
        throw new NegotiationError(`native engine cannot answer: ${(err as Error).message}`);
      }
      peer = new NativePeer(answered.transport, codec, events, settings, options.log ?? null);
      return { sdp: answered.sdp, peer };
    },

    /**
     * A WHEP viewer: its codec is one the publisher already encodes when the viewer offers it (the
     * encode is shared), else the viewer's first codec (a new encoder, at most three a session).
     */
    async answerViewer(offerSdp: string, peerOptions: PeerOptions, publisher: MediaPeer, events: ViewerEvents): Promise<AnsweredPeer> {
      if (!(publisher instanceof NativePeer)) throw new TypeError('the publisher is not a native peer');
      const offered = supportedVideoCodecs(offerSdp, preferred);
      const running = publisher.encoderKeys;
      const codec = offered.find((c) => running.includes(encoderKey(c))) ?? offered[0];
      if (!codec) throw new NegotiationError('the offer has no video codec the native engine sends (VP8, or H264 with packetization-mode=1 and a baseline profile)', 'unanswerable');
      let stream: RtpSendStream | null = null;
      let viewer: NativeViewerPeer | null = null;
      let answered;
      try {
        answered = await answerOffer(offerSdp, transportConfig(codec, peerOptions), {
          onRtp: () => undefined,
          onKeyframeRequest: () => stream?.requestKeyframe(),
          onRemb: (bps) => stream?.onRemb(bps),
          onReceiverReport: (f) => stream?.onReceiverReport(f),
          onTransportFeedback: (r) => stream?.onTransportFeedback(r, performance.now()),
          // a viewer has no control channel
          onChannel: (ch) => ch.close(),
          onConnectionState: (s) => viewer?.onConnectionState(s),
          onStreamRestart: () => undefined,
        });
      } catch (err) {
        throw new NegotiationError(`native engine cannot answer: ${(err as Error).message}`);
      }
      stream = new RtpSendStream(answered.transport, settings.bitrate);
      try {
        viewer = new NativeViewerPeer(answered.transport, codec, stream, publisher, events);
      } catch (err) {
        answered.transport.close();
        const why = err instanceof EncoderLimitError ? err.message : `the session cannot take a viewer: ${(err as Error).message}`;
        throw new NegotiationError(why, 'unanswerable');
      }
      return { sdp: answered.sdp, peer: viewer };
    },
  };
}
