/**
 * The native engine's running transport on werift (ICE, DTLS-SRTP, SCTP data channel, TURN,
 * bundle, rtcp-mux in TypeScript): it hands the client's RTP and RTCP to the engine, which does
 * the codec-level work itself (packetization, frame assembly, NACK/PLI policy), and sends the
 * engine's RTP, NACKs, PLIs and REMB. werift-answerer.ts and werift-offerer.ts negotiate the
 * connection; this class runs it.
 *
 * What werift keeps doing: SRTP, RTCP SR (sender) and RR (receiver), and NACK answers from its
 * 128-packet send history (RTX when negotiated), within the retransmission budget.
 * What it stops doing: its own NACK generator (a 5 ms timer per loss, and a sort that breaks at
 * sequence number wrap) and its transport-cc generator; the engine's receive buffer and
 * TransportFeedbackRecorder replace them.
 */
import {
  GenericNack, PictureLossIndication, ReceiverEstimatedMaxBitrate, RTCPeerConnection,
  RtcpPayloadSpecificFeedback, RtcpRrPacket, RtcpSrPacket, RtcpTransportLayerFeedback, RtpHeader, RtpPacket, TransportWideCC,
  type RTCRtpTransceiver, type RtcpPacket,
} from 'werift';
import type { PeerConnectionState } from '../../../engine.js';
import { TransportFeedbackRecorder } from '../congestion/transport-feedback.js';
import { Impairment, type ImpairmentCounters, type ImpairmentOptions } from './impairment.js';
import { countDrop } from './packet-drops.js';
import { RetransmitBudget, type RetransmitBudgetOptions } from './retransmit-budget.js';
import { SsrcFollower } from './ssrc-follower.js';
import type { RawMediaPaths, TransportEvents } from './transport-types.js';
import { weriftTransportFeedback } from './werift-feedback.js';
import { SDES_MID_URI } from './werift-peer-setup.js';

/** min = max = 0 (12 bits each, 10 ms units): render on arrival. */
const PLAYOUT_DELAY_ZERO = Buffer.from([0, 0, 0]);
/** RTCP payload-specific feedback format of FIR (RFC 5104); werift parses it but does not export the class. */
const FIR_FMT = 4;
/** How often transport-cc feedback goes to the client (libwebrtc's receivers: 50-250 ms by bitrate). */
const FEEDBACK_INTERVAL_MS = 50;
/** werift's send history: a NACK for a sequence number older than this many packets has nothing to resend. */
const WERIFT_SEND_HISTORY = 128;

/** How a negotiated connection is taken over. */
export interface AttachOptions {
  /** Negotiated id of the playout-delay extension (null: not negotiated, nothing written). */
  playoutDelayId: number | null;
  /** transport-cc was negotiated. */
  transportCc: boolean;
  retransmitBudget: RetransmitBudgetOptions;
  /** Follow a restarted client stream of this payload type (the answerer); null: do not. */
  follow: { payloadType: number; rtxPayloadType: number | null } | null;
  /** Test only: impair our outgoing RTP (transport-types.ts). */
  sendImpairment: ImpairmentOptions | null;
}

/** werift's per-receiver transport-cc generator, as the receiver calls it (a private field of RTCRtpReceiver). */
interface WeriftTwccReceiver {
  twccRunning: boolean;
  handleTWCC(transportSequenceNumber: number): void;
}

/** werift's RTP router, as the SSRC follower drives it (a private field of RTCPeerConnection). */
interface WeriftRouter {
  ssrcTable: Record<number, unknown>;
  extIdUriMap: Record<number, string>;
  routeRtp(packet: RtpPacket): void;
}

/** The receiver's SSRC maps (werift's private fields). */
interface WeriftReceiverMaps {
  trackBySSRC: Record<number, unknown>;
  ssrcByRtx: Record<number, number>;
  tracks: unknown[];
}

/** The sender's NACK path (werift's private fields). */
interface WeriftSenderNack {
  rtpCache: Array<RtpPacket | undefined>;
  handleRtcpPacket(packet: RtcpPacket): void;
}

/**
 * werift's own send-side estimator (a field of RTCRtpSender). The engine's delay estimator decides
 * the bitrate instead; werift's would keep a record of every packet sent, and it prunes by the keys
 * of the packet instead of its map, so up to 65,536 records a sender stay alive.
 */
