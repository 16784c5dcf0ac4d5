/**
 * The native engine's main-thread cost by step, from a V8 CPU profile of the server
 * (`node --cpu-prof`, written by bench/profile/profile-native.sh): each sample goes to the step of
 * the nearest frame on its stack that names one (SRTP in, depacketize, decode, copies, filter,
 * encode, packetize, SRTP out, RTCP, ...), so library code (crypto, node-av's bindings) counts for
 * the step that called it.
 *
 * Usage: node dist/bench/profile/cost-breakdown.js PROFILE.cpuprofile [--cpu-ms N --frames N]
 * With --cpu-ms (the server's CPU time over the run, from /proc) and --frames (frames the server
 * encoded), it adds CPU per frame and the thread pool's share (CPU not spent on the main thread:
 * the codecs' work inside node-av's async calls, and libuv's other threads).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A step and what marks a frame of it: a URL fragment and, optionally, a function name pattern. */
interface Rule {
  step: string;
  url: RegExp;
  fn?: RegExp;
}

/** Steps in the order of the table. */
export const STEPS = [
  'UDP receive + ICE/DTLS demux', 'SRTP in (decrypt, auth)', 'RTP in (parse, route, checks)', 'depacketize + receive buffer (NACK)',
  'decode (node-av calls)', 'frame copies', 'filter (pipeline + processor)', 'encode (node-av calls)', 'packetize',
  'RTP out (werift sender, headers)', 'SRTP out (encrypt, auth)', 'UDP send (dgram)', 'RTCP (in, out, feedback)',
  'timers, promises, event loop', 'GC', 'other (HTTP, stats, metrics, ...)',
] as const;

// Ordered: where one frame matches several rules, the first wins.
const RULES: Rule[] = [
  { step: 'frame copies', url: /node-av/, fn: /^(toBuffer|fromBuffer|makeWritable)$/ },
  { step: 'frame copies', url: /engines\/native\/ffmpeg\.js/, fn: /^toI420$/ },
  { step: 'frame copies', url: /engines\/native\/shared-encoder\.js/, fn: /^offer$/ },
  { step: 'decode (node-av calls)', url: /engines\/native\/ffmpeg\.js/, fn: /^decode$/ },
  { step: 'encode (node-av calls)', url: /engines\/native\/ffmpeg\.js/, fn: /^(encode|open)$/ },
  { step: 'decode (node-av calls)', url: /node-av/, fn: /^(sendPacket|receiveFrame|sendPacketSync|receiveFrameSync)$/ },
  { step: 'encode (node-av calls)', url: /node-av/, fn: /^(sendFrame|receivePacket|sendFrameSync|receivePacketSync)$/ },
  { step: 'filter (pipeline + processor)', url: /src\/processing\/|media\/frame-pipeline\.js|media\/latest-frame-slot\.js/ },
  { step: 'packetize', url: /engines\/native\/rtp\/(vp8|h264)\.js/, fn: /^(packetize|\w*Packetizer)$|^packetize/ },
  { step: 'depacketize + receive buffer (NACK)', url: /engines\/native\/rtp\/(vp8|h264)\.js|engines\/native\/receive-buffer\.js|engines\/native\/impairment\.js/ },
  { step: 'RTCP (in, out, feedback)', url: /./, fn: /RTCP|Rtcp|rtcp|Nack|NACK|Remb|REMB|Pli|PLI|Feedback|TWCC|Twcc|getStats|rttMs/ },
  { step: 'RTCP (in, out, feedback)', url: /engines\/native\/(transport-feedback|delay-estimator|bitrate-controller)\.js|werift.*rtcp/ },
  { step: 'SRTP in (decrypt, auth)', url: /./, fn: /^decryptRtp$/ },
  { step: 'SRTP out (encrypt, auth)', url: /./, fn: /^encryptRtp$/ },
  { step: 'RTP in (parse, route, checks)', url: /transport\/(rtp-framing|srtp-index|ssrc-follower|werift-fixes)\.js/ },
  { step: 'RTP in (parse, route, checks)', url: /werift/, fn: /^(routeRtp|handleRtpBySsrc|handleRtpByRid|handleRtp|onIncomingRtp|deSerialize)$/ },
  { step: 'RTP in (parse, route, checks)', url: /engines\/native\/(native-peer|werift)\.js/, fn: /^(onRtp|receive|onIncomingRtp)$/ },
  { step: 'RTP out (werift sender, headers)', url: /werift|engines\/native\/(werift|rtp-send-stream)\.js/, fn: /^(sendRtp|sendFrame|serialize|serializeSize|setExtensions?)$/ },
  { step: 'UDP send (dgram)', url: /^node:(dgram|internal\/dgram)/ },
  { step: 'UDP receive + ICE/DTLS demux', url: /werift.*(ice|dtls|stun)|^node:internal\/dgram|^node:dgram/ },
  { step: 'GC', url: /^$/, fn: /^\(garbage collector\)$/ },
];

