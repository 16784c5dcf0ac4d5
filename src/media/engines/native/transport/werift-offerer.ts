/**
 * The client side (the load generator's native client, the tests' hostile peer): offer VP8 (+RTX),
 * or H264 (+RTX) then VP8 (+RTX), sendrecv video and a "control" data channel, gathered in full (no trickle); `accept` applies
 * the server's answer and hands the connection to a WeriftTransport. No playout-delay extension is
 * offered: browsers do not send it, and the server's receive path should see what a browser sends.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, useAbsSendTime, useSdesMid, useTransportWideCC } from 'werift';
import { DEFAULT_RETRANSMIT_BUDGET } from './retransmit-budget.js';
import type { NativeCodecName } from '../stack-types.js';
import type { OfferConfig, TransportEvents } from './transport-types.js';
import { installWeriftFixes } from './werift-fixes.js';
import { WeriftControlChannel } from './werift-control-channel.js';
import { extensionId, guardMediaDatagrams, TRANSPORT_CC_URI, videoFeedback, waitForGathering, weriftIceServers } from './werift-peer-setup.js';
import { WeriftTransport } from './werift-transport.js';

/** An offer made; `accept` applies the answer and returns the running transport, `close` gives up. */
export interface OfferedTransport {
  sdp: string;
  accept(answerSdp: string): Promise<WeriftTransport>;
  close(): void;
}

/** Payload types the offerer uses (Chromium's for these codecs; the answer repeats them). */
const OFFER_VP8_PT = 96;
const OFFER_RTX_PT = 97;
const OFFER_H264_PT = 106;
const OFFER_H264_RTX_PT = 107;
/** Chromium's fmtp for H264 constrained baseline 3.1 with packetization-mode 1 (the mode the engine runs). */
export const OFFER_H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

/** The offer's video codecs in order of preference: VP8 alone, or H264 first with VP8 as the fallback. */
function offeredCodecs(codec: NativeCodecName, transportCc: boolean): RTCRtpCodecParameters[] {
  const vp8 = [
    new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: OFFER_VP8_PT, rtcpFeedback: videoFeedback(transportCc) }),
    new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: OFFER_RTX_PT, parameters: `apt=${OFFER_VP8_PT}` }),
  ];
  if (codec === 'VP8') return vp8;
  return [
    new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: OFFER_H264_PT, rtcpFeedback: videoFeedback(transportCc), parameters: OFFER_H264_FMTP }),
    new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: OFFER_H264_RTX_PT, parameters: `apt=${OFFER_H264_PT}` }),
    ...vp8,
  ];
}

/** Make the offer; read it from `sdp`, then `accept` the answer (or `close`). */
export async function makeOffer(config: OfferConfig, events: TransportEvents): Promise<OfferedTransport> {
  installWeriftFixes();
  const pc = new RTCPeerConnection({
    codecs: { video: offeredCodecs(config.codec ?? 'VP8', config.transportCc), audio: [] },
    headerExtensions: { video: [useSdesMid(), useAbsSendTime(), ...(config.transportCc ? [useTransportWideCC()] : [])], audio: [] },
    iceServers: weriftIceServers(config.iceServers),
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
      track.onReceiveRtp.subscribe((rtp) => self?.receiveRtp(rtp, events));
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
          self = WeriftTransport.attach(pc, transceiver, {
            playoutDelayId: null,
            transportCc: config.transportCc && extensionId(answerSdp, TRANSPORT_CC_URI) !== null,
            retransmitBudget: config.retransmitBudget ?? DEFAULT_RETRANSMIT_BUDGET,
            follow: null,
            sendImpairment: null,
          }, events);
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
