/**
 * What a WebRTC transport costs per RTP packet, werift (the native engine's: ICE, DTLS and SRTP in
 * TypeScript, AES through node:crypto) against node-datachannel (libdatachannel in C++: libjuice,
 * OpenSSL DTLS, libsrtp) — issue 19's transport spike. Two peers of one library in one process on
 * loopback; one sends RTP packets with a 1100-byte payload at a fixed rate, in bursts every 10 ms as
 * frames come, the other receives them in JavaScript. Each packet is thus sent (header, SRTP, UDP
 * send) and received (UDP receive, SRTP, to JavaScript) once: what the engine pays for one packet
 * in and one packet out. `werift` negotiates what the engine negotiates (NACK, PLI, FIR, REMB,
 * transport-cc; mid, abs-send-time and transport-wide sequence numbers in every packet),
 * `werift-bare` only NACK, PLI, FIR, REMB and mid (what werift costs without transport-cc);
 * node-datachannel gets an SR reporter and NACK responder on the sender and an RTCP receiving
 * session on the receiver, the stages a server built on it would run.
 *
 * Every measurement runs in a fresh child process; libraries and rates alternate. CPU per packet is
 * the process's CPU (all threads) less the same pair's CPU when idle (rate 0), over the packets
 * received.
 *
 * Usage: node dist/bench/profile/transport-cost.js [--rates 500,2000] [--seconds 10] [--rounds 3] [--size 1100]
 *   (in a loopback-only namespace: unshare --net bash -c 'ip link set lo up && node …')
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ndc from 'node-datachannel';
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, useAbsSendTime, useSdesMid, useTransportWideCC } from 'werift';
import { videoFeedback } from '../../src/media/engines/native/transport/werift-peer-setup.js';
import { percentile } from '../../src/protocol/index.js';
import { UsageError, numberArg, oneOfArg, parseCommandLine, parseList, stringArg } from '../../src/toolkit/args.js';

type Library = 'werift' | 'werift-bare' | 'node-datachannel';
const LIBRARIES: readonly Library[] = ['werift', 'werift-bare', 'node-datachannel'];

/** One child's measurement. */
interface Sample {
  library: Library;
  rate: number;
  seconds: number;
  sent: number;
  received: number;
  cpuMs: number;
}

/** A connected pair: `send` puts one packet on the wire, `received` counts what arrived. */
interface Pair {
  send(payload: Buffer, timestamp: number): void;
  received(): number;
  close(): void;
}

const SSRC = 0x1234abcd;
const PAYLOAD_TYPE = 96;

function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`${what} did not happen in ${timeoutMs} ms`));
      }
    }, 10);
  });
}

/** `asEngine`: what the engine negotiates; otherwise no transport-cc and only the mid extension. */
async function weriftPair(asEngine: boolean): Promise<Pair> {
  const config = (): ConstructorParameters<typeof RTCPeerConnection>[0] => ({
    codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: PAYLOAD_TYPE, rtcpFeedback: videoFeedback(asEngine) })], audio: [] },
    headerExtensions: { video: asEngine ? [useSdesMid(), useAbsSendTime(), useTransportWideCC()] : [useSdesMid()], audio: [] },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv4: true,
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
  const a = new RTCPeerConnection(config());
  const b = new RTCPeerConnection(config());
  let received = 0;
  const transceiver = a.addTransceiver('video', { direction: 'sendonly' });
  b.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void received++));
  await a.setLocalDescription(await a.createOffer());
  await until(() => a.iceGatheringState === 'complete', 'werift gathering (offer)');
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await until(() => b.iceGatheringState === 'complete', 'werift gathering (answer)');
  await a.setRemoteDescription(b.localDescription!);
  await until(() => transceiver.sender.dtlsTransport?.state === 'connected' && b.connectionState === 'connected', 'werift connection');
  let seq = 0;
  return {
    send(payload, timestamp) {
      seq = (seq + 1) & 0xffff;
      const header = new RtpHeader({ sequenceNumber: seq, timestamp, payloadType: transceiver.sender.codec?.payloadType ?? PAYLOAD_TYPE });
      void transceiver.sender.sendRtp(new RtpPacket(header, payload)).catch(() => undefined);
    },
    received: () => received,
    close() {
      void a.close();
      void b.close();
    },
  };
}

