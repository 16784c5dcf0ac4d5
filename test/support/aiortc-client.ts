/**
 * Runs the aiortc test client (test/support/aiortc/client.py, Debian's python3-aiortc) against a
 * server and collects its JSON lines: the connection, every frame that came back (stamp, latency,
 * plane means next to those of the frame as sent), data channel messages, and the end.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The sources stay in test/support/aiortc/ (not compiled): from dist/test/support/ go back to the repository. */
const CLIENT = path.resolve(HERE, '../../../test/support/aiortc/client.py');
/** Debian's interpreter, where apt installs python3-aiortc (not a pyenv or virtualenv one). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
/** Frame lines kept at most (a minute at 60 fps); the count goes on past it. */
const MAX_FRAMES = 3600;
const MAX_CHANNEL = 1000;

/** Options of one client run. */
export interface AiortcClientOptions {
  url: string;
  filter?: string;
  iterations?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Stop once this many stamped frames came back (default 90). */
  frames?: number;
  /** Seconds of video at most (default 20). */
  durationS?: number;
  /** Offer only this codec (default: aiortc's own list, VP8 then H264). */
  codec?: 'VP8' | 'H264';
  /** Kill the client after this long, whatever it does (default: duration + 20 s). */
  killAfterMs?: number;
  /** Called for every line as it arrives. */
  onLine?: (line: AiortcLine) => void;
}

/** The answer arrived and was applied. */
export interface ConnectedLine {
  type: 'connected';
  sessionId: string | null;
  /** The codec the answer chose, e.g. "video/VP8". */
  codec: string | null;
  answerMs: number;
}

/** One received frame. `frame`/`latencyMs` are null when its stamp did not read back. */
export interface FrameLine {
  type: 'frame';
  frame: number | null;
  latencyMs: number | null;
  width: number;
  height: number;
  /** Means of the Y, U, V planes below the stamp band. */
  meanY: number;
  meanU: number;
  meanV: number;
  /** The same means of that frame as it was sent (absent when the stamp did not read or it is too old). */
  sentMeanY?: number;
  sentMeanU?: number;
  sentMeanV?: number;
}

export interface ChannelLine { type: 'channel'; data: string }
export interface DoneLine { type: 'done'; sent: number; received: number; decoded: number; channelMessages: number }
export interface ErrorLine { type: 'error'; message: string }
export type AiortcLine = ConnectedLine | FrameLine | ChannelLine | DoneLine | ErrorLine;

/** What one run produced. */
export interface AiortcRun {
  exitCode: number | null;
  connected: ConnectedLine | null;
  frames: FrameLine[];
  channel: string[];
  done: DoneLine | null;
  errors: string[];
  /** The last part of stderr (aiortc's own warnings and tracebacks). */
  stderr: string;
}

/** Whether Debian's python3 can import aiortc here; the reason when it cannot. */
export function aiortcAvailable(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import aiortc, numpy, av'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return { ok: false, reason: `${SYSTEM_PYTHON}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `python3-aiortc not importable (apt-get install python3-aiortc): ${r.stderr.trim().split('\n').at(-1) ?? ''}` };
  return { ok: true };
}

/** Parse one stdout line of the client; null for anything that is not one of its JSON lines. */
export function parseAiortcLine(text: string): AiortcLine | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const type = (v as { type?: unknown }).type;
  return type === 'connected' || type === 'frame' || type === 'channel' || type === 'done' || type === 'error' ? (v as AiortcLine) : null;
}