interface WeriftSenderEstimator {
  sentInfos: Record<number, unknown>;
  rtpPacketSent(info: unknown): void;
  receiveTWCC(feedback: unknown): void;
}

/** The werift NACK generator's shape, to switch it off (a private field of RTCRtpReceiver). */
interface WeriftNackHandler {
  close(): void;
}

/** One negotiated peer connection with one video transceiver (sendrecv) and the client's data channel. */
export class WeriftTransport {
  private closed = false;
  private remoteSsrc: number | null = null;
  private lastRemoteSeq: number | null = null;
  /** transport-cc feedback on the client's packets (replaces werift's generator; transport-feedback.ts says why). */
  private readonly feedback = new TransportFeedbackRecorder();
  private feedbackTimer: NodeJS.Timeout | null = null;
  /** The client's NACKs are answered within this budget. */
  private readonly rtxBudget: RetransmitBudget;

  private constructor(
    private readonly pc: RTCPeerConnection,
    private readonly transceiver: RTCRtpTransceiver,
    /** Negotiated id of the playout-delay extension; null when not negotiated. */
    readonly playoutDelayId: number | null,
    /** Whether transport-wide sequence numbers go on our packets (transport-cc negotiated). */
    readonly transportCc: boolean,
    retransmitBudget: RetransmitBudgetOptions,
  ) {
    this.rtxBudget = new RetransmitBudget(retransmitBudget);
  }

  /**
   * Take over a negotiated connection (werift-answerer.ts, werift-offerer.ts): NACKs, transport-cc
   * and key frame requests go through the engine; `follow` routes a restarted client stream.
   */
  static attach(pc: RTCPeerConnection, transceiver: RTCRtpTransceiver, options: AttachOptions, events: TransportEvents): WeriftTransport {
    const t = new WeriftTransport(pc, transceiver, options.playoutDelayId, options.transportCc, options.retransmitBudget);
    t.wire(events);
    if (options.follow) t.followSsrcs(options.follow.payloadType, options.follow.rtxPayloadType);
    if (options.sendImpairment) t.impairSending(options.sendImpairment);
    return t;
  }

