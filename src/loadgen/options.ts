/**
 * Command-line options of the load generator, their defaults, and the help text.
 */
import os from 'node:os';
import { ANONYMIZE_STYLES, MAX_ITERATIONS, type AnonymizeStyle } from '../protocol/index.js';
import { numberArg, oneOfArg, parseCommandLine, parseResolution, stringArg, UsageError } from '../toolkit/args.js';
import { CLIENT_CODECS, CLIENT_ENGINES, type ClientCodec, type ClientEngine } from './client-media.js';
import { multiPhaseProfile, parseDuration, parsePhasesArg, readProfileFile, type Phase } from './profile.js';
import { PROTOCOLS, type Protocol } from './signaling.js';

/** Parsed options. */
export interface LoadgenOptions {
  url: string;
  mode: 'webrtc' | 'process';
  protocol: Protocol;
  /** The clients' WebRTC stack (webrtc mode). */
  engine: ClientEngine;
  /** The video codec the clients offer first (webrtc mode). */
  codec: ClientCodec;
  /** WHEP viewers per session (0: none). */
  viewers: number;
  phases: Phase[];
  width: number;
  height: number;
  fps: number;
  filter: string;
  iterations: number;
  /** How anonymize hides faces (--style); undefined: the server's default. */
  style: AnonymizeStyle | undefined;
  backend: string | undefined;
  workers: number;
  spawnRate: number;
  settleS: number;
  connectTimeoutS: number;
  rate: number | undefined;
  requestTimeoutS: number;
  outDir: string;
  sloP95Ms: number | undefined;
  sloMinFps: number | undefined;
  /** Bearer token (--token, else the LOADGEN_TOKEN environment variable). */
  token: string | undefined;
  quiet: boolean;
}

export const HELP = `rtc-scale load generator

Usage: npm run loadgen -- --url http://127.0.0.1:8080 [options]
       node dist/src/loadgen/cli.js --url URL [options]

Target
  --url URL              server base URL (required); only this server is contacted
  --mode webrtc|process  webrtc: simulated users over WebRTC (default);
                         process: concurrent GET /process requests (autocannon)
  --protocol rtc-scale|aiortc|whip
                         offer JSON: rtc-scale {sdp,type,filter,backend} (default) or
                         aiortc's example server {sdp,type,video_transform}; whip: RFC 9725,
                         POST /whip/FILTER?iterations=&backend= with application/sdp, DELETE at the end
  --viewers N            WHEP viewers per session (rtc-scale, whip; default 0), each measuring
                         the session's processed video glass to glass; they count against capacity
  --engine libwebrtc|native
                         the simulated clients' WebRTC stack (webrtc mode):
                         libwebrtc (default): @roamhq/wrtc, jitter buffer and pacing as in a browser;
                         native: werift + FFmpeg (the server's native engine as a client), decodes
                         each frame on arrival (no jitter buffer: lower latency than a browser sees)
  --codec vp8|h264       the codec the clients offer first (webrtc mode; default vp8: VP8 alone);
                         h264 (--engine native only: the libwebrtc build has no H264) offers H264
                         packetization-mode 1, constrained baseline, then VP8, as a browser
                         preferring H264 does; each session's report says what was answered

Load profile (sessions = concurrent WebRTC sessions, or HTTP connections in process mode)
  --sessions N --duration S
                         one steady phase of N sessions for S (30, 30s, 2m)
  --sessions N           alone: the default multi-phase profile with peak N
  --phases LIST          name:sessions:duration[:ramp],...  e.g.
                         ramp:8:20s:ramp,steady:8:60s,spike:16:15s,cool-down:2:15s
  --profile FILE         JSON or YAML: [{name, sessions, duration, ramp?}, ...] or {phases: [...]}
  (default: multi-phase with peak 4: ramp 0→4 20 s, steady 4 40 s, spike 8 15 s, cool-down 1 15 s)
  --spawn-rate R         new sessions per second at most (default 2)
  --settle S             leave the first S seconds of each phase out of that phase's figures
                         (connection transients; default 0). Timeline and overall keep them.

Video (webrtc mode)
  --resolution WxH       sent video size (default 640x360; process mode: /process image size, default 1920x1080)
  --fps N                frames per second sent (default 30)
  --filter NAME          server filter (default blur); aiortc: the video_transform
  --iterations N         filter iterations (default 1; process mode 10)
  --style blur|pixelate  how anonymize hides faces (rtc-scale, whip, process; default: the server's)
  --backend B            auto|cpu|gpu (rtc-scale only; default: the server's)
  --workers N            worker processes running the sessions (default ${defaultWorkers()})
  --connect-timeout S    offer to first frame back must take less (default 20)
  --token T              bearer token for /offer and /process (default: $LOADGEN_TOKEN)

HTTP (process mode)
  --rate R               overall requests per second cap (default: none)
  --request-timeout S    per-request timeout (default 30)

Output
  --out DIR              writes loadgen-report.json and loadgen-report.html (default ./loadgen-out)
  --slo-p95-ms X         exit status 1 when the run's p95 latency exceeds X ms
  --slo-min-fps X        exit status 1 when the mean received fps per session is below X
  --quiet                no live progress line
  --help                 this text

Exit status: 0 run complete and objectives met, 1 an objective missed, 2 usage error, 3 run failed.
Every run stops by itself after its profile (plus at most a minute of wind-down).
`;

function defaultWorkers(): number {
  return Math.max(1, Math.min(8, Math.floor(os.availableParallelism() / 2)));
}

/** A positive number option (undefined when absent). */
function positive(name: string, v: string | undefined, integer: boolean): number | undefined {
  return numberArg(name, v, { positive: true, integer });
}