const IDLE = /^\((idle|program)\)$/;
const LOOP = /^node:internal\/(timers|process\/task_queues|async_hooks)|^node:timers/;

/** The step a sample's stack belongs to (leaf first), or null for idle. */
function classify(stack: CallFrame[]): string | null {
  const leaf = stack[0];
  if (leaf && IDLE.test(leaf.functionName)) return null;
  for (const f of stack) {
    for (const r of RULES) {
      if (r.url.test(f.url) && (!r.fn || r.fn.test(f.functionName))) return r.step;
    }
  }
  if (stack.some((f) => LOOP.test(f.url)) || stack.length <= 2) return 'timers, promises, event loop';
  return 'other (HTTP, stats, metrics, ...)';
}

/** Main-thread ms by step, and the profile's wall time, ms. */
export function breakdown(profile: CpuProfile): { byStep: Map<string, number>; busyMs: number; wallMs: number } {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const cache = new Map<number, string | null>();
  const stepOf = (id: number): string | null => {
    let step = cache.get(id);
    if (step === undefined) {
      const stack: CallFrame[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!.callFrame);
      step = classify(stack);
      cache.set(id, step);
    }
    return step;
  };
  // the server's start (module loading, werift's warm-up) is not media work: count from the first decode on
  let first = profile.samples.findIndex((id) => stepOf(id) === 'decode (node-av calls)');
  if (first < 0) first = 0;
  const byStep = new Map<string, number>();
  let busy = 0;
  let wall = 0;
  for (let i = first; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    wall += dt;
    const step = stepOf(profile.samples[i]!);
    if (step === null) continue;
    busy += dt;
    byStep.set(step, (byStep.get(step) ?? 0) + dt);
  }
  return { byStep, busyMs: busy, wallMs: wall };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'cpu-ms': { type: 'string' }, frames: { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    console.error('usage: cost-breakdown PROFILE.cpuprofile [--cpu-ms N --frames N]');
    process.exit(2);
  }
  const { byStep, busyMs, wallMs } = breakdown(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const cpuMs = values['cpu-ms'] ? Number(values['cpu-ms']) : null;
  const frames = values.frames ? Number(values.frames) : null;
  const perFrame = (ms: number): string => (frames ? (ms / frames).toFixed(3) : '-');
  console.log(`profile ${file} (from its first decode): wall ${(wallMs / 1000).toFixed(1)} s, main thread busy ${(busyMs / 1000).toFixed(2)} s (${((100 * busyMs) / wallMs).toFixed(1)} %)`);
  console.log('| step | main-thread ms | % of main-thread busy | ms per frame |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const step of STEPS) {
    const ms = byStep.get(step) ?? 0;
    console.log(`| ${step} | ${ms.toFixed(0)} | ${((100 * ms) / busyMs).toFixed(1)} | ${perFrame(ms)} |`);
  }
  console.log(`| **main thread, all** | ${busyMs.toFixed(0)} | 100 | ${perFrame(busyMs)} |`);
  if (cpuMs !== null) {
    const pool = Math.max(0, cpuMs - busyMs);
    console.log(`| other threads (codec work in node-av's thread-pool calls, libuv) | ${pool.toFixed(0)} | - | ${perFrame(pool)} |`);
    console.log(`| **process CPU (/proc)** | ${cpuMs.toFixed(0)} | - | ${perFrame(cpuMs)} |`);
  }
}

main();
