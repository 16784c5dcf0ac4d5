/**
 * TURN relay through a real coturn (Debian's turnserver) on loopback with the TURN REST API
 * shared secret: credentials from src/server/turn-credentials.ts are accepted and wrong ones are
 * not; two relay-only peer connections talk through it; and a relay-only client runs a processing
 * session against the real server with the credentials from GET /ice-servers.
 *
 * coturn needs `allow-loopback-peers` here: every address is 127.0.0.1, and coturn otherwise
 * refuses to relay towards loopback peers. In a cluster the peers are pod IPs and that option
 * stays off (k8s/coturn/turnserver.conf allows only private ranges).
 */
import '../support/wrtc-exit.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RTCPeerConnection, waitForIceGathering, type RTCIceServer, type RTCStats } from '../../src/media/wrtc.js';
import { turnCredentials } from '../../src/server/turn-credentials.js';
import { RtcClient } from '../support/rtc-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SECRET = `test-${randomBytes(8).toString('hex')}`;
const hasTurnserver = spawnSync('bash', ['-c', 'command -v turnserver'], { stdio: 'ignore' }).status === 0;

interface Coturn { port: number; stop(): Promise<void>; logs(): string }

/** A free UDP port on loopback (bound, read, released). */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once the server answers a STUN Binding request on 127.0.0.1:port. */
async function stunReachable(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0); // Binding request, no attributes
  req.writeUInt32BE(0x2112a442, 4); // magic cookie
  randomBytes(12).copy(req, 8);
  while (Date.now() < deadline) {
    const s = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 200);
      s.on('message', (msg) => { if (msg.readUInt16BE(0) === 0x0101) { clearTimeout(t); resolve(true); } });
      s.on('error', () => { clearTimeout(t); resolve(false); });
      s.send(req, port, '127.0.0.1');
    });
    s.close();
    if (ok) return;
  }
  throw new Error(`no STUN answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

async function startCoturn(): Promise<Coturn> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-coturn-'));
  const port = await freeUdpPort();
  const minPort = 50000 + Math.floor(Math.random() * 10000);
  const conf = [
    'listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', `listening-port=${port}`,
    `min-port=${minPort}`, `max-port=${minPort + 199}`,
    'use-auth-secret', `static-auth-secret=${SECRET}`, 'realm=rtc-scale.test',
    'fingerprint', 'no-tls', 'no-dtls', 'no-cli', 'no-tcp-relay', 'allow-loopback-peers', 'no-multicast-peers',
    `pidfile=${dir}/turnserver.pid`, `userdb=${dir}/turndb`, 'log-file=stdout', 'simple-log', 'verbose',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'turnserver.conf'), conf + '\n');
  const child: ChildProcess = spawn('turnserver', ['-c', path.join(dir, 'turnserver.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await stunReachable(port, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return {
    port,
    logs: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function turnServer(port: number, user: string, secret = SECRET): RTCIceServer {
  const c = turnCredentials(secret, 600, user);
  return { urls: `turn:127.0.0.1:${port}?transport=udp`, username: c.username, credential: c.credential };
}

const candidateTypes = (sdp: string): string[] => [...sdp.matchAll(/a=candidate:.* typ (\w+)/g)].map((m) => m[1]!);

/** Candidate types of the nominated, succeeded pair: [local, remote]. */
async function selectedPair(pc: InstanceType<typeof RTCPeerConnection>): Promise<[string, string] | undefined> {
  const stats: RTCStats[] = [...(await pc.getStats()).values()];
  const byId = new Map(stats.map((s) => [s.id, s]));
  const pair = stats.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated === true);
  if (!pair) return undefined;
  const type = (id: unknown): string => String(byId.get(String(id))?.candidateType);
  return [type(pair.localCandidateId), type(pair.remoteCandidateId)];
}

async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('TURN relay through coturn (TURN REST API credentials)', { skip: !hasTurnserver && 'turnserver not installed (Debian package coturn)' }, () => {
  let turn: Coturn;
  before(async () => { turn = await startCoturn(); });
  after(async () => { await turn.stop(); });

  it('hands out relay candidates for valid credentials and none for a wrong secret or an expired username', async () => {
    const gather = async (server: RTCIceServer): Promise<string[]> => {
      const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
      try {
        pc.createDataChannel('probe');
        await pc.setLocalDescription(await pc.createOffer());
        await waitForIceGathering(pc, 8000);
        return candidateTypes(pc.localDescription!.sdp);
      } finally {
        pc.close();
      }
    };
    assert.deepEqual([...new Set(await gather(turnServer(turn.port, 'alice')))], ['relay']);
    assert.deepEqual(await gather(turnServer(turn.port, 'mallory', 'not-the-secret')), []);
    const expired = turnCredentials(SECRET, 60, 'late', Date.now() - 3_600_000);
    assert.deepEqual(await gather({ urls: `turn:127.0.0.1:${turn.port}`, username: expired.username, credential: expired.credential }), []);
  });

  it('carries a data channel between two relay-only peers', async () => {
    const a = new RTCPeerConnection({ iceServers: [turnServer(turn.port, 'a')], iceTransportPolicy: 'relay' });
    const b = new RTCPeerConnection({ iceServers: [turnServer(turn.port, 'b')], iceTransportPolicy: 'relay' });
    try {
      const received: string[] = [];
      b.ondatachannel = ({ channel }) => {
        channel.onmessage = (ev) => { if (typeof ev.data === 'string') { received.push(ev.data); channel.send(`echo:${ev.data}`); } };
      };
      const ch = a.createDataChannel('x');
      const echoed: string[] = [];
      ch.onmessage = (ev) => { if (typeof ev.data === 'string') echoed.push(ev.data); };
      await a.setLocalDescription(await a.createOffer());
      await waitForIceGathering(a, 8000);
      assert.deepEqual([...new Set(candidateTypes(a.localDescription!.sdp))], ['relay']);
      await b.setRemoteDescription(a.localDescription!);
      await b.setLocalDescription(await b.createAnswer());
      await waitForIceGathering(b, 8000);
      await a.setRemoteDescription(b.localDescription!);
      await until(() => ch.readyState === 'open', 15_000, 'data channel open');
      ch.send('hello');
      await until(() => echoed.length > 0, 10_000, 'echo');
      assert.deepEqual(received, ['hello']);
      assert.deepEqual(echoed, ['echo:hello']);
      assert.deepEqual(await selectedPair(a), ['relay', 'relay']);
    } finally {
      a.close();
      b.close();
    }
  });

  describe('against the server', () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ env: { RTC_TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`, RTC_TURN_SECRET: SECRET, RTC_TURN_TTL_S: '300' } });
    });
    after(async () => { await srv.stop(); });

    it('GET /ice-servers hands out TURN credentials that expire after RTC_TURN_TTL_S', async () => {
      const body = (await (await fetch(`${srv.url}/ice-servers`)).json()) as { iceServers: RTCIceServer[] };
      const turnEntry = body.iceServers.find((s) => [s.urls].flat().some((u) => u.startsWith('turn:')));
      assert.ok(turnEntry?.username && turnEntry.credential, JSON.stringify(body));
      const expiry = Number(turnEntry.username.split(':')[0]);
      const now = Date.now() / 1000;
      assert.ok(expiry > now + 250 && expiry <= now + 301, `expiry ${expiry - now} s from now`);
    });

    it('a relay-only client gets processed video back through coturn', async () => {
      const body = (await (await fetch(`${srv.url}/ice-servers`)).json()) as { iceServers: RTCIceServer[] };
      const c = await RtcClient.connect(srv.url, { iceServers: body.iceServers, iceTransportPolicy: 'relay' });
      try {
        assert.deepEqual([...new Set(candidateTypes(c.pc.localDescription!.sdp))], ['relay']);
        try {
          await c.waitForFrames(5, 30_000);
        } catch (err) {
          const diag = `client ${c.pc.connectionState}/${c.pc.iceConnectionState}, sent ${c.framesSent}, received ${c.framesReceived}`;
          throw new Error(`${(err as Error).message}; ${diag}\n--- server\n${srv.logs().slice(-3000)}\n--- coturn\n${turn.logs().slice(-3000)}`);
        }
        const pair = await selectedPair(c.pc);
        assert.equal(pair?.[0], 'relay', `client side of the selected pair: ${JSON.stringify(pair)}`);
      } finally {
        c.close();
      }
    });
  });
});
