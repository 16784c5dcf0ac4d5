import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DELETION_COST_ANNOTATION, PodDeletionCostUpdater, type UpdaterLogger } from '../../../src/cluster/pod-deletion-cost.js';
import { loadConfig } from '../../../src/server/config.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A stand-in for the Kubernetes API server: records requests, answers with `respond`. */
async function fakeApi(respond: (req: Seen, n: number) => Promise<number> | number) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(s);
      const status = await respond(s, seen.length);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status < 300 ? { kind: 'Pod' } : { kind: 'Status', code: status }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    base: `http://127.0.0.1:${port}`,
    costs: () => seen.map((s) => (JSON.parse(s.body) as { metadata: { annotations: Record<string, string> } }).metadata.annotations[DELETION_COST_ANNOTATION]),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function recordingLogger(): UpdaterLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (_o, msg) => warnings.push(msg), debug: () => {} };
}

test('sends a JSON merge patch of the annotation to its own pod, with the bearer token', async () => {
  const api = await fakeApi(() => 200);
  const u = new PodDeletionCostUpdater({ podName: 'gpu-media-7d9-abc', namespace: 'rtc', apiBase: api.base, token: 'tok-1' });
  u.set(3);
  await u.idle();
  assert.equal(api.seen.length, 1);
  const r = api.seen[0]!;
  assert.equal(r.method, 'PATCH');
  assert.equal(r.url, '/api/v1/namespaces/rtc/pods/gpu-media-7d9-abc');
  assert.equal(r.headers['content-type'], 'application/merge-patch+json');
  assert.equal(r.headers.authorization, 'Bearer tok-1');
  assert.deepEqual(JSON.parse(r.body), { metadata: { annotations: { 'controller.kubernetes.io/pod-deletion-cost': '3' } } });
  assert.equal(u.appliedValue, 3);
  await u.close();
  await api.close();
});

test('coalesces: one request in flight, then only the newest value', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const api = await fakeApi(async (_s, n) => { if (n === 1) await gate; return 200; });
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: api.base, token: 't' });
  u.set(1);
  while (api.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  for (const v of [2, 3, 4, 5]) u.set(v);
  release();
  await u.idle();
  assert.deepEqual(api.costs(), ['1', '5']);
  // Setting the value already applied sends nothing.
  u.set(5);
  await u.idle();
  assert.equal(api.seen.length, 2);
  await u.close();
  await api.close();
});

test('retries 5xx with backoff, then succeeds', async () => {
  const api = await fakeApi((_s, n) => (n <= 2 ? 503 : 200));
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: api.base, token: 't', backoffMs: 1 });
  u.set(7);
  await u.idle();
  assert.deepEqual(api.costs(), ['7', '7', '7']);
  assert.equal(u.appliedValue, 7);
  await u.close();
  await api.close();
});

test('bounded retries: gives up with a warning, never throws, tries again on the next change', async () => {
  const api = await fakeApi(() => 500);
  const log = recordingLogger();
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: api.base, token: 't', backoffMs: 1, maxRetries: 2, logger: log });
  u.set(2);
  await u.idle();
  assert.equal(api.seen.length, 3);
  assert.equal(log.warnings.length, 1);
  assert.equal(u.appliedValue, undefined);
  u.set(1);
  await u.idle();
  assert.equal(api.seen.length, 6);
  await u.close();
  await api.close();
});

test('a 403 (RBAC missing) is not retried', async () => {
  const api = await fakeApi(() => 403);
  const log = recordingLogger();
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: api.base, token: 't', backoffMs: 1, logger: log });
  u.set(4);
  await u.idle();
  assert.equal(api.seen.length, 1);
  assert.match(log.warnings[0] ?? '', /giving up/);
  await u.close();
  await api.close();
});

test('an unreachable API server is logged, not thrown', async () => {
  const api = await fakeApi(() => 200);
  const base = api.base;
  await api.close();
  const log = recordingLogger();
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: base, token: 't', backoffMs: 1, maxRetries: 1, logger: log });
  u.set(1);
  await u.idle();
  assert.equal(log.warnings.length, 1);
  await u.close();
});

test('reads the token file before every request (kubelet rotates it)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdc-'));
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 'first\n');
  const api = await fakeApi(() => 200);
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: api.base, tokenFile });
  u.set(1);
  await u.idle();
  fs.writeFileSync(tokenFile, 'second\n');
  u.set(2);
  await u.idle();
  assert.deepEqual(api.seen.map((s) => s.headers.authorization), ['Bearer first', 'Bearer second']);
  await u.close();
  await api.close();
  fs.rmSync(dir, { recursive: true });
});

test('close() cuts a backoff short and stops further requests', async () => {
  const api = await fakeApi(() => 503);
  const u = new PodDeletionCostUpdater({ podName: 'p', namespace: 'rtc', apiBase: api.base, token: 't', backoffMs: 60_000, maxBackoffMs: 60_000 });
  u.set(1);
  while (api.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  await u.close(); // would hang for a minute if the backoff were not cut short
  u.set(2);
  await u.idle();
  assert.equal(api.seen.length, 1);
  await api.close();
});

test('the pod identity comes from config: only inside a cluster', () => {
  assert.equal(loadConfig({}).pod, null);
  assert.equal(loadConfig({ POD_NAME: 'p', POD_NAMESPACE: 'rtc' }).pod, null);
  const pod = loadConfig({ POD_NAME: 'p', POD_NAMESPACE: 'rtc', KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }).pod;
  assert.deepEqual(pod, { podName: 'p', namespace: 'rtc', apiBase: 'https://[fd00::1]:6443' });
  assert.throws(() => loadConfig({ POD_NAME: 'p', POD_NAMESPACE: 'rtc', KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'x' }), /KUBERNETES_SERVICE_PORT/);
  assert.ok(PodDeletionCostUpdater.forPod(pod!) instanceof PodDeletionCostUpdater);
});
