/**
 * The one typed door to werift (ICE, DTLS-SRTP, SCTP data channel, TURN, bundle, rtcp-mux in
 * TypeScript). It answers one offer with the single video codec the engine chose, gathers all
 * candidates before answering (no trickle), and hands RTP and RTCP to the engine, which does the
 * codec-level work itself (packetization, frame assembly, NACK/PLI policy).
 *
 * What werift keeps doing: SRTP, RTCP SR (sender) and RR (receiver), transport-cc feedback for the
 * client's packets, and NACK answers from its 128-packet send history (RTX when negotiated).
 * What it stops doing: its own NACK generator (a 5 ms timer per loss, and a sort that breaks at
 * sequence number wrap); the engine's receive buffer sends NACKs instead.
 */
import { networkInterfaces } from 'node:os';
import {
  GenericNack, PictureLossIndication, ReceiverEstimatedMaxBitrate, RTCPeerConnection,
  RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RtcpPayloadSpecificFeedback, RtcpRrPacket,
  RtcpSrPacket, RtcpTransportLayerFeedback, RtpHeader, RtpPacket, TransportWideCC, useAbsSendTime, useFIR, useNACK, usePLI,
  useREMB, useSdesMid, useTransportWideCC, useTWCC,
  type RTCDataChannel, type RTCRtpTransceiver, type RtcpPacket,
} from 'werift';
import type { ControlChannel, IceServer, PeerConnectionState } from '../../engine.js';
import { MEDIA_SETTINGS } from '../../media-settings.js';
import { offeredDtlsSetups } from '../../sdp.js';
import type { FeedbackResult } from './delay-estimator.js';
import { Impairment, type ImpairmentCounters, type ImpairmentOptions } from './impairment.js';
import type { IncomingRtp } from './receive-buffer.js';
import type { SelectedCodec } from './offer-codecs.js';
import { TransportFeedbackRecorder } from './transport-feedback.js';
import { weriftTransportFeedback } from './transport/werift-feedback.js';
import { countDrop } from './transport/packet-drops.js';
import { DEFAULT_RTX_PACKETS_PER_SECOND, RetransmitBudget, type RetransmitBudgetOptions } from './transport/retransmit-budget.js';
import { checkProtectedDatagram, isMediaDatagram } from './transport/rtp-framing.js';
import { SsrcFollower } from './transport/ssrc-follower.js';
import { installWeriftFixes } from './transport/werift-fixes.js';

/** The playout-delay header extension (libwebrtc): min/max delay the receiver should render with. */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
/** min = max = 0 (12 bits each, 10 ms units): render on arrival. */
const PLAYOUT_DELAY_ZERO = Buffer.from([0, 0, 0]);
/** The transport-wide sequence number header extension (transport-cc). */
const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
/** RTCP payload-specific feedback format of FIR (RFC 5104); werift parses it but does not export the class. */
const FIR_FMT = 4;
/** How often transport-cc feedback goes to the client (libwebrtc's receivers: 50-250 ms by bitrate). */
const FEEDBACK_INTERVAL_MS = 50;
/** The MID header extension (RFC 8843): how a restarted stream with new SSRCs is recognised. */
const SDES_MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
/** werift's send history: a NACK for a sequence number older than this many packets has nothing to resend. */
const WERIFT_SEND_HISTORY = 128;

/** werift's per-receiver transport-cc generator, as the receiver calls it (a private field of RTCRtpReceiver). */
interface WeriftTwccReceiver {
  twccRunning: boolean;
  handleTWCC(transportSequenceNumber: number): void;
}

export interface TransportConfig {
  iceServers: IceServer[];
  portRange?: { min: number; max: number };
  iceGatheringTimeoutMs: number;
  codec: SelectedCodec;
  /** Host addresses to offer besides the interfaces werift finds (it skips loopback). */
  additionalHostAddresses: string[];
  /** Negotiate transport-cc (the client's send-side estimator then runs on werift's feedback). */
  transportCc: boolean;
  /** Test only: impair our outgoing RTP after werift's send history, so the client's NACKs/PLIs are exercised. */
  sendImpairment: ImpairmentOptions | null;
  /** The most the client may make us resend (NACK answers). */
  retransmitBudget: RetransmitBudgetOptions;
}

/** Feedback the client sends about the video we send it. */
export interface TransportEvents {
  onRtp(packet: IncomingRtp): void;
  onKeyframeRequest(kind: 'pli' | 'fir'): void;
  onRemb(bitsPerSecond: number): void;
  /** A receiver report on our stream: fraction of our packets the client lost (0..1). */
  onReceiverReport(fractionLost: number): void;
  /** A transport-cc feedback message on the packets we sent. */
  onTransportFeedback(results: FeedbackResult[]): void;
  onChannel(channel: ControlChannel): void;
  onConnectionState(state: PeerConnectionState): void;
  /** The client restarted its stream (new SSRC, same MID): a new sequence space starts at its next packet. */
  onStreamRestart(): void;
}

