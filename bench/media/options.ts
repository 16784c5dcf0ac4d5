/**
 * Command-line options of the media benchmark (`npm run bench:media -- ...`), its two presets
 * (quick, full) and the help text.
 */
import { CLIENT_CODECS, CLIENT_ENGINES, type ClientCodec, type ClientEngine } from '../../src/loadgen/client-media.js';
import { numberArg, oneOfArg, parseCommandLine, parseList, parseResolution, stringArg, UsageError } from '../../src/toolkit/args.js';

/** The servers the benchmark knows: rtc-scale on each media engine, and the aiortc peer. */
export const SERVER_KINDS = ['libwebrtc', 'native', 'aiortc'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** One staircase: a resolution and the session counts to step through. */
export interface Staircase {
  width: number;
  height: number;
  steps: number[];
}

/** Parsed options. */
export interface BenchOptions {
  preset: 'quick' | 'full';
  kinds: ServerKind[];
  staircases: Staircase[];
  /** Seconds of one point's steady phase, the settle time included. */
  durationS: number;
  /** The first seconds of a point left out of its figures (connection transients). */
  settleS: number;
  fps: number;
  /** The load generator's client stack (its --engine) for every kind. */
  client: ClientEngine;
  /** The codec the client offers first (its --codec) for every kind. */
  codec: ClientCodec;
  filter: string;
  iterations: number;
  sloP95Ms: number;
  /** Steps still run after a kind's first step past the objective (0: stop there). */
  pastFailure: number;
  repeat: number;
  spawnRate: number;
  loadgenWorkers: number | undefined;
  out: string | undefined;
  python: string;
  /** rtc-scale's server entry point; default this checkout's dist/src/server/main.js. */
  rtcServer: string | undefined;
}

export const HELP = `rtc-scale media benchmark: rtc-scale (per media engine) against the aiortc peer

Usage: npm run bench:media -- [options]       (runs inside a loopback-only network namespace)

For each point (a server kind, a resolution, a session count) a fresh server is started, the
project's load generator is the one client, and the server's CPU is read from /proc over the
steady window. Points run interleaved across kinds, so a change in the machine's load touches
every kind alike. One JSON document goes to stdout and to --out.

  --quick                  ~2 min: 360p 1,2,4 and 720p 1 session; 8 s a point (default)
  --full                   ~10-15 min: 360p 1,2,3,4,6,8 and 720p 1,2,3; 20 s a point
  --kinds LIST             of ${SERVER_KINDS.join(', ')} (default: all; an engine the server
                           refuses or does not report is skipped, with the reason)
  --staircase WxH:N,N,..   replace the preset's staircases (repeatable), e.g. 640x360:1,2,3,4,6
  --duration S             seconds per point, settle included (quick 8, full 20)
  --settle S               seconds left out at the start of each point (quick 3, full 5)
  --fps N                  sent frame rate (default 30)
  --client libwebrtc|native
                           the load generator's client stack for every kind (default libwebrtc,
                           as a browser; native with --codec h264)
  --codec vp8|h264         the codec the client offers first for every kind (default vp8);
                           h264 needs the native client (the libwebrtc build has no H264). Each
                           point records the codec the server answered (codecsAnswered)
  --filter NAME            server filter (default none); --iterations N (default 1)
  --slo-p95-ms X           the capacity objective (default 200)
  --past-failure N         steps still run after a kind first misses the objective (default 0)
  --repeat N               run the whole plan N times; figures are medians over the runs (default 1)
  --spawn-rate R           load generator sessions started per second (default 4)
  --loadgen-workers N      load generator worker processes (default: its own)
  --python PATH            interpreter for the aiortc server (default /usr/bin/python3)
  --rtc-server PATH        rtc-scale server to run (default dist/src/server/main.js of this
                           checkout; another build's, to compare builds)
  --out FILE               JSON output (default bench-output/media-<time>.json)
  --help
`;

const PRESETS = {
  quick: {
    durationS: 8, settleS: 3,
    staircases: [{ width: 640, height: 360, steps: [1, 2, 4] }, { width: 1280, height: 720, steps: [1] }],
  },
  full: {
    durationS: 20, settleS: 5,
    staircases: [{ width: 640, height: 360, steps: [1, 2, 3, 4, 6, 8] }, { width: 1280, height: 720, steps: [1, 2, 3] }],
  },
} as const;

const positive = (name: string, v: string | undefined, integer: boolean): number | undefined => numberArg(name, v, { positive: true, integer });
const nonNegative = (name: string, v: string | undefined, integer: boolean): number | undefined => numberArg(name, v, { min: 0, integer });

/** Parse `WxH:1,2,3`. */
export function parseStaircase(v: string): Staircase {
  const [size, counts, ...rest] = v.trim().split(':');
  if (size === undefined || counts === undefined || rest.length) throw new UsageError(`--staircase must look like 640x360:1,2,4, got ${JSON.stringify(v)}`);
  const { width, height } = parseResolution('staircase', size, { minWidth: 160, minHeight: 16, maxWidth: 3840, maxHeight: 2160, even: true });
  const steps = parseList('staircase', counts, (n) => numberArg('staircase', n, { integer: true, min: 1, max: 64 })!, 64);
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]! <= steps[i - 1]!) throw new UsageError(`--staircase ${v}: session counts must increase`);
  }
  return { width, height, steps };
}

