/**
 * One destination of the native engine's encoded video: a transport that sends, with its own RTP
 * sequence numbers, its own bandwidth estimate (loss reports, transport-cc, REMB) and its own
 * decodability state. A publisher's stream back to itself is one; each WHEP viewer is another.
 * Several streams can share one encoder (shared-encoder.ts): the encoded frame is packetized
 * once and the payloads go to every stream.
 *
 * No clock of its own: the driver passes the time (`nowMs`, performance.now()'s clock).
 */
import { BitrateController, type BitrateBounds } from '../congestion/bitrate-controller.js';
import { DelayBasedEstimator } from '../congestion/delay-estimator.js';
import type { FeedbackResult, RtpSender } from '../stack-types.js';

/** Counters of one send stream (for tests and logs). */
export interface SendStreamCounters {
  framesSent: number;
  rtpPacketsSent: number;
  /** Delta frames not sent because this stream had not had a key frame yet (a viewer that just joined). */
  framesSkippedBeforeKeyframe: number;
  keyframeRequestsReceived: number;
  rembReceived: number;
  receiverReports: number;
  transportFeedback: number;
}

/** One outgoing RTP video stream. */
export class RtpSendStream {
  readonly counters: SendStreamCounters = {
    framesSent: 0, rtpPacketsSent: 0, framesSkippedBeforeKeyframe: 0, keyframeRequestsReceived: 0,
    rembReceived: 0, receiverReports: 0, transportFeedback: 0,
  };
  readonly bitrate: BitrateController;
  /** Present when transport-cc is negotiated. */
  private readonly delayEstimator: DelayBasedEstimator | null;
  private sequenceNumber = Math.floor(Math.random() * 0x10000);
  /** Until a key frame went out on a connected transport, delta frames would be undecodable. */
  private needsKeyframe = true;
  /** Set by the encoder that feeds this stream: ask it for a key frame. */
  onKeyframeNeeded: (() => void) | null = null;

  constructor(private readonly transport: RtpSender, bounds: BitrateBounds) {
    this.bitrate = new BitrateController(bounds, false);
    this.delayEstimator = transport.transportCc ? new DelayBasedEstimator(bounds.startKbps, bounds.minKbps, bounds.maxKbps) : null;
  }

  /** Whether packets sent now would go out (the transport is up and sends). */
  get ready(): boolean {
    return this.transport.isSending;
  }

  /** Whether this stream still waits for a key frame (it skips delta frames until then). */
  get waitingForKeyframe(): boolean {
    return this.needsKeyframe;
  }

  /**
   * Send one encoded frame's payloads (packetized once for every stream). Returns false when the
   * frame was not sent: the transport is not up yet, or it is a delta frame before this stream's
   * first key frame.
   */
  sendFrame(payloads: readonly Buffer[], timestamp: number, keyframe: boolean, nowMs: number): boolean {
    if (!this.transport.isSending) {
      this.needsKeyframe = true;
      return false;
    }
    if (this.needsKeyframe && !keyframe) {
      this.counters.framesSkippedBeforeKeyframe++;
      return false;
    }
    this.needsKeyframe = false;
    payloads.forEach((payload, k) => {
      const twcc = this.transport.sendRtp(payload, this.sequenceNumber, timestamp, k === payloads.length - 1);
      // RTP header, extensions and SRTP tag on top of the payload: ~50 bytes
      if (twcc !== null) this.delayEstimator?.onPacketSent(twcc, payload.length + 50, nowMs);
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
      this.counters.rtpPacketsSent++;
    });
    this.counters.framesSent++;
    return true;
  }

  /** The receiver asked for a key frame (PLI or FIR). */
  requestKeyframe(): void {
    this.counters.keyframeRequestsReceived++;
    this.onKeyframeNeeded?.();
  }

  /** The transport came up: everything before was dropped, so the receiver needs a key frame now. */
  connected(): void {
    this.needsKeyframe = true;
    this.onKeyframeNeeded?.();
  }

  /** REMB from the receiver. */
  onRemb(bps: number): void {
    this.counters.rembReceived++;
    this.bitrate.onRemb(bps);
  }

  /** transport-cc feedback on this stream's packets. */
  onTransportFeedback(results: FeedbackResult[], nowMs: number): void {
    if (!this.delayEstimator) return;
    this.counters.transportFeedback++;
    this.bitrate.onDelayEstimate(this.delayEstimator.onFeedback(results, nowMs));
  }

  /** The receiver's report on this stream: fraction lost (0..1). */
  onReceiverReport(fractionLost: number): void {
    this.counters.receiverReports++;
    this.bitrate.onReceiverReport(fractionLost);
  }
}