/** Loopback only when the machine has no other interface (a test's network namespace), as libwebrtc does. */
export function defaultHostAddresses(): string[] {
  const all = Object.values(networkInterfaces()).flat().filter((i) => i !== undefined);
  return all.some((i) => !i.internal) ? [] : ['127.0.0.1'];
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

/** The ICE connection's data event (werift's Event: `execute` is an own, writable property). */
interface WeriftDataEvent {
  execute(data: Buffer): void;
}

/**
 * Check every RTP/RTCP datagram off the ICE transports of `pc` before werift's SRTP reads it
 * (rtp-framing.ts): what fails is dropped and counted. DTLS and STUN pass untouched.
 */
function guardMediaDatagrams(pc: RTCPeerConnection): void {
  for (const ice of pc.iceTransports) {
    const event = ice.connection.onData as unknown as WeriftDataEvent;
    const pass = event.execute;
    event.execute = (data: Buffer): void => {
      if (isMediaDatagram(data)) {
        const bad = checkProtectedDatagram(data);
        if (bad !== null) {
          countDrop(bad);
          return;
        }
      }
      pass(data);
    };
  }
}

/** The werift NACK generator's shape, to switch it off (a private field of RTCRtpReceiver). */
interface WeriftNackHandler {
  close(): void;
}

/** The data channel as the session sees it. */
class WeriftControlChannel implements ControlChannel {
  onmessage: ((data: string | ArrayBuffer) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(private readonly ch: RTCDataChannel) {
    ch.onMessage.subscribe((data) => {
      if (typeof data === 'string') this.onmessage?.(data);
      else this.onmessage?.(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    });
    ch.stateChanged.subscribe((state) => {
      if (state === 'closed') this.onclose?.();
    });
  }

  get readyState(): ControlChannel['readyState'] {
    return this.ch.readyState;
  }

  get bufferedAmount(): number {
    return this.ch.bufferedAmount;
  }

  send(text: string): void {
    this.ch.send(text);
  }

  close(): void {
    this.ch.close();
  }
}

/** One answered peer connection with one video transceiver (sendrecv) and the client's data channel. */
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
    /** Negotiated id of the playout-delay extension; null when the offer lacked it. */
    readonly playoutDelayId: number | null,
    /** Whether transport-wide sequence numbers go on our packets (transport-cc negotiated). */
    readonly transportCc: boolean,
    retransmitBudget: RetransmitBudgetOptions,
  ) {
    this.rtxBudget = new RetransmitBudget(retransmitBudget);
  }

  /** Answer `offerSdp`; resolves once ICE gathering completed (or timed out) with the full answer. */
  static async answer(offerSdp: string, config: TransportConfig, events: TransportEvents): Promise<{ sdp: string; transport: WeriftTransport }> {
    installWeriftFixes();
    const c = config.codec;
    const feedback = [useNACK(), usePLI(), useFIR(), useREMB(), ...(config.transportCc ? [useTWCC()] : [])];
    const codecs = [new RTCRtpCodecParameters({
      mimeType: `video/${c.name}`, clockRate: 90000, payloadType: c.payloadType, rtcpFeedback: feedback,
      ...(c.fmtp ? { parameters: c.fmtp } : {}),
    })];
    if (c.rtxPayloadType !== null) {
      codecs.push(new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: c.rtxPayloadType, parameters: `apt=${c.payloadType}` }));
    }
    const pc = new RTCPeerConnection({
      codecs: { video: codecs, audio: [] },
      headerExtensions: {
        video: [useSdesMid(), useAbsSendTime(), ...(config.transportCc ? [useTransportWideCC()] : []), new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI })],
        audio: [],
      },
      iceServers: config.iceServers.map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username } : {}), ...(s.credential ? { credential: s.credential } : {}) })),
      ...(config.portRange ? { icePortRange: [config.portRange.min, config.portRange.max] as [number, number] } : {}),
      iceAdditionalHostAddresses: config.additionalHostAddresses,
      iceUseIpv4: true,
      iceUseIpv6: false,
      bundlePolicy: 'max-bundle',
    });
    let self: WeriftTransport | null = null;
    try {
      pc.onDataChannel.subscribe((ch) => events.onChannel(new WeriftControlChannel(ch)));
      // werift announces the remote track during setRemoteDescription: subscribe before it
      pc.onTrack.subscribe((track) => {
        if (track.kind !== 'video') return;
        track.onReceiveRtp.subscribe((rtp) => self?.onIncomingRtp(rtp, events));
      });
      pc.connectionStateChange.subscribe((state) => events.onConnectionState(state));
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      guardMediaDatagrams(pc);
      const transceiver = pc.getTransceivers().find((t) => t.kind === 'video');
      if (!transceiver) throw new Error('offer has no video');
      // werift takes its DTLS role from an answer only, so as the answerer it would always be the
      // client. Be the server (a=setup:passive) where the offer is the client (active: FFmpeg's
      // whip_flags=dtls_active, which RFC 9725 §4.4.4 allows) or lets us choose (actpass): the
      // client then sends its ClientHello as soon as its ICE is writable. As the DTLS client,
      // werift's ClientHello goes out before libwebrtc's ICE is writable, and libwebrtc answers it
      // only ~100 ms later (loopback: connected 134-137 ms after the answer as active, 65-71 ms as
      // passive). A passive offer (FFmpeg's default) keeps werift the client.
      const setups = offeredDtlsSetups(offerSdp);
      if (setups.has('actpass') || setups.has('active')) {
        for (const t of pc.dtlsTransports) t.role = 'server';
      }
      transceiver.setDirection('sendrecv');
      // a stream id gives the answer an a=msid line; without it libwebrtc reads the two ssrc lines
      // (media + RTX) as two tracks and rejects the answer
      transceiver.sender.streamIds = ['rtc-scale'];
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await waitForGathering(pc, config.iceGatheringTimeoutMs);
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('no local description');
      const id = extensionId(sdp, PLAYOUT_DELAY_URI);
      self = new WeriftTransport(pc, transceiver, id, config.transportCc && extensionId(sdp, TRANSPORT_CC_URI) !== null, config.retransmitBudget);
      self.wire(events);
      self.followSsrcs(c.payloadType, c.rtxPayloadType);
      if (config.sendImpairment) self.impairSending(config.sendImpairment);
      return { sdp, transport: self };
    } catch (err) {
      void pc.close().catch(() => undefined);
      throw err;
    }
  }

  private wire(events: TransportEvents): void {
    const { receiver, sender } = this.transceiver;
    // werift's own NACK generator is replaced by the engine's receive buffer
    (receiver as unknown as { nack: WeriftNackHandler }).nack.close();
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

  private onIncomingRtp(rtp: RtpPacket, events: TransportEvents): void {
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

  /**
   * The offerer side (the load generator's native client): offer VP8 (+RTX) sendrecv video and a
   * "control" data channel, gathered in full (no trickle); `accept` applies the server's answer.
   * No playout-delay extension is offered: browsers do not send it, and the server's receive path
   * should see what a browser sends.
   */
  static async offer(config: OfferConfig, events: TransportEvents): Promise<OfferedTransport> {
    installWeriftFixes();
    const feedback = [useNACK(), usePLI(), useFIR(), useREMB(), ...(config.transportCc ? [useTWCC()] : [])];
    const pc = new RTCPeerConnection({
      codecs: {
        video: [
          new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: OFFER_VP8_PT, rtcpFeedback: feedback }),
          new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: OFFER_RTX_PT, parameters: `apt=${OFFER_VP8_PT}` }),
        ],
        audio: [],
      },
      headerExtensions: { video: [useSdesMid(), useAbsSendTime(), ...(config.transportCc ? [useTransportWideCC()] : [])], audio: [] },
      iceServers: config.iceServers.map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username } : {}), ...(s.credential ? { credential: s.credential } : {}) })),
      iceAdditionalHostAddresses: config.additionalHostAddresses,
      iceUseIpv4: true,
      iceUseIpv6: false,
      bundlePolicy: 'max-bundle',
    });
    try {
      const transceiver = pc.addTransceiver('video', { direction: 'sendrecv' });
      // one stream id: libwebrtc then reads the media and RTX ssrc lines as one track
      transceiver.sender.streamIds = ['rtc-scale-client'];
      // built once the answer says whether transport-cc was accepted; RTP before that is dropped
      let self: WeriftTransport | null = null;
      pc.onTrack.subscribe((track) => {
        if (track.kind !== 'video') return;
        track.onReceiveRtp.subscribe((rtp) => self?.onIncomingRtp(rtp, events));
      });
      pc.connectionStateChange.subscribe((state) => events.onConnectionState(state));
      events.onChannel(new WeriftControlChannel(pc.createDataChannel('control')));
      await pc.setLocalDescription(await pc.createOffer());
      guardMediaDatagrams(pc);
      await waitForGathering(pc, config.iceGatheringTimeoutMs);
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('no local description');
      return {
        sdp,
        accept: async (answerSdp: string): Promise<WeriftTransport> => {
          try {
            await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
            self = new WeriftTransport(pc, transceiver, null, config.transportCc && extensionId(answerSdp, TRANSPORT_CC_URI) !== null, config.retransmitBudget ?? DEFAULT_RETRANSMIT_BUDGET);
            self.wire(events);
            return self;
          } catch (err) {
            void pc.close().catch(() => undefined);
            throw err;
          }
        },
        close: () => {
          if (self) self.close();
          else void pc.close().catch(() => undefined);
        },
      };
    } catch (err) {
      void pc.close().catch(() => undefined);
      throw err;
    }
  }
}

