/**
 * What the answerer and the offerer set up alike on a werift RTCPeerConnection: the header
 * extensions and feedback they negotiate, the ICE server list, the host addresses, the check of
 * every media datagram before werift's SRTP reads it, and waiting for ICE gathering.
 */
import { networkInterfaces } from 'node:os';
import { RTCPeerConnection, useFIR, useNACK, usePLI, useREMB, useTWCC, type RTCIceServer } from 'werift';
import type { IceServer } from '../../../engine.js';
import { countDrop } from './packet-drops.js';
import { checkProtectedDatagram, isMediaDatagram } from './rtp-framing.js';

/** The playout-delay header extension (libwebrtc): min/max delay the receiver should render with. */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
/** The transport-wide sequence number header extension (transport-cc). */
export const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
/** The MID header extension (RFC 8843): how a restarted stream with new SSRCs is recognised. */
export const SDES_MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/** The RTCP feedback both sides negotiate for video. */
export function videoFeedback(transportCc: boolean): ReturnType<typeof useNACK>[] {
  return [useNACK(), usePLI(), useFIR(), useREMB(), ...(transportCc ? [useTWCC()] : [])];
}

/** The engine's ICE servers as werift takes them. */
export function weriftIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  return servers.map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username } : {}), ...(s.credential ? { credential: s.credential } : {}) }));
}

/** Loopback only when the machine has no other interface (a test's network namespace), as libwebrtc does. */
export function defaultHostAddresses(): string[] {
  const all = Object.values(networkInterfaces()).flat().filter((i) => i !== undefined);
  return all.some((i) => !i.internal) ? [] : ['127.0.0.1'];
}

/** The ICE connection's data event (werift's Event: `execute` is an own, writable property). */
interface WeriftDataEvent {
  execute(data: Buffer): void;
}

/**
 * Check every RTP/RTCP datagram off the ICE transports of `pc` before werift's SRTP reads it
 * (rtp-framing.ts): what fails is dropped and counted. DTLS and STUN pass untouched.
 */
export function guardMediaDatagrams(pc: RTCPeerConnection): void {
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

/** The id the SDP gives a header extension URI, or null. */
export function extensionId(sdp: string, uri: string): number | null {
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (m && m[2] === uri) return Number(m[1]);
  }
  return null;
}

/** Resolve once ICE gathering is complete, or after `timeoutMs`. */
export function waitForGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
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
