/**
 * A WHIP publisher from outside the project: FFmpeg's own `whip` muxer (libavformat, through
 * node-av), driven in a child process (ffmpeg-whip-main.ts). FFmpeg does the HTTP POST and
 * DELETE, ICE, DTLS, SRTP and RTP packetization; this side only feeds it stamped synthetic video
 * (src/loadgen/synthetic-video.ts + stamp.ts, encoded with libx264: constrained baseline,
 * zerolatency, no B-frames, a key frame every second) and reads what FFmpeg reports.
 *
 * What the muxer says it offered, was answered and was given as Location comes from its verbose
 * log, the only place node-av exposes them; `location` is null if a future FFmpeg words it
 * differently (find the session with GET /sessions then).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeStamp } from '../../src/loadgen/stamp.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'ffmpeg-whip-main.js');

/** What the child is started with (JSON in argv[2]). */
export interface FfmpegWhipChildSettings {
  url: string;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  /** The muxer's `authorization` (sent as `Authorization: Bearer <token>` on POST and DELETE). */
  token: string | null;
  handshakeTimeoutMs: number;
  /** The muxer's `whip_flags`, e.g. "dtls_active". */
  whipFlags: string | null;
}

/** Parent to child. */
export type FfmpegWhipToChild = { type: 'close' };

/** Child to parent. */
export type FfmpegWhipFromChild =
  | { type: 'log'; level: number; message: string }
  | { type: 'header-start'; at: number }
  | { type: 'header-done'; at: number }
  | { type: 'frame'; n: number; sentAt: number }
  | { type: 'error'; stage: 'encoder' | 'muxer' | 'header' | 'encode' | 'write'; code: number | null; message: string }
  | { type: 'closed'; trailer: number; message: string | null };

export interface FfmpegWhipOptions {
  width?: number;
  height?: number;
  fps?: number;
  bitrateKbps?: number;
  /** Bearer token for the WHIP endpoint and resource. */
  token?: string;
  /** The muxer's limit on ICE + DTLS, ms (FFmpeg's default is 5000). */
  handshakeTimeoutMs?: number;
  /** The muxer's `whip_flags` ("dtls_active": offer a=setup:active instead of passive). */
  whipFlags?: string;
  /** Give up on the whole header write (HTTP included) after this long and kill the child. */
  startTimeoutMs?: number;
}

/** The WHIP handshake (FFmpeg's header write) or the publisher process failed; `message` is FFmpeg's. */
export class FfmpegWhipError extends Error {
  override name = 'FfmpegWhipError';

  constructor(message: string, readonly stage: string, readonly code: number | null, readonly ffmpegLog: readonly string[]) {
    super(message);
  }
}

/** FFmpeg log levels (libavutil/log.h); FFmpeg's http protocol says the status of a refused request as a warning. */
const AV_LOG_ERROR = 16;
const AV_LOG_WARNING = 24;
const KEEP_LOG_LINES = 400;
const KEEP_SENT = 240;