/** Parse argv (without node and script). Returns null when --help was asked for. */
export function parseBenchOptions(argv: string[]): BenchOptions | null {
  const values = parseCommandLine(argv, {
    quick: { type: 'boolean' }, full: { type: 'boolean' }, kinds: { type: 'string' },
    staircase: { type: 'string', multiple: true }, duration: { type: 'string' }, settle: { type: 'string' },
    fps: { type: 'string' }, client: { type: 'string' }, codec: { type: 'string' }, filter: { type: 'string' }, iterations: { type: 'string' }, 'slo-p95-ms': { type: 'string' },
    'past-failure': { type: 'string' }, repeat: { type: 'string' }, 'spawn-rate': { type: 'string' },
    'loadgen-workers': { type: 'string' }, python: { type: 'string' }, out: { type: 'string' }, 'rtc-server': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const str = (k: string): string | undefined => stringArg(values, k);
  if (values.quick && values.full) throw new UsageError('give --quick or --full, not both');
  const preset = values.full ? 'full' : 'quick';
  const p = PRESETS[preset];

  let kinds: ServerKind[] = [...SERVER_KINDS];
  if (str('kinds') !== undefined) kinds = [...new Set(parseList('kinds', str('kinds')!, (k) => oneOfArg('kinds', k, SERVER_KINDS), SERVER_KINDS.length))];
  const staircaseArgs = ((values.staircase as string[] | undefined) ?? []).map(String);
  const staircases = staircaseArgs.length ? staircaseArgs.map(parseStaircase) : p.staircases.map((s) => ({ ...s, steps: [...s.steps] }));

  const durationS = positive('duration', str('duration'), false) ?? p.durationS;
  const settleS = nonNegative('settle', str('settle'), false) ?? p.settleS;
  if (durationS - settleS < 2) throw new UsageError('--duration must leave at least 2 s after --settle');
  const fps = positive('fps', str('fps'), false) ?? 30;
  if (fps > 120) throw new UsageError('--fps must be at most 120');
  const codec: ClientCodec = oneOfArg('codec', str('codec') ?? 'vp8', CLIENT_CODECS);
  // the libwebrtc client's build has no H264: asking for H264 picks the client that has it
  const client: ClientEngine = oneOfArg('client', str('client') ?? (codec === 'h264' ? 'native' : 'libwebrtc'), CLIENT_ENGINES);
  if (codec === 'h264' && client !== 'native') throw new UsageError('--codec h264 needs --client native (the libwebrtc client\'s build has no H264)');
  return {
    preset,
    kinds,
    staircases,
    durationS,
    settleS,
    fps,
    client,
    codec,
    filter: str('filter') ?? 'none',
    iterations: positive('iterations', str('iterations'), true) ?? 1,
    sloP95Ms: positive('slo-p95-ms', str('slo-p95-ms'), false) ?? 200,
    pastFailure: nonNegative('past-failure', str('past-failure'), true) ?? 0,
    repeat: positive('repeat', str('repeat'), true) ?? 1,
    spawnRate: positive('spawn-rate', str('spawn-rate'), false) ?? 4,
    loadgenWorkers: positive('loadgen-workers', str('loadgen-workers'), true),
    out: str('out'),
    python: str('python') ?? '/usr/bin/python3',
    rtcServer: str('rtc-server'),
  };
}
