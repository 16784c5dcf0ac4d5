/**
 * The engine's transport-cc feedback messages (transport-feedback.ts) as werift's RTCP packets:
 * the conversion between the project's feedback recorder and werift's serializer, apart from the
 * transport that sends them (werift-transport.ts).
 */
import { PacketStatus, RecvDelta, RtcpHeader, RtcpTransportLayerFeedback, RunLengthChunk, TransportWideCC } from 'werift';
import type { FeedbackMessage } from '../congestion/transport-feedback.js';

/** A feedback message as werift's RTCP packet (run-length chunks, exact deltas, padded to 32 bits). */
export function weriftTransportFeedback(m: FeedbackMessage, senderSsrc: number, mediaSourceSsrc: number): RtcpTransportLayerFeedback {
  // werift sets the P bit whenever `padding` is on, also when no padding byte follows: ask only when needed
  const bytes = 16 + 2 * m.runs.length + m.deltas.reduce((n, d) => n + (d.large ? 2 : 1), 0);
  return new RtcpTransportLayerFeedback({
    feedback: new TransportWideCC({
      senderSsrc, mediaSourceSsrc,
      baseSequenceNumber: m.baseSequenceNumber, packetStatusCount: m.packetStatusCount,
      referenceTime: m.referenceTime, fbPktCount: m.fbPktCount,
      packetChunks: m.runs.map((r) => new RunLengthChunk({ packetStatus: r.status, runLength: r.length })),
      // werift divides by 250 and rounds down: whole ticks pass through exactly
      recvDeltas: m.deltas.map((d) => new RecvDelta({
        type: d.large ? PacketStatus.TypeTCCPacketReceivedLargeDelta : PacketStatus.TypeTCCPacketReceivedSmallDelta, delta: d.ticks * 250,
      })),
      header: new RtcpHeader({ type: 205, count: TransportWideCC.count, version: 2, padding: bytes % 4 !== 0 }),
    }),
  });
}
