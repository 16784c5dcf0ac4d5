/**
 * The server side: answer one offer with the single video codec the engine chose, gather all
 * candidates before answering (no trickle), and hand the connection to a WeriftTransport.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, useAbsSendTime, useSdesMid, useTransportWideCC, useTWCC } from 'werift';
import { offeredDtlsSetups } from '../../../sdp.js';
import type { TransportConfig, TransportEvents } from './transport-types.js';
import { installWeriftFixes } from './werift-fixes.js';
import { WeriftControlChannel } from './werift-control-channel.js';
import { extensionId, guardMediaDatagrams, PLAYOUT_DELAY_URI, TRANSPORT_CC_URI, videoFeedback, waitForGathering, weriftIceServers } from './werift-peer-setup.js';
import { WeriftTransport } from './werift-transport.js';

/** Answer `offerSdp`; resolves once ICE gathering completed (or timed out) with the full answer. */
export async function answerOffer(offerSdp: string, config: TransportConfig, events: TransportEvents): Promise<{ sdp: string; transport: WeriftTransport }> {
  installWeriftFixes();
  const c = config.codec;
  const codecs = [new RTCRtpCodecParameters({
    mimeType: `video/${c.name}`, clockRate: 90000, payloadType: c.payloadType, rtcpFeedback: videoFeedback(config.transportCc),
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
    iceServers: weriftIceServers(config.iceServers),
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
      track.onReceiveRtp.subscribe((rtp) => self?.receiveRtp(rtp, events));
    });
    pc.connectionStateChange.subscribe((state) => events.onConnectionState(state));
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    guardMediaDatagrams(pc);
    const transceiver = pc.getTransceivers().find((t) => t.kind === 'video');
    if (!transceiver) throw new Error('offer has no video');
    // werift answers with the offer's own codec entries, feedback types included: without
    // transport-cc the answer must not list it (the extension alone is left out by our config)
    if (!config.transportCc) {
      for (const codec of transceiver.codecs) codec.rtcpFeedback = codec.rtcpFeedback.filter((f) => f.type !== useTWCC().type);
    }
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
    self = WeriftTransport.attach(pc, transceiver, {
      playoutDelayId: extensionId(sdp, PLAYOUT_DELAY_URI),
      transportCc: config.transportCc && extensionId(sdp, TRANSPORT_CC_URI) !== null,
      retransmitBudget: config.retransmitBudget,
      follow: { payloadType: c.payloadType, rtxPayloadType: c.rtxPayloadType },
      sendImpairment: config.sendImpairment,
    }, events);
    return { sdp, transport: self };
  } catch (err) {
    void pc.close().catch(() => undefined);
    throw err;
  }
}
