/**
 * Starts one server of a benchmark kind on a free loopback port and stops it again:
 * rtc-scale (dist/src/server/main.js) with RTC_MEDIA_ENGINE set to the kind, or the aiortc peer
 * (bench/media/aiortc-server.py under Debian's python3). A server that exits at start, or that
 * runs a different engine than asked for, is refused with the reason (the benchmark skips it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/toolkit/free-port.js';
import type { ServerKind } from './options.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/bench/media/. */
export const REPO_ROOT = path.resolve(HERE, '../../..');
const RTC_MAIN = path.join(REPO_ROOT, 'dist/src/server/main.js');
const AIORTC_SERVER = path.join(REPO_ROOT, 'bench/media/aiortc-server.py');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** The tail of the server's output kept for error messages. */
const TAIL_CHARS = 4000;

/** The server would not start as asked; `reason` says why (it goes into the JSON). */
export class ServerRefusedError extends Error {
  override readonly name = 'ServerRefusedError';
}

/** A running benchmark server. */
export interface BenchServer {
  kind: ServerKind;
  url: string;
  pid: number;
  /** What its /healthz answered once it was up. */
  health: Record<string, unknown>;
  /** The last output lines (stdout and stderr). */
  tail(): string;
  /** SIGTERM, then SIGKILL after a bound; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** The engine a server says it runs: rtc-scale's /healthz `mediaEngine` (or `engine`); null when it does not say. */
export function reportedEngine(health: Record<string, unknown>): string | null {
  for (const key of ['mediaEngine', 'engine']) {
    const v = health[key];
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return (v as { name: string }).name;
  }
  return null;
}

/**
 * Whether a server that answered `health` runs the engine of `kind`, or the reason it does not.
 * A server that does not report its engine is taken as today's libwebrtc-only build.
 */
export function engineCheck(kind: ServerKind, health: Record<string, unknown>): string | null {
  if (kind === 'aiortc') return health.server === 'aiortc' ? null : 'the server on the port is not the aiortc peer';
  const engine = reportedEngine(health);
  if (engine === null) {
    return kind === 'libwebrtc' ? null : `this rtc-scale build does not report a media engine in /healthz, so RTC_MEDIA_ENGINE=${kind} is not supported`;
  }
  return engine === kind ? null : `asked for RTC_MEDIA_ENGINE=${kind}, the server runs ${engine}`;
}

function commandFor(kind: ServerKind, port: number, python: string, rtcServer: string): { cmd: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string } {
  if (kind === 'aiortc') {
    return { cmd: python, args: [AIORTC_SERVER, '--host', '127.0.0.1', '--port', String(port)], env: { ...process.env, PYTHONUNBUFFERED: '1' }, cwd: REPO_ROOT };
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    RTC_HOST: '127.0.0.1',
    RTC_MEDIA_ENGINE: kind,
    // The staircase looks for the collapse: admission must not stop it first (neither the hard
    // cap nor the measured-load estimate, which 1024 capacity cores keeps near zero).
    RTC_MAX_SESSIONS: process.env.RTC_MAX_SESSIONS ?? '1000',
    RTC_CAPACITY_CORES: process.env.RTC_CAPACITY_CORES ?? '1024',
    RTC_RATE_LIMIT_PER_MIN: process.env.RTC_RATE_LIMIT_PER_MIN ?? '0',
    RTC_LOG_LEVEL: process.env.RTC_LOG_LEVEL ?? 'warn',
    RTC_DRAIN_TIMEOUT_S: '2',
    // As the Dockerfile runs it: libwebrtc fragments memory across many arenas otherwise.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  };
  // Run another build's server from its own checkout (dist/src/server/main.js is three levels down).
  return { cmd: process.execPath, args: ['--enable-source-maps', rtcServer], env, cwd: path.resolve(path.dirname(rtcServer), '../../..') };
}

/** Start a server of `kind`; its output goes to `logFile`. Throws ServerRefusedError when it cannot run as asked. */
export async function startServer(kind: ServerKind, opts: { python: string; logFile: string; rtcServer?: string | undefined }): Promise<BenchServer> {
  const port = await freePort();
  const { cmd, args, env, cwd } = commandFor(kind, port, opts.python, opts.rtcServer ? path.resolve(opts.rtcServer) : RTC_MAIN);
  const log: WriteStream = createWriteStream(opts.logFile);
  let tail = '';
  const keep = (chunk: Buffer): void => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-TAIL_CHARS);
  };
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    log.end();
    throw new ServerRefusedError(`cannot run ${cmd}: ${(err as Error).message}`);
  }
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let spawnError: Error | null = null;
  child.once('error', (err) => { spawnError = err; });
  const exited = new Promise<void>((resolve) => child.once('close', () => { log.end(); resolve(); }));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null && spawnError === null;
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (alive()) {
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (alive()) child.kill('SIGKILL'); }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(t);
    } else {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    }
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let health: Record<string, unknown> | null = null;
  while (health === null) {
    if (!alive()) {
      await stop();
      const why = spawnError ? (spawnError as Error).message : `exited with ${child.exitCode ?? child.signalCode}`;
      throw new ServerRefusedError(`${kind} server ${why} before it answered /healthz: ${tail.trim().slice(-600)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new ServerRefusedError(`${kind} server did not answer /healthz within ${START_TIMEOUT_MS / 1000} s: ${tail.trim().slice(-600)}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) {
        const body: unknown = await res.json();
        health = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
      }
    } catch {
      // not listening yet
    }
    if (health === null) await new Promise((r) => setTimeout(r, 100));
  }
  const refused = engineCheck(kind, health);
  if (refused !== null) {
    await stop();
    throw new ServerRefusedError(refused);
  }
  return { kind, url, pid: child.pid!, health, tail: () => tail, stop };
}
