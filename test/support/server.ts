/**
 * Starts the real server (dist/src/server/main.js) as a child process on a free loopback port,
 * for integration and end-to-end tests. stop() sends SIGTERM and waits for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/toolkit/free-port.js';

export { freePort };

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/server/main.js');

export interface TestServer {
  url: string;
  port: number;
  pid: number;
  /** The child process (for tests that send signals themselves). */
  child: ChildProcess;
  /** Everything the server wrote so far (stdout + stderr). */
  logs(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM (then SIGKILL after `killAfterMs`), resolve on exit. */
  stop(killAfterMs?: number): Promise<number | null>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  /** How long to wait for the listening line. */
  startTimeoutMs?: number;
  /** Start the server with this limit on open files (prlimit --nofile). */
  openFileLimit?: number;
}

/** Thrown when the port picked for a server was taken before the server could bind it. */
class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/**
 * Start a server with the given environment (merged over sane test defaults). A free port is
 * picked, then bound by the child a moment later; should something else take it in between,
 * the start is tried again on another port.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const fixedPort = options.env?.PORT !== undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, Number(options.env?.PORT ?? (await freePort())));
    } catch (err) {
      if (!(err instanceof PortTakenError) || fixedPort || attempt >= 3) throw err;
    }
  }
}

async function startOnce(options: TestServerOptions, port: number): Promise<TestServer> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    RTC_HOST: '127.0.0.1',
    RTC_LOG_LEVEL: 'info',
    RTC_CPU_WORKERS: '2',
    RTC_BACKEND: 'cpu',
    RTC_DRAIN_TIMEOUT_S: '5',
    // Tests fire requests faster than any client should; the limit has its own test.
    RTC_RATE_LIMIT_PER_MIN: '0',
    ...options.env,
    PORT: String(port),
  };
  const node = [process.execPath, '--enable-source-maps', MAIN];
  // prlimit execs node in its own process, so the pid stays the server's.
  const argv = options.openFileLimit === undefined ? node : ['prlimit', `--nofile=${options.openFileLimit}:${options.openFileLimit}`, '--', ...node];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => { exitCode = code; });

  // Ready when /healthz answers: independent of the log level.
  const timeoutMs = options.startTimeoutMs ?? 30000;
  const deadline = Date.now() + timeoutMs;
  // At the info level the server says which port it bound: wait for that too, so that another
  // process answering /healthz on a port ours failed to bind is never taken for ours.
  const level = env.RTC_LOG_LEVEL ?? 'info';
  const listeningLine = ['info', 'debug', 'trace'].includes(level) ? `listening on http://127.0.0.1:${port} ` : null;
  for (;;) {
    if (exitCode !== undefined) {
      if (output.includes('EADDRINUSE')) throw new PortTakenError(`port ${port} was taken:\n${output}`);
      throw new Error(`server exited with ${exitCode} before listening:\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`server did not start within ${timeoutMs} ms:\n${output}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok && (listeningLine === null || output.includes(listeningLine))) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async (killAfterMs = 15000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, child, logs: () => output, exited, stop };
}