/** A number option that may also be 0 (undefined when absent). */
function nonNegative(name: string, v: string | undefined, integer: boolean): number | undefined {
  return numberArg(name, v, { min: 0, integer });
}

/** Parse argv (without node and script). Returns null when --help was asked for. */
export function parseOptions(argv: string[]): LoadgenOptions | null {
  const values = parseCommandLine(argv, {
    url: { type: 'string' }, mode: { type: 'string' }, protocol: { type: 'string' }, engine: { type: 'string' }, codec: { type: 'string' }, viewers: { type: 'string' },
    sessions: { type: 'string' }, duration: { type: 'string' }, phases: { type: 'string' }, profile: { type: 'string' },
    'spawn-rate': { type: 'string' }, settle: { type: 'string' }, resolution: { type: 'string' }, fps: { type: 'string' }, filter: { type: 'string' },
    iterations: { type: 'string' }, style: { type: 'string' }, backend: { type: 'string' }, workers: { type: 'string' },
    'connect-timeout': { type: 'string' }, rate: { type: 'string' }, 'request-timeout': { type: 'string' },
    out: { type: 'string' }, 'slo-p95-ms': { type: 'string' }, 'slo-min-fps': { type: 'string' },
    token: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const str = (k: string): string | undefined => stringArg(values, k);

  const url = str('url');
  if (!url) throw new UsageError('--url is required (e.g. --url http://127.0.0.1:8080)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError('--url must be http or https');

  const mode = oneOfArg('mode', str('mode') ?? 'webrtc', ['webrtc', 'process'] as const);
  const protocol: Protocol = oneOfArg('protocol', str('protocol') ?? 'rtc-scale', PROTOCOLS);
  const engine: ClientEngine = oneOfArg('engine', str('engine') ?? 'libwebrtc', CLIENT_ENGINES);
  if (str('engine') !== undefined && mode === 'process') throw new UsageError('--engine applies to webrtc mode only');
  const codec: ClientCodec = oneOfArg('codec', str('codec') ?? 'vp8', CLIENT_CODECS);
  if (str('codec') !== undefined && mode === 'process') throw new UsageError('--codec applies to webrtc mode only');
  if (codec === 'h264' && engine !== 'native') throw new UsageError('--codec h264 needs --engine native (the libwebrtc client\'s build has no H264)');
  const viewers = numberArg('viewers', str('viewers'), { integer: true, min: 0, max: 16 }) ?? 0;
  if (viewers > 0 && protocol === 'aiortc') throw new UsageError('--viewers needs --protocol rtc-scale or whip (aiortc has no WHEP)');

  const sources = ['phases', 'profile'].filter((k) => str(k) !== undefined);
  if (sources.length > 1) throw new UsageError('give either --phases or --profile, not both');
  const sessions = positive('sessions', str('sessions'), true);
  let phases: Phase[];
  try {
    if (str('phases')) phases = parsePhasesArg(str('phases')!);
    else if (str('profile')) phases = readProfileFile(str('profile')!);
    else if (str('duration') !== undefined) {
      phases = [{ name: 'steady', sessions: sessions ?? 1, durationS: parseDuration(str('duration')), ramp: false }];
    } else phases = multiPhaseProfile(sessions ?? 4);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (sources.length && (sessions !== undefined || str('duration') !== undefined)) {
    throw new UsageError('--sessions/--duration cannot be combined with --phases or --profile');
  }

  const res = parseResolution('resolution', str('resolution') ?? (mode === 'process' ? '1920x1080' : '640x360'),
    { minWidth: 16, minHeight: 16, maxWidth: 7680, maxHeight: 4320 });
  if (mode === 'webrtc' && (res.width % 2 || res.height % 2 || res.width < 160)) {
    throw new UsageError('--resolution for webrtc must be even and at least 160 wide (the frame stamp needs room)');
  }
  const iterations = positive('iterations', str('iterations'), true) ?? (mode === 'process' ? 10 : 1);
  if (iterations > MAX_ITERATIONS) throw new UsageError(`--iterations must be at most ${MAX_ITERATIONS}`);
  const style = str('style') === undefined ? undefined : oneOfArg('style', str('style')!, ANONYMIZE_STYLES);
  if (style !== undefined && protocol === 'aiortc') throw new UsageError('--style needs --protocol rtc-scale or whip (aiortc has no style)');
  const fps = positive('fps', str('fps'), false) ?? 30;
  if (fps > 120) throw new UsageError('--fps must be at most 120');

  return {
    url: url.replace(/\/+$/, ''),
    mode,
    protocol,
    engine,
    codec,
    viewers,
    phases,
    width: res.width,
    height: res.height,
    fps,
    filter: str('filter') ?? 'blur',
    iterations,
    style,
    backend: str('backend'),
    workers: positive('workers', str('workers'), true) ?? defaultWorkers(),
    spawnRate: positive('spawn-rate', str('spawn-rate'), false) ?? 2,
    settleS: nonNegative('settle', str('settle'), false) ?? 0,
    connectTimeoutS: positive('connect-timeout', str('connect-timeout'), false) ?? 20,
    rate: positive('rate', str('rate'), false),
    requestTimeoutS: positive('request-timeout', str('request-timeout'), false) ?? 30,
    outDir: str('out') ?? 'loadgen-out',
    sloP95Ms: positive('slo-p95-ms', str('slo-p95-ms'), false),
    sloMinFps: positive('slo-min-fps', str('slo-min-fps'), false),
    token: str('token') ?? (process.env.LOADGEN_TOKEN || undefined),
    quiet: values.quiet === true,
  };
}