  private wire(events: TransportEvents): void {
    const { receiver, sender } = this.transceiver;
    // werift's own NACK generator is replaced by the engine's receive buffer
    (receiver as unknown as { nack: WeriftNackHandler }).nack.close();
    // werift's send-side estimator is not used (WeriftSenderEstimator says why): no records kept
    const estimator = (sender as unknown as { senderBWE: WeriftSenderEstimator }).senderBWE;
    estimator.rtpPacketSent = () => undefined;
    estimator.receiveTWCC = () => undefined;
    if (this.transportCc) this.takeOverTransportFeedback();
    this.budgetRetransmissions();
    sender.onRtcp.subscribe((packet: RtcpPacket) => this.onSenderRtcp(packet, events));
    // werift routes PLI/FIR by the RTCP sender SSRC first, and libwebrtc sends them from its own
    // media SSRC, which werift maps to our receiver: take key frame requests from there too
    receiver.onRtcp.subscribe((packet: RtcpPacket) => {
      if (packet instanceof RtcpPayloadSpecificFeedback) this.onSenderRtcp(packet, events);
      else if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof TransportWideCC) this.onSenderRtcp(packet, events);
    });
  }

  /**
   * werift answers every NACK from its send history with no limit: answer only the sequence numbers
   * it still holds, each once per NACK message, within the peer's retransmission budget.
   */
  private budgetRetransmissions(): void {
    const sender = this.transceiver.sender as unknown as WeriftSenderNack;
    const handle = sender.handleRtcpPacket.bind(sender);
    sender.handleRtcpPacket = (packet: RtcpPacket): void => {
      if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof GenericNack) {
        const now = performance.now();
        const asked = new Set(packet.feedback.lost);
        const answered: number[] = [];
        for (const seq of asked) {
          const cached = sender.rtpCache[seq % WERIFT_SEND_HISTORY];
          if (!cached || cached.header.sequenceNumber !== seq) {
            countDrop('rtx-unknown-seq');
          } else if (this.rtxBudget.allow(cached.payload.length + cached.header.serializeSize, now)) {
            answered.push(seq);
          } else {
            countDrop('rtx-budget');
          }
        }
        packet.feedback.lost = answered;
      }
      handle(packet);
    };
  }

  /**
   * Route a restarted client stream (new SSRCs, our MID) to our receiver, where werift would drop
   * it (ssrc-follower.ts); packets of SSRCs that are not the client's are dropped and counted.
   */
  private followSsrcs(payloadType: number, rtxPayloadType: number | null): void {
    const router = (this.pc as unknown as { router: WeriftRouter }).router;
    const receiver = this.transceiver.receiver as unknown as WeriftReceiverMaps;
    const follower = new SsrcFollower({ mid: this.transceiver.mid ?? null, payloadType, rtxPayloadType });
    const media = Object.keys(receiver.trackBySSRC).map(Number)[0] ?? null;
    const rtx = Object.keys(receiver.ssrcByRtx).map(Number)[0] ?? null;
    follower.announce(media, rtx);
    const route = router.routeRtp.bind(router);
    router.routeRtp = (packet: RtpPacket): void => {
      const { ssrc, payloadType: pt } = packet.header;
      if (router.ssrcTable[ssrc] !== undefined) {
        route(packet);
        return;
      }
      const midId = Object.entries(router.extIdUriMap).find(([, uri]) => uri === SDES_MID_URI)?.[0];
      const midExt = midId === undefined ? undefined : packet.header.extensions.find((e) => e.id === Number(midId));
      const before = { media: follower.mediaSsrc, rtx: follower.rtxSsrc };
      const decision = follower.route(ssrc, pt, midExt ? midExt.payload.toString('utf8') : null, performance.now());
      if (decision === 'media-restart') {
        const track = (before.media !== null ? receiver.trackBySSRC[before.media] : undefined) ?? receiver.tracks[0];
        if (track === undefined) {
          countDrop('ssrc-unknown');
          return;
        }
        if (before.media !== null) {
          delete router.ssrcTable[before.media];
          delete receiver.trackBySSRC[before.media];
        }
        router.ssrcTable[ssrc] = this.transceiver.receiver;
        receiver.trackBySSRC[ssrc] = track;
        for (const r of Object.keys(receiver.ssrcByRtx)) receiver.ssrcByRtx[Number(r)] = ssrc;
        route(packet);
      } else if (decision === 'rtx-restart' && follower.mediaSsrc !== null) {
        if (before.rtx !== null) {
          delete router.ssrcTable[before.rtx];
          delete receiver.ssrcByRtx[before.rtx];
        }
        router.ssrcTable[ssrc] = this.transceiver.receiver;
        receiver.ssrcByRtx[ssrc] = follower.mediaSsrc;
        route(packet);
      } else {
        countDrop(decision === 'too-soon' ? 'ssrc-switch-rate' : 'ssrc-unknown');
      }
    };
  }

  /**
   * werift calls its receiver's TWCC generator with every packet's transport sequence number (RTX
   * included); put the engine's recorder in its place and report every 50 ms.
   */
  private takeOverTransportFeedback(): void {
    const r = this.transceiver.receiver as unknown as { receiverTWCC?: WeriftTwccReceiver };
    if (r.receiverTWCC) r.receiverTWCC.twccRunning = false;
    r.receiverTWCC = {
      twccRunning: false,
      handleTWCC: (seq: number) => this.feedback.onPacket(seq, performance.now() * 1000),
    };
    this.feedbackTimer = setInterval(() => this.sendTransportFeedback(), FEEDBACK_INTERVAL_MS);
    this.feedbackTimer.unref();
  }

  private sendTransportFeedback(): void {
    if (this.closed || this.remoteSsrc === null) return;
    const messages = this.feedback.take();
    if (messages.length === 0) return;
    const { receiver } = this.transceiver;
    const ssrc = this.remoteSsrc;
    void receiver.dtlsTransport.sendRtcp(messages.map((m) => weriftTransportFeedback(m, receiver.rtcpSsrc, ssrc))).catch(() => undefined);
  }

  /** Sent-packet records werift's own estimator holds (tests: stays 0). */
  get weriftEstimatorRecords(): number {
    return Object.keys((this.transceiver.sender as unknown as { senderBWE: WeriftSenderEstimator }).senderBWE.sentInfos).length;
  }

  /** transport-cc packets recorded from the client (tests). */
  get transportFeedbackPackets(): number {
    return this.feedback.packets;
  }

  /** Counters of the test-only send impairment (null when off). */
  sendImpairmentCounters: ImpairmentCounters | null = null;

  /**
   * Wrap werift's SRTP send for RTP (media and RTX retransmissions alike): packets are already
   * in werift's send history, so the client's NACKs can be answered from it.
   */
  private impairSending(options: ImpairmentOptions): void {
    const dtls = this.transceiver.sender.dtlsTransport;
    const send = dtls.sendRtp.bind(dtls);
    const impairment = new Impairment<[Buffer, RtpHeader]>(options);
    this.sendImpairmentCounters = impairment.counters;
    dtls.sendRtp = async (payload: Buffer, header: RtpHeader): Promise<number> => {
      for (const [p, h] of impairment.apply([payload, header])) await send(p, h);
      return payload.length;
    };
  }

  /**
   * Test only: the paths a hostile peer takes (the tests of the server's media-level defences):
   * raw datagrams on the ICE connection, RTCP under valid SRTP, and a
   * rewrite of every outgoing RTP packet before SRTP (return [] to drop it, several to add some).
   */
  get rawPathsForTests(): RawMediaPaths {
    const dtls = this.transceiver.sender.dtlsTransport;
    const send = dtls.sendRtp.bind(dtls);
    return {
      sendDatagram: (data) => dtls.iceTransport.connection.send(data),
      lastReceived: () => (this.remoteSsrc === null || this.lastRemoteSeq === null ? null : { ssrc: this.remoteSsrc, sequenceNumber: this.lastRemoteSeq }),
      localSsrc: () => this.transceiver.sender.ssrc,
      sendRtcp: (packets) => dtls.sendRtcp(packets),
      sendRtcpBytes: (rtcp) => dtls.iceTransport.connection.send(dtls.srtcp.encrypt(rtcp)),
      rewriteRtp: (rewrite) => {
        dtls.sendRtp = async (payload: Buffer, header: RtpHeader): Promise<number> => {
          for (const [h, p] of rewrite(header, payload)) await send(p, h);
          return payload.length;
        };
      },
    };
  }

  /** RTP packets werift resent in answer to the client's NACKs. */
  async retransmittedPackets(): Promise<number> {
    const report = await this.transceiver.sender.getStats();
    for (const s of report.values()) {
      const r = s as { type?: string; retransmittedPacketsSent?: number };
      if (r.type === 'outbound-rtp' && typeof r.retransmittedPacketsSent === 'number') return r.retransmittedPacketsSent;
    }
    return 0;
  }

  /** An RTP packet of the client's video, as werift's track delivers it. */
  receiveRtp(rtp: RtpPacket, events: TransportEvents): void {
    if (this.closed) return;
    if (this.remoteSsrc !== null && rtp.header.ssrc !== this.remoteSsrc) events.onStreamRestart();
    this.remoteSsrc = rtp.header.ssrc;
    this.lastRemoteSeq = rtp.header.sequenceNumber;
    events.onRtp({ sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, marker: rtp.header.marker, payload: rtp.payload });
  }

  private onSenderRtcp(packet: RtcpPacket, events: TransportEvents): void {
    if (packet instanceof RtcpPayloadSpecificFeedback) {
      const fb = packet.feedback;
      if (fb instanceof PictureLossIndication) events.onKeyframeRequest('pli');
      else if (fb.count === FIR_FMT) events.onKeyframeRequest('fir');
      else if (fb instanceof ReceiverEstimatedMaxBitrate) events.onRemb(Number(fb.bitrate));
    } else if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof TransportWideCC) {
      events.onTransportFeedback(packet.feedback.packetResults.map((r) => ({ sequenceNumber: r.sequenceNumber, received: r.received, receivedAtMs: r.receivedAtMs })));
    } else if (packet instanceof RtcpRrPacket || packet instanceof RtcpSrPacket) {
      const mine = packet.reports.find((r) => r.ssrc === this.transceiver.sender.ssrc);
      if (mine) events.onReceiverReport(mine.fractionLost / 256);
    }
  }

  /** werift's view of the connection. */
  get connectionState(): PeerConnectionState {
    return this.pc.connectionState;
  }

  /** The negotiated direction lets us send video (false for a sendonly publisher's offer, such as OBS's). */
  get sends(): boolean {
    const d = this.transceiver.currentDirection;
    return d === 'sendrecv' || d === 'sendonly';
  }

  /** Packets given to sendRtp now go out: we send, and DTLS is up. */
  get isSending(): boolean {
    return !this.closed && this.sends && this.transceiver.sender.dtlsTransport?.state === 'connected';
  }

  /**
   * Send one RTP packet of our video stream (werift sets SSRC, payload type, mid/abs-send-time/
   * transport-cc). Returns the packet's transport-wide sequence number, or null without transport-cc.
   */
  sendRtp(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): number | null {
    if (this.closed) return null;
    const header = new RtpHeader({ sequenceNumber, timestamp, marker, payloadType: this.transceiver.sender.codec?.payloadType ?? 0 });
    if (this.playoutDelayId !== null) header.extensions = [{ id: this.playoutDelayId, payload: PLAYOUT_DELAY_ZERO }];
    const sender = this.transceiver.sender;
    if (sender.dtlsTransport?.state !== 'connected') return null;
    // werift numbers the packet synchronously, before its first await: read the number now (it
    // reads it after the send itself, when later packets of the burst have moved it on)
    void sender.sendRtp(new RtpPacket(header, payload)).catch(() => undefined);
    return this.transportCc ? sender.dtlsTransport.transportSequenceNumber : null;
  }

  /** Ask the client to resend these sequence numbers. */
  sendNack(lost: number[]): void {
    if (this.closed || this.remoteSsrc === null || lost.length === 0) return;
    const nack = new GenericNack({ senderSsrc: this.transceiver.receiver.rtcpSsrc, mediaSourceSsrc: this.remoteSsrc, lost });
    void this.transceiver.receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })]).catch(() => undefined);
  }

  /** Tell the client the most it should send us (REMB, bit/s): libwebrtc caps its send-side estimate with it. */
  sendRemb(bitsPerSecond: number): void {
    if (this.closed || this.remoteSsrc === null || !(bitsPerSecond > 0)) return;
    const bps = Math.round(bitsPerSecond);
    const exp = Math.max(0, Math.ceil(Math.log2(bps + 1)) - 18);
    const remb = new ReceiverEstimatedMaxBitrate({
      senderSsrc: this.transceiver.receiver.rtcpSsrc, mediaSsrc: 0, uniqueID: 'REMB', ssrcNum: 1,
      brExp: exp, brMantissa: Math.floor(bps / 2 ** exp), bitrate: BigInt(bps), ssrcFeedbacks: [this.remoteSsrc],
    });
    void this.transceiver.receiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch(() => undefined);
  }

  /** Ask the client for a key frame. */
  sendPli(): void {
    if (this.closed || this.remoteSsrc === null) return;
    void this.transceiver.receiver.sendRtcpPLI(this.remoteSsrc).catch(() => undefined);
  }

  /** Round-trip time from the client's receiver reports on our stream, ms (null: none yet). */
  async rttMs(): Promise<number | null> {
    const report = await this.transceiver.sender.getStats();
    for (const s of report.values()) {
      const rtt = (s as { type?: string; roundTripTime?: number }).roundTripTime;
      if ((s as { type?: string }).type === 'remote-inbound-rtp' && typeof rtt === 'number') return rtt * 1000;
    }
    return null;
  }

  /** Add a trickled remote candidate (WHIP PATCH); one werift cannot use is dropped silently, as RFC 9725 asks. */
  async addRemoteCandidate(candidate: string, mid: string | null): Promise<void> {
    if (this.closed) return;
    try {
      await this.pc.addIceCandidate(mid === null ? { candidate, sdpMLineIndex: 0 } : { candidate, sdpMid: mid });
    } catch {
      // Unresolvable address, unknown transport or mid: discarded.
    }
  }

  /** Close the connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.feedbackTimer) clearInterval(this.feedbackTimer);
    void this.pc.close().catch(() => undefined);
  }
}