/** Run the client to its end and collect what it printed. */
export function runAiortcClient(opts: AiortcClientOptions): Promise<AiortcRun> {
  const durationS = opts.durationS ?? 20;
  const args = [
    CLIENT, '--url', opts.url, '--filter', opts.filter ?? 'none', '--iterations', String(opts.iterations ?? 1),
    '--width', String(opts.width ?? 640), '--height', String(opts.height ?? 360), '--fps', String(opts.fps ?? 30),
    '--frames', String(opts.frames ?? 90), '--duration', String(durationS), ...(opts.codec ? ['--codec', opts.codec] : []),
  ];
  const run: AiortcRun = { exitCode: null, connected: null, frames: [], channel: [], done: null, errors: [], stderr: '' };
  return new Promise((resolve) => {
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let pending = '';
    const onLine = (text: string): void => {
      const line = parseAiortcLine(text);
      if (!line) return;
      opts.onLine?.(line);
      switch (line.type) {
        case 'connected': run.connected = line; break;
        case 'frame': if (run.frames.length < MAX_FRAMES) run.frames.push(line); break;
        case 'channel': if (run.channel.length < MAX_CHANNEL) run.channel.push(line.data); break;
        case 'done': run.done = line; break;
        case 'error': run.errors.push(line.message); break;
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) onLine(l);
      // A line longer than any the client writes is not one of its lines: drop it, stay bounded.
      if (pending.length > 64 * 1024) pending = '';
    });
    child.stderr.on('data', (chunk: Buffer) => { run.stderr = (run.stderr + chunk.toString()).slice(-8000); });
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? (durationS + 20) * 1000);
    child.once('error', (err) => run.errors.push(`${SYSTEM_PYTHON}: ${err.message}`));
    child.once('close', (code) => {
      clearTimeout(killer);
      if (pending) onLine(pending);
      run.exitCode = code;
      resolve(run);
    });
  });
}

/** Median of a list of numbers. */
function medianOf(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Frames whose stamp read back and whose sent frame is still known. */
export function matchedFrames(run: AiortcRun): Array<FrameLine & { frame: number; latencyMs: number; sentMeanY: number; sentMeanU: number; sentMeanV: number }> {
  return run.frames.filter((f): f is FrameLine & { frame: number; latencyMs: number; sentMeanY: number; sentMeanU: number; sentMeanV: number } =>
    f.frame !== null && f.latencyMs !== null && f.sentMeanY !== undefined && f.sentMeanU !== undefined && f.sentMeanV !== undefined);
}

/** Assert a run connected on `codec`, got `frames` stamped frames back, and that the stamps are intact. */
export function assertAiortcRun(run: AiortcRun, label: string, frames: number, codec: string): void {
  const info = `${label}: exit ${run.exitCode}, errors ${JSON.stringify(run.errors)}\n${run.stderr.slice(-1500)}`;
  assert.equal(run.exitCode, 0, info);
  assert.ok(run.connected?.sessionId, `${label}: the answer carries a sessionId (${info})`);
  assert.equal(run.connected?.codec, codec, info);
  assert.ok(run.done, info);
  assert.equal(run.done!.decoded, frames, `${label}: ${frames} stamped frames back (${JSON.stringify(run.done)})`);
  const m = matchedFrames(run);
  assert.ok(m.length >= frames - 5, `${label}: ${m.length} frames matched to the frames sent`);
  // Stamps intact: numbers rise, each one was sent, and the latency is that of a live call.
  for (let i = 1; i < m.length; i++) assert.ok(m[i]!.frame >= m[i - 1]!.frame, `${label}: frame numbers rise (${m[i - 1]!.frame} then ${m[i]!.frame})`);
  assert.ok(m.at(-1)!.frame - m[0]!.frame >= m.length / 2, `${label}: frame numbers advance (${m[0]!.frame}..${m.at(-1)!.frame})`);
  assert.ok(m.every((f) => f.frame < run.done!.sent), `${label}: every frame number read back was sent`);
  assert.ok(m.every((f) => f.latencyMs > 0 && f.latencyMs < 3000), `${label}: latencies ${m.map((f) => f.latencyMs).join(',')}`);
}

/** Median distance of the received plane means from `255 - sent` (invert) and how far they moved from the sent ones. */
export function invertErrors(run: AiortcRun): { y: number; u: number; v: number; movedMin: number } {
  const m = matchedFrames(run);
  const err = (k: 'Y' | 'U' | 'V'): number => medianOf(m.map((f) => Math.abs(f[`mean${k}`] - (255 - f[`sentMean${k}`]))));
  const moved = (k: 'Y' | 'U' | 'V'): number => medianOf(m.map((f) => Math.abs(f[`mean${k}`] - f[`sentMean${k}`])));
  return { y: err('Y'), u: err('U'), v: err('V'), movedMin: Math.min(moved('Y'), moved('U'), moved('V')) };
}