/** A running FFmpeg WHIP publisher; `publish` resolves once FFmpeg's handshake completed. */
export class FfmpegWhipPublisher {
  /** Date.now() when the child began the header write (the WHIP POST follows at once). */
  headerStartedAt: number | null = null;
  /** Date.now() when the header write returned: ICE, DTLS and SRTP are up. */
  headerWrittenAt: number | null = null;
  /** The resource URL FFmpeg was given in Location (absolute, as FFmpeg resolved it). */
  location: string | null = null;
  /** The SDP offer FFmpeg POSTed and the answer it got, as the muxer logged them. */
  offerSdp: string | null = null;
  answerSdp: string | null = null;
  framesSent = 0;
  firstFrameSentAt: number | null = null;
  /** The first error after the handshake (an encode or a packet the muxer refused). */
  lastError: FfmpegWhipError | null = null;
  /** Whether FFmpeg logged that its DELETE of the resource succeeded. */
  deleted = false;
  readonly exited: Promise<number | null>;
  private readonly log: string[] = [];
  private readonly sentAt = new Map<number, number>();
  private readonly video: SyntheticVideo;
  private closedMsg: { trailer: number; message: string | null } | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly child: ChildProcess, readonly settings: FfmpegWhipChildSettings) {
    this.video = new SyntheticVideo(settings.width, settings.height);
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      resolve(code);
      this.wake();
    }));
    child.on('message', (msg: FfmpegWhipFromChild) => {
      this.onMessage(msg);
      this.wake();
    });
    const keepStderr = (chunk: Buffer) => this.keepLog(`[stderr] ${chunk.toString()}`);
    child.stderr?.on('data', keepStderr);
    child.stdout?.on('data', keepStderr);
  }

  /** Start FFmpeg publishing to `url` (e.g. "http://host:port/whip/invert"); resolves after the header write. */
  static async publish(url: string, options: FfmpegWhipOptions = {}): Promise<FfmpegWhipPublisher> {
    const settings: FfmpegWhipChildSettings = {
      url,
      width: options.width ?? 320,
      height: options.height ?? 240,
      fps: options.fps ?? 15,
      bitrateKbps: options.bitrateKbps ?? 800,
      token: options.token ?? null,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
      whipFlags: options.whipFlags ?? null,
    };
    const child = fork(MAIN, [JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const p = new FfmpegWhipPublisher(child, settings);
    const timeoutMs = options.startTimeoutMs ?? settings.handshakeTimeoutMs + 10000;
    try {
      await p.until(() => p.headerWrittenAt !== null, timeoutMs, 'the WHIP handshake (header write)');
    } catch (err) {
      p.kill();
      await p.exited;
      throw err;
    }
    return p;
  }

  /** Milliseconds the header write took (POST, answer, ICE, DTLS, SRTP). */
  get handshakeMs(): number | null {
    return this.headerStartedAt === null || this.headerWrittenAt === null ? null : this.headerWrittenAt - this.headerStartedAt;
  }

  /** The resource id (last path segment of Location), if FFmpeg's log gave the Location. */
  get resourceId(): string | null {
    return this.location === null ? null : (new URL(this.location).pathname.split('/').pop() ?? null);
  }

  /** The frame sent with this number, stamp included, while its send time is still kept. */
  sentFrame(n: number): Uint8Array | undefined {
    const at = this.sentAt.get(n);
    if (at === undefined) return undefined;
    // SyntheticVideo draws frame n the same way every time: draw it again instead of keeping copies.
    const { width, height } = this.settings;
    const data = this.video.render(n).slice();
    writeStamp(data, width, height, { frameNumber: n, sendTimeMs: at });
    return data;
  }

  /** FFmpeg's log lines (verbose and above) and the child's stderr, oldest first. */
  logs(): readonly string[] {
    return this.log;
  }

  /** Wait until `n` frames have been handed to the muxer. */
  async waitForFramesSent(n: number, timeoutMs = 10000): Promise<void> {
    await this.until(() => this.framesSent >= n, timeoutMs, `${n} frames sent`);
  }

  /**
   * Stop sending and write the trailer: FFmpeg DELETEs the resource. Resolves with the trailer's
   * return code once the child exited; kills it after `timeoutMs`.
   */
  async close(timeoutMs = 10000): Promise<{ trailer: number; message: string | null }> {
    if (this.child.connected) this.child.send({ type: 'close' } satisfies FfmpegWhipToChild);
    try {
      await this.until(() => this.closedMsg !== null, timeoutMs, 'the trailer', false);
    } finally {
      this.kill();
      await this.exited;
    }
    return this.closedMsg!;
  }

  /** SIGKILL the child if it still runs (for finally blocks); no trailer, no DELETE. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onMessage(msg: FfmpegWhipFromChild): void {
    switch (msg.type) {
      case 'log':
        this.onLog(msg.level, msg.message);
        break;
      case 'header-start':
        this.headerStartedAt = msg.at;
        break;
      case 'header-done':
        this.headerWrittenAt = msg.at;
        break;
      case 'frame':
        this.framesSent++;
        this.firstFrameSentAt ??= msg.sentAt;
        this.sentAt.set(msg.n, msg.sentAt);
        if (this.sentAt.size > KEEP_SENT) this.sentAt.delete(this.sentAt.keys().next().value!);
        break;
      case 'error': {
        // First lines only: the muxer's error lines repeat the whole offer.
        const said = this.log.filter((l) => l.startsWith('[error]') || l.startsWith('[warning]')).map((l) => l.split(/\r?\n/)[0]!);
        const message = said.length > 0 ? `${msg.message}; FFmpeg: ${said.join(' | ')}` : msg.message;
        this.lastError = new FfmpegWhipError(message, msg.stage, msg.code, [...this.log]);
        break;
      }
      case 'closed':
        this.closedMsg = { trailer: msg.trailer, message: msg.message };
        break;
    }
  }

  private onLog(level: number, message: string): void {
    const text = message.trimEnd();
    const tag = level <= AV_LOG_ERROR ? 'error' : level <= AV_LOG_WARNING ? 'warning' : String(level);
    this.keepLog(`[${tag}] ${text}`);
    // Wordings of libavformat/whip.c (FFmpeg 8.1): "...offer: <sdp>", "...answer: <sdp>",
    // "ICE STUN ok, ... location=<url>, username=...", "Dispose resource <url> ok".
    let m = /\boffer: (v=0[\s\S]*)$/.exec(message);
    if (m && this.offerSdp === null) this.offerSdp = m[1]!;
    m = /\banswer: (v=0[\s\S]*)$/.exec(message);
    if (m && this.answerSdp === null) this.answerSdp = m[1]!;
    m = /\blocation=(\S+?),/.exec(message);
    if (m && this.location === null) this.location = m[1]!;
    if (/Dispose resource \S+ ok/.test(message)) this.deleted = true;
  }

  private keepLog(line: string): void {
    this.log.push(line);
    if (this.log.length > KEEP_LOG_LINES) this.log.shift();
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Resolve when `cond` holds; reject after `timeoutMs`, when the child exited first, or (`failOnError`) on its error. */
  private until(cond: () => boolean, timeoutMs: number, what: string, failOnError = true): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (cond()) return done(null);
        if (failOnError && this.lastError) return done(this.lastError);
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          return done(new FfmpegWhipError(`the FFmpeg publisher exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}`, 'exit', null, [...this.log]));
        }
      };
      const timer = setTimeout(() => done(new FfmpegWhipError(`timed out after ${timeoutMs} ms waiting for ${what}`, 'timeout', null, [...this.log])), timeoutMs);
      const done = (err: FfmpegWhipError | null) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}
