/**
 * The coturn configuration as the manifests ship it, run by the real turnserver (Debian's coturn)
 * on 127.0.0.1: the rendered ConfigMap and the container's start script, with only paths and ports
 * moved into a temporary directory. With the certificate of Secret turn-tls mounted it serves TURN
 * on TCP 3478 and TLS on 5349 (the Service's 443); without one it starts with TLS off. No
 * allocation is made, so no relay port is opened (the relay path is covered by
 * test/integration/turn-relay.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../support/server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const have = (cmd: string): boolean => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
const SKIP = !(have('turnserver') && have('openssl') && have('kubectl')) && 'needs turnserver (Debian coturn), openssl and kubectl';

interface Rendered { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: { template: { spec: { containers: Array<{ args?: string[] }> } } } }

function rendered(): { conf: string; script: string } {
  const out = execFileSync('kubectl', ['kustomize', path.join(root, 'k8s/coturn')], { encoding: 'utf8' });
  const objs = parseAllDocuments(out).map((d) => d.toJS() as Rendered);
  const conf = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('coturn-config'))!.data!['turnserver.conf']!;
  const script = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'coturn')!.spec!.template.spec.containers[0]!.args!.join('\n');
  return { conf, script };
}

interface Run { child: ChildProcess; log: () => string; dir: string; tcp: number; tlsPort: number }

/** Start coturn the way the container does, in a temporary root, optionally with a certificate. */
async function start(withCert: boolean): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-coturn-'));
  const { conf, script } = rendered();
  const tcp = await freePort();
  const tlsPort = await freePort();
  for (const d of ['etc', 'etc/tls', 'var']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  // Only the ports and the directories move; every other line is the manifest's.
  const moved = conf.replace(/^listening-port=3478$/m, `listening-port=${tcp}`).replace(/^tls-listening-port=5349$/m, `tls-listening-port=${tlsPort}`)
    .replaceAll('/var/tmp/', `${dir}/var/`);
  assert.notEqual(moved, conf, 'the ports were found in turnserver.conf');
  fs.writeFileSync(path.join(dir, 'etc/turnserver.conf'), moved);
  if (withCert) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=turn.test.invalid',
      '-keyout', path.join(dir, 'etc/tls/tls.key'), '-out', path.join(dir, 'etc/tls/tls.crt')], { stdio: 'ignore' });
  }
  const body = script.replaceAll('/etc/coturn/', `${dir}/etc/`).replaceAll('/var/tmp/', `${dir}/var/`);
  let out = '';
  const child = spawn('/bin/sh', ['-c', body], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TURN_SECRET: 'test-secret', POD_IP: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  return { child, log: () => out, dir, tcp, tlsPort };
}

function stop(r: Run): void {
  r.child.kill('SIGTERM');
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/** Resolves once something accepts TCP on the port, rejects after the deadline. */
async function waitForTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

test('coturn with the manifests\' config and a certificate: TURN over TCP and TLS', { skip: SKIP, timeout: 60_000 }, async () => {
  const r = await start(true);
  try {
    await waitForTcp(r.tcp, 15_000);
    await waitForTcp(r.tlsPort, 15_000);
    const cn = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: r.tlsPort, rejectUnauthorized: false, servername: 'turn.test.invalid' }, () => {
        const subject = s.getPeerCertificate().subject;
        s.destroy();
        resolve(String(subject?.CN ?? ''));
      });
      s.on('error', reject);
    });
    assert.equal(cn, 'turn.test.invalid', 'the certificate of Secret turn-tls is served');
    assert.doesNotMatch(r.log(), /CONFIG ERROR|CONFIGURATION ALERT: .*cannot|Cannot open|bad/i, r.log());
    // The start script put the pod IP and the secret into the config, never onto the command line.
    const conf = fs.readFileSync(path.join(r.dir, 'var/turnserver.conf'), 'utf8');
    assert.match(conf, /^listening-ip=127\.0\.0\.1$/m);
    assert.match(conf, /^relay-ip=127\.0\.0\.1$/m);
    assert.match(conf, /^static-auth-secret=test-secret$/m);
    assert.doesNotMatch(conf, /^no-tls$/m);
  } finally {
    stop(r);
  }
});

test('coturn without a certificate starts with TLS off and says so', { skip: SKIP, timeout: 60_000 }, async () => {
  const r = await start(false);
  try {
    await waitForTcp(r.tcp, 15_000);
    assert.match(r.log(), /no certificate in Secret turn-tls; TURN over TLS \(443\) is off/);
    assert.match(fs.readFileSync(path.join(r.dir, 'var/turnserver.conf'), 'utf8'), /^no-tls$/m);
    await assert.rejects(waitForTcp(r.tlsPort, 1_500));
  } finally {
    stop(r);
  }
});
