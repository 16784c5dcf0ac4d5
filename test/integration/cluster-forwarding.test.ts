/**
 * Three replicas behind a real load balancer (HAProxy from Debian, round robin, no stickiness),
 * in the loopback-only namespace: every session-scoped request works whichever replica it lands
 * on, because ids name their owner (authenticated with the shared RTC_CLUSTER_SECRET) and the
 * other replicas forward one hop. Drives a WHIP publisher (the project's client, with a trickle
 * PATCH, and FFmpeg's whip muxer) and its DELETE, WHEP viewers posted until the POSTs have landed
 * on every replica (each gets processed frames: media goes straight to the owner), the /offer
 * path's GET/PATCH/DELETE, tampered and forged ids (404, nothing forwarded, no connection to the
 * address a forged id names), and an owner killed mid-test (404 from the others within seconds).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterIds, parseAdvertiseUrl } from '../../src/cluster/session-ids.js';
import { FfmpegWhipPublisher } from '../support/ffmpeg-whip-publisher.js';
import { freePort, startTestServer, type TestServer } from '../support/server.js';
import { gatheredOffer, WhepViewer, WhipPublisher } from '../support/whip-client.js';

const SECRET = 'cluster-test-secret-0123456789abcdef';
const W = 320;
const H = 240;
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p));
// Skipped on a developer machine without HAProxy; in CI (CI=true) a missing one fails instead.
const NO_HAPROXY = HAPROXY || process.env.CI ? false : 'haproxy is not installed (scripts/install-system-deps.sh installs it)';

interface Replica { srv: TestServer; port: number; url: string }

/** `rtc_cluster_*` counters of one replica, by series (e.g. `rtc_cluster_forwards_total{outcome="answered"}`). */
async function clusterCounters(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(rtc_cluster_\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
const answered = (c: Map<string, number>): number => c.get('rtc_cluster_forwards_total{outcome="answered"}') ?? 0;
const forwardsOut = (c: Map<string, number>): number =>
  [...c].filter(([k]) => k.startsWith('rtc_cluster_forwards_total')).reduce((s, [, v]) => s + v, 0);
const received = (c: Map<string, number>): number => c.get('rtc_cluster_forwards_received_total') ?? 0;

/** Start HAProxy in front of `backends`; resolves once its frontend answers. */
async function startHaproxy(port: number, backends: number[], dir: string): Promise<ChildProcess> {
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(cfg, [
    'global', '  maxconn 512',
    'defaults', '  mode http', '  timeout connect 2s', '  timeout client 30s', '  timeout server 30s',
    // A replica that refuses connections is taken out (health checks) and a refused connect is
    // tried on another: what a cloud load balancer does.
    '  retries 2', '  option redispatch',
    'frontend lb', `  bind 127.0.0.1:${port}`, '  default_backend replicas',
    'backend replicas', '  balance roundrobin', '  option httpchk GET /healthz',
    ...backends.map((p, i) => `  server r${i} 127.0.0.1:${p} check inter 300ms fall 2 rise 1`),
    '',
  ].join('\n'));
  if (!HAPROXY) throw new Error('haproxy is not installed: scripts/install-system-deps.sh installs it');
  const child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${log}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`haproxy did not answer: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('three replicas behind HAProxy (round robin): any replica answers for any session', { skip: NO_HAPROXY }, () => {
  const replicas: Replica[] = [];
  let lb = '';
  let haproxy: ChildProcess | null = null;
  let dir = '';
  const ids = new ClusterIds(SECRET, parseAdvertiseUrl('http://127.0.0.1:1'));
  /** The replica an id names as its owner. */
  const ownerOf = (id: string): Replica => {
    const a = ids.ownerOf(id);
    const r = a && replicas.find((x) => x.port === a.port);
    assert.ok(r, `id ${id} names one of the replicas`);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rtc-cluster-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const started = await Promise.all(ports.map((port) => startTestServer({
      env: {
        PORT: String(port), RTC_CLUSTER_SECRET: SECRET, RTC_ADVERTISE_URL: `http://127.0.0.1:${port}`,
        RTC_MAX_SESSIONS: '8', RTC_MAX_PIXELS: String(W * H), RTC_CONNECT_TIMEOUT_S: '20', RTC_CPU_WORKERS: '1',
        RTC_CLUSTER_CONNECT_TIMEOUT_MS: '1000', RTC_CLUSTER_FORWARD_TIMEOUT_S: '2',
      },
      startTimeoutMs: 60_000,
    })));
    started.forEach((srv, i) => replicas.push({ srv, port: ports[i]!, url: `http://127.0.0.1:${ports[i]}` }));
    const lbPort = await freePort();
    haproxy = await startHaproxy(lbPort, ports, dir);
    lb = `http://127.0.0.1:${lbPort}`;
  });

  after(async () => {
    haproxy?.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.srv.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('WHIP publish with a trickle PATCH, WHEP viewers POSTed through every replica each get processed frames, DELETEs', async (t) => {
    const before = await Promise.all(replicas.map((r) => clusterCounters(r.url)));
    const p = await WhipPublisher.publish(lb, '/whip/invert', { width: W, height: H, fps: 15, direction: 'sendonly', trickle: true });
    const viewers: WhepViewer[] = [];
    try {
      assert.equal(p.patchStatus, 204, 'the trickle PATCH went through the load balancer');
      const owner = ownerOf(p.resourceId);
      assert.match(new URL(p.location).pathname, /^\/whip\/sessions\/[A-Za-z0-9_-]{54}$/);
      // Round robin: three POSTs in a row land on three different replicas.
      for (let i = 0; i < 3; i++) viewers.push(await WhepViewer.watch(lb, p.resourceId, { trickle: i === 0 }));
      await Promise.all(viewers.map((v) => v.waitForStamped(10, 30_000)));
      for (const v of viewers) assert.equal(ownerOf(v.location.split('/').pop()!), owner, 'a viewer lives where its session does');
      const now = await Promise.all(replicas.map((r) => clusterCounters(r.url)));
      const forwarded = replicas.map((_r, i) => answered(now[i]!) - answered(before[i]!));
      t.diagnostic(`owner :${owner.port}; forwards answered per replica ${forwarded.join(', ')}; received by the owner ${received(now[replicas.indexOf(owner)]!) - received(before[replicas.indexOf(owner)]!)}`);
      replicas.forEach((r, i) => {
        if (r !== owner) assert.ok(forwarded[i]! >= 1, `replica :${r.port} forwarded at least one request to the owner`);
      });
      assert.equal(forwarded[replicas.indexOf(owner)], 0, 'the owner forwards nothing about its own session');
      for (const v of viewers) assert.equal(await v.delete(), 200, 'viewer DELETE through the load balancer');
      assert.equal(await p.delete(), 200, 'WHIP DELETE through the load balancer');
      const gone = await fetch(p.location, { method: 'DELETE' });
      assert.equal(gone.status, 404, 'a deleted session is gone from every replica');
    } finally {
      for (const v of viewers) v.close();
      p.close();
    }
  });

  it('FFmpeg\'s whip muxer publishes through the load balancer and DELETEs its resource at the end', async () => {
    const f = await FfmpegWhipPublisher.publish(`${lb}/whip/invert`, { width: W, height: H, fps: 15 });
    try {
      await f.waitForFramesSent(30, 15_000);
      const id = f.resourceId;
      assert.ok(id, 'FFmpeg logged the Location');
      const owner = ownerOf(id);
      // Asked three times through the load balancer: every replica answers about it.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${lb}/sessions/${id}`);
        assert.equal(res.status, 200, `GET /sessions/:id through the load balancer (${i})`);
        const info = (await res.json()) as { id: string };
        assert.equal(info.id, id);
      }
      const closed = await f.close();
      assert.equal(closed.trailer, 0, `the trailer: ${closed.message}`);
      assert.ok(f.deleted, `FFmpeg's DELETE succeeded:\n${f.logs().slice(-15).join('\n')}`);
      assert.equal((await fetch(`${owner.url}/sessions/${id}`)).status, 404);
    } finally {
      f.kill();
    }
  });

  it('/offer sessions: GET, PATCH and DELETE through the load balancer reach the owner', async () => {
    const res = await fetch(`${lb}/offer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'offer', sdp: await gatheredOffer(['sendrecv']), filter: 'none' }),
    });
    assert.equal(res.status, 200);
    const { sessionId } = (await res.json()) as { sessionId: string };
    ownerOf(sessionId);
    for (const filter of ['invert', 'blur', 'grayscale']) {
      const patch = await fetch(`${lb}/sessions/${sessionId}`, {
        method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter }),
      });
      assert.equal(patch.status, 200, `PATCH ${filter}: ${await patch.text()}`);
    }
    const info = (await (await fetch(`${lb}/sessions/${sessionId}`)).json()) as { filter: string | { name: string } };
    assert.equal(typeof info.filter === 'string' ? info.filter : info.filter.name, 'grayscale');
    assert.equal((await fetch(`${lb}/sessions/${sessionId}`, { method: 'DELETE' })).status, 204);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${lb}/sessions/${sessionId}`)).status, 404);
  });

  it('tampered and forged ids get 404 and nothing is forwarded; a forged id\'s address is never contacted', async () => {
    // A canary where a forged id points: it must never see a connection.
    let connections = 0;
    const canary: Server = createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
    const canaryPort = (canary.address() as { port: number }).port;
    try {
      const res = await fetch(`${lb}/offer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'offer', sdp: await gatheredOffer(['sendrecv']), filter: 'none' }),
      });
      const { sessionId } = (await res.json()) as { sessionId: string };
      const raw = Buffer.from(sessionId, 'base64url');
      // The owner's address changed to the canary's (tag kept), and one bit of the tag flipped.
      const repointed = Buffer.from(raw);
      repointed.writeUInt16BE(canaryPort, 1 + 16 + 1 + 4);
      const flipped = Buffer.from(raw);
      flipped[flipped.length - 1]! ^= 1;
      const forged = new ClusterIds('another-secret-0123456789abcdefghijkl', parseAdvertiseUrl(`http://127.0.0.1:${canaryPort}`)).newId();
      const bad = [repointed.toString('base64url'), flipped.toString('base64url'), forged, `${sessionId}A`, 'not-an-id'];
      const before = await Promise.all(replicas.map((r) => clusterCounters(r.url)));
      for (const id of bad) {
        for (const r of replicas) {
          for (const [method, url] of [['GET', `/sessions/${id}`], ['DELETE', `/whip/sessions/${id}`], ['DELETE', `/whep/viewers/${id}`]] as const) {
            const got = await fetch(`${r.url}${url}`, { method });
            assert.ok(got.status === 404 || got.status === 400, `${method} ${url} on :${r.port} answered ${got.status}`);
          }
          const whep = await fetch(`${r.url}/whep/${id}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
          assert.ok(whep.status === 404 || whep.status === 400, `POST /whep/${id} answered ${whep.status}`);
        }
      }
      const now = await Promise.all(replicas.map((r) => clusterCounters(r.url)));
      replicas.forEach((r, i) => {
        assert.equal(forwardsOut(now[i]!) - forwardsOut(before[i]!), 0, `replica :${r.port} forwarded nothing`);
        assert.equal(received(now[i]!) - received(before[i]!), 0, `replica :${r.port} received no forward`);
      });
      assert.equal(connections, 0, 'the address in a forged or re-pointed id was never contacted');
      // A client's own hop header does not make a replica skip its checks: it only stops forwarding.
      const owner = ownerOf(sessionId);
      const other = replicas.find((r) => r !== owner)!;
      const hop = await fetch(`${other.url}/sessions/${sessionId}`, { headers: { 'x-rtc-forwarded': `${Date.now()}.AAAAAAAAAAAAAAAAAAAAAA` } });
      assert.equal(hop.status, 404, 'a request with a hop header is answered where it lands, never forwarded again');
      assert.equal((await fetch(`${lb}/sessions/${sessionId}`, { method: 'DELETE' })).status, 204);
    } finally {
      canary.close();
    }
  });

  it('an owner that takes the connection but does not answer: 502 after the forward timeout; one that never takes it: 404 after the connect timeout', async (t) => {
    const res = await fetch(`${lb}/offer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'offer', sdp: await gatheredOffer(['sendrecv']), filter: 'none' }),
    });
    const { sessionId } = (await res.json()) as { sessionId: string };
    const owner = ownerOf(sessionId);
    const other = replicas.find((r) => r !== owner)!;
    // A stopped process: the kernel still completes the handshake, nothing answers.
    owner.srv.child.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const got = await fetch(`${other.url}/sessions/${sessionId}`, { signal: AbortSignal.timeout(10_000) });
      const ms = Date.now() - t0;
      t.diagnostic(`stopped owner: ${got.status} after ${ms} ms`);
      assert.equal(got.status, 502);
      assert.equal(((await got.json()) as { error: { code: string } }).error.code, 'OWNER_UNREACHABLE');
      assert.ok(ms >= 1500 && ms < 5000, `after RTC_CLUSTER_FORWARD_TIMEOUT_S (2 s): ${ms} ms`);
    } finally {
      owner.srv.child.kill('SIGCONT');
    }
    assert.equal((await fetch(`${owner.url}/sessions/${sessionId}`, { method: 'DELETE' })).status, 204);

    // A pod IP that vanished is silent: a listener whose accept queue is full drops the SYN the
    // same way. A valid id (this cluster's secret) naming it answers 404 after the connect timeout.
    const py = spawn('python3', ['-c', [
      'import socket, sys, time', 's = socket.socket()', 's.bind(("127.0.0.1", 0))', 's.listen(0)',
      'print(s.getsockname()[1], flush=True)', 'time.sleep(60)',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => py.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
      const fillers: Socket[] = [];
      for (let i = 0; i < 3; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => {}));
      await new Promise((r) => setTimeout(r, 300));
      const silent = new ClusterIds(SECRET, parseAdvertiseUrl(`http://127.0.0.1:${port}`)).newId();
      const t0 = Date.now();
      const got = await fetch(`${other.url}/whip/sessions/${silent}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      const ms = Date.now() - t0;
      t.diagnostic(`silent owner: ${got.status} after ${ms} ms`);
      assert.equal(got.status, 404);
      assert.ok(ms >= 800 && ms < 4000, `after RTC_CLUSTER_CONNECT_TIMEOUT_MS (1 s): ${ms} ms`);
      for (const f of fillers) f.destroy();
    } finally {
      py.kill('SIGKILL');
    }
  });

  it('an owner killed mid-session: the other replicas answer 404 within seconds', async (t) => {
    const p = await WhipPublisher.publish(lb, '/whip/none', { width: W, height: H, fps: 15, direction: 'sendonly' });
    try {
      const owner = ownerOf(p.resourceId);
      const others = replicas.filter((r) => r !== owner);
      for (const r of others) assert.equal((await fetch(`${r.url}/sessions/${p.resourceId}`)).status, 200, 'forwarded while the owner lives');
      owner.srv.child.kill('SIGKILL');
      await owner.srv.exited;
      for (const r of others) {
        const t0 = Date.now();
        const res = await fetch(`${r.url}/whip/sessions/${p.resourceId}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
        const ms = Date.now() - t0;
        t.diagnostic(`:${r.port} answered ${res.status} ${ms} ms after the owner was killed`);
        assert.equal(res.status, 404);
        assert.ok(ms < 3000, `answered within seconds (${ms} ms)`);
        const c = await clusterCounters(r.url);
        assert.ok((c.get('rtc_cluster_forwards_total{outcome="owner_gone"}') ?? 0) >= 1, 'counted as owner_gone');
      }
      // Through the load balancer too (its health checks take the dead replica out).
      const viaLb = await fetch(`${lb}/sessions/${p.resourceId}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(viaLb.status, 404);
    } finally {
      p.close();
    }
  });
});

describe('forwarding keeps the caller\'s authorization: checked where the request lands, and again by the owner', () => {
  const TOKEN_A = 'cluster-test-token-a-0123456789';
  const TOKEN_B = 'cluster-test-token-b-0123456789';
  const replicas: Replica[] = [];

  before(async () => {
    const ports = [await freePort(), await freePort()];
    const started = await Promise.all(ports.map((port) => startTestServer({
      env: {
        PORT: String(port), RTC_CLUSTER_SECRET: SECRET, RTC_ADVERTISE_URL: `http://127.0.0.1:${port}`,
        RTC_AUTH_TOKENS: `${TOKEN_A},${TOKEN_B}`, RTC_CPU_WORKERS: '1', RTC_CONNECT_TIMEOUT_S: '20',
      },
      startTimeoutMs: 60_000,
    })));
    started.forEach((srv, i) => replicas.push({ srv, port: ports[i]!, url: `http://127.0.0.1:${ports[i]}` }));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.srv.stop()));
  });

  it('no token: 401 where it lands, nothing forwarded; another identity: the owner\'s 404; the creator: 200', async () => {
    const [owner, other] = replicas as [Replica, Replica];
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    const res = await fetch(`${owner.url}/offer`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...auth(TOKEN_A) },
      body: JSON.stringify({ type: 'offer', sdp: await gatheredOffer(['sendrecv']), filter: 'none' }),
    });
    assert.equal(res.status, 200);
    const { sessionId } = (await res.json()) as { sessionId: string };
    const before = await clusterCounters(other.url);
    assert.equal((await fetch(`${other.url}/sessions/${sessionId}`)).status, 401);
    assert.equal((await fetch(`${other.url}/sessions/${sessionId}`, { headers: auth('wrong-token-0123456789abc') })).status, 403);
    assert.equal(forwardsOut(await clusterCounters(other.url)) - forwardsOut(before), 0, 'refused before any forward');
    assert.equal((await fetch(`${other.url}/sessions/${sessionId}`, { headers: auth(TOKEN_B) })).status, 404, 'another identity\'s session');
    assert.equal((await fetch(`${other.url}/sessions/${sessionId}`, { method: 'DELETE', headers: auth(TOKEN_B) })).status, 404);
    assert.equal((await fetch(`${other.url}/sessions/${sessionId}`, { headers: auth(TOKEN_A) })).status, 200, 'the creator, through the other replica');
    assert.equal(answered(await clusterCounters(other.url)) - answered(before), 3, 'the three authenticated requests were forwarded');
    assert.equal((await fetch(`${other.url}/sessions/${sessionId}`, { method: 'DELETE', headers: auth(TOKEN_A) })).status, 204);
  });
});