/**
 * Connect two werift transports to each other on loopback once (offer, answer, ICE, DTLS both
 * roles, SRTP, the data channel) and close them, so a server's first client does not pay for
 * werift's cold paths. Resolves within `timeoutMs` whatever happens; never throws.
 */
export async function warmUpWerift(codec: SelectedCodec, timeoutMs = 3000): Promise<void> {
  const noop = (): void => undefined;
  const events: TransportEvents = {
    onRtp: noop, onKeyframeRequest: noop, onRemb: noop, onReceiverReport: noop, onTransportFeedback: noop,
    onChannel: noop, onConnectionState: noop, onStreamRestart: noop,
  };
  // the offer's close() also closes the client transport once the answer is accepted
  const opened: Array<{ close(): void }> = [];
  const work = (async () => {
    const offered = await WeriftTransport.offer({ iceServers: [], iceGatheringTimeoutMs: 1000, additionalHostAddresses: ['127.0.0.1'], transportCc: true }, events);
    opened.push(offered);
    let connected: () => void = noop;
    const up = new Promise<void>((resolve) => { connected = resolve; });
    const server = await WeriftTransport.answer(offered.sdp, {
      iceServers: [], iceGatheringTimeoutMs: 1000, codec, additionalHostAddresses: ['127.0.0.1'], transportCc: true, sendImpairment: null,
      retransmitBudget: DEFAULT_RETRANSMIT_BUDGET,
    }, { ...events, onConnectionState: (st) => { if (st === 'connected') connected(); } });
    opened.push(server.transport);
    await offered.accept(server.sdp);
    await up;
  })().catch(noop);
  await Promise.race([work, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  for (const o of opened) o.close();
}

/** The id the SDP gives a header extension URI, or null. */
function extensionId(sdp: string, uri: string): number | null {
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (m && m[2] === uri) return Number(m[1]);
  }
  return null;
}

function waitForGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') done();
    });
    function done(): void {
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    }
  });
}