async function dataChannelPair(): Promise<Pair> {
  const a = new ndc.PeerConnection('sender', { iceServers: [], bindAddress: '127.0.0.1' });
  const b = new ndc.PeerConnection('receiver', { iceServers: [], bindAddress: '127.0.0.1' });
  const video = new ndc.Video('video', 'SendOnly');
  video.addVP8Codec(PAYLOAD_TYPE);
  video.addSSRC(SSRC, 'transport-cost', 'stream', 'video');
  const sendTrack = a.addTrack(video);
  const reporter = new ndc.RtcpSrReporter(new ndc.RtpPacketizationConfig(SSRC, 'transport-cost', PAYLOAD_TYPE, 90000));
  reporter.addToChain(new ndc.RtcpNackResponder());
  sendTrack.setMediaHandler(reporter);
  let received = 0;
  // node-datachannel drops a track's callbacks when its JavaScript object is collected: keep it
  const receiveTracks: ndc.Track[] = [];
  b.onTrack((track) => {
    receiveTracks.push(track);
    track.setMediaHandler(new ndc.RtcpReceivingSession());
    track.onMessage(() => void received++);
  });
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
  a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid));
  b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid));
  a.setLocalDescription();
  await until(() => sendTrack.isOpen(), 'node-datachannel track open');
  let seq = 0;
  let packet = Buffer.alloc(0);
  return {
    send(payload, timestamp) {
      if (packet.length !== 12 + payload.length) packet = Buffer.alloc(12 + payload.length);
      seq = (seq + 1) & 0xffff;
      packet[0] = 0x80;
      packet[1] = PAYLOAD_TYPE;
      packet.writeUInt16BE(seq, 2);
      packet.writeUInt32BE(timestamp, 4);
      packet.writeUInt32BE(SSRC, 8);
      payload.copy(packet, 12);
      sendTrack.sendMessageBinary(packet);
    },
    received: () => received,
    close() {
      receiveTracks.length = 0;
      a.close();
      b.close();
    },
  };
}

/** One measurement, in this (child) process: connect, warm up 2 s, then count for `seconds`. */
async function measure(library: Library, rate: number, seconds: number, size: number): Promise<Sample> {
  const pair = library === 'node-datachannel' ? await dataChannelPair() : await weriftPair(library === 'werift');
  const payload = Buffer.alloc(size, 0x5a);
  let sent = 0;
  let due = 0;
  let timestamp = 0;
  const timer = setInterval(() => {
    timestamp = (timestamp + 900) >>> 0;
    for (due += rate / 100; due >= 1; due--) {
      pair.send(payload, timestamp);
      sent++;
    }
  }, 10);
  await new Promise((r) => setTimeout(r, 2000));
  const [sent0, received0, cpu0, t0] = [sent, pair.received(), process.cpuUsage(), performance.now()];
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const sample: Sample = {
    library, rate, seconds: (performance.now() - t0) / 1000, sent: sent - sent0, received: pair.received() - received0, cpuMs: (cpu.user + cpu.system) / 1000,
  };
  clearInterval(timer);
  pair.close();
  return sample;
}

/** The project's one median (nearest rank, src/protocol); every list here has a sample per round. */
const median = (v: number[]): number => percentile(v, 50) ?? Number.NaN;

async function inChild(library: Library, rate: number, seconds: number, size: number): Promise<Sample> {
  const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), '--child', library, '--rates', String(rate), '--seconds', String(seconds), '--size', String(size)], { timeout: (seconds + 30) * 1000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Sample;
}

async function main(): Promise<void> {
  const values = parseCommandLine(process.argv.slice(2), {
    rates: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, size: { type: 'string' }, child: { type: 'string' },
  });
  const count = (name: string, fallback: number, min: number): number => numberArg(name, stringArg(values, name), { integer: true, min, max: 100_000 }) ?? fallback;
  const rates = parseList('rates', stringArg(values, 'rates') ?? '500,2000', (r) => numberArg('rates', r, { integer: true, min: 0, max: 20_000 })!, 10);
  const [seconds, rounds, size] = [count('seconds', 10, 1), count('rounds', 3, 1), count('size', 1100, 1)];
  const child = stringArg(values, 'child');
  if (child !== undefined) {
    const sample = await measure(oneOfArg('child', child, LIBRARIES), rates[0] ?? 0, seconds, size);
    console.log(JSON.stringify(sample));
    setTimeout(() => process.exit(0), 200).unref();
    return;
  }
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    // alternate the order so a change in the machine's load touches both libraries alike
    const order = round % 2 ? [...LIBRARIES].reverse() : LIBRARIES;
    for (const rate of [0, ...rates]) for (const library of order) samples.push(await inChild(library, rate, seconds, size));
  }
  const rows = LIBRARIES.flatMap((library) => {
    const idle = samples.filter((s) => s.library === library && s.rate === 0);
    const idleCpuPerSecond = median(idle.map((s) => s.cpuMs / s.seconds));
    return rates.map((rate) => {
      const runs = samples.filter((s) => s.library === library && s.rate === rate);
      const perPacket = runs.map((s) => ((s.cpuMs - idleCpuPerSecond * s.seconds) * 1000) / Math.max(1, s.received));
      return {
        library, rate, size: size, idleCpuMsPerSecond: +idleCpuPerSecond.toFixed(1),
        usPerPacket: +median(perPacket).toFixed(1), usPerPacketMin: +Math.min(...perPacket).toFixed(1), usPerPacketMax: +Math.max(...perPacket).toFixed(1),
        lostPercent: +median(runs.map((s) => (100 * Math.max(0, s.sent - s.received)) / Math.max(1, s.sent))).toFixed(2),
      };
    });
  });
  console.log(JSON.stringify({ tool: 'transport-cost', seconds: seconds, rounds: rounds, rows, samples }, null, 1));
}

try {
  await main();
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(err.message);
  process.exitCode = 2;
}