/** Payload types the offerer uses (the browser's usual ones; the answer repeats them). */
const OFFER_VP8_PT = 96;
const OFFER_RTX_PT = 97;

/** What the offerer needs. */
export interface OfferConfig {
  iceServers: IceServer[];
  /** Send the offer with the candidates gathered by then. */
  iceGatheringTimeoutMs: number;
  /** Host addresses to offer besides the interfaces werift finds (it skips loopback). */
  additionalHostAddresses: string[];
  /** Offer transport-cc, as browsers do. */
  transportCc: boolean;
  /** The most the server may make us resend (default DEFAULT_RETRANSMIT_BUDGET). */
  retransmitBudget?: RetransmitBudgetOptions;
}

/** 1 Mbit/s (RTC_RTX_BUDGET_KBPS) and 300 packets/s of NACK answers: ~3x the loss a 720p stream at 2.5 Mbit/s shows at 10 %. */
export const DEFAULT_RETRANSMIT_BUDGET: RetransmitBudgetOptions = { bytesPerSecond: (MEDIA_SETTINGS.retransmitBudgetKbps.default * 1000) / 8, packetsPerSecond: DEFAULT_RTX_PACKETS_PER_SECOND };

/** What rawPathsForTests gives a test's hostile peer. */
export interface RawMediaPaths {
  sendDatagram(data: Buffer): Promise<void>;
  /** The peer's media SSRC and the last sequence number received from it. */
  lastReceived(): { ssrc: number; sequenceNumber: number } | null;
  /** Our own media SSRC. */
  localSsrc(): number;
  sendRtcp(packets: RtcpPacket[]): Promise<unknown>;
  /** RTCP bytes as given (any framing), under valid SRTCP. */
  sendRtcpBytes(rtcp: Buffer): Promise<void>;
  rewriteRtp(rewrite: (header: RtpHeader, payload: Buffer) => Array<[RtpHeader, Buffer]>): void;
}

/** An offer made; `accept` applies the answer and returns the running transport, `close` gives up. */
export interface OfferedTransport {
  sdp: string;
  accept(answerSdp: string): Promise<WeriftTransport>;
  close(): void;
}
