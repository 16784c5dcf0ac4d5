/**
 * A real Prometheus (Debian's `prometheus` binary) scrapes the real server every second while a
 * real WebRTC session runs, evaluates monitoring/prometheus/rules.yml unchanged (its 1 m windows
 * fill after two 1 s scrapes), and the recording rules come back over the HTTP API with values
 * that agree with the session. A stand-in DCGM exporter (a tiny HTTP server with the exporter's
 * label shape) exercises the exported_pod relabelling through a real scrape.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { rulesFilePath } from '../../monitoring/prometheus/rule-groups.js';
import { RtcClient } from '../support/rtc-client.js';
import { freePort, startTestServer, type TestServer } from '../support/server.js';

const NAMESPACE = 'rtc-test';
const POD = 'gpu-media-7d9c8b6f5d-x2k4z';
const GPU_UTIL = 42;

interface PromSample { metric: Record<string, string>; value: [number, string] }
interface PromRule { name: string; health: string; lastError?: string; type: string }

/** Thrown when Prometheus does not become ready or answer. */
class PrometheusError extends Error {
  override name = 'PrometheusError';
}

/** A Prometheus process on a loopback port with its own config and storage in a temp dir. */
class LocalPrometheus {
  private logs = '';
  private constructor(readonly url: string, private readonly child: ChildProcess, readonly dir: string) {
    child.stdout!.on('data', (c: Buffer) => { this.logs += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { this.logs += c.toString(); });
  }

  static async start(config: unknown): Promise<LocalPrometheus> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rtc-prometheus-'));
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, YAML.stringify(config));
    const port = await freePort();
    const child = spawn('prometheus', [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new LocalPrometheus(`http://127.0.0.1:${port}`, child, dir);
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err) => resolve(err));
    });
    if (spawned) {
      rmSync(dir, { recursive: true, force: true });
      throw new PrometheusError(`cannot run prometheus (${spawned.message}); scripts/install-system-deps.sh installs Debian's prometheus package`);
    }
    await p.waitUntil(async () => (await fetch(`${p.url}/-/ready`)).ok, 30000, 'Prometheus ready');
    return p;
  }

  /** Poll `check` every 500 ms until it returns true, or fail after `timeoutMs` with the logs. */
  async waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (this.child.exitCode !== null) throw new PrometheusError(`prometheus exited (${this.child.exitCode}) waiting for ${what}:\n${this.logs}`);
      try {
        if (await check()) return;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline) throw new PrometheusError(`timed out after ${timeoutMs} ms waiting for ${what} ${last}\n${this.logs}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Instant query over the HTTP API. */
  async query(q: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: PromSample[] } };
    if (body.status !== 'success') throw new PrometheusError(`query ${q}: ${body.error}`);
    return body.data.result;
  }

  /** The rules as loaded, with their evaluation health. */
  async rules(): Promise<PromRule[]> {
    const res = await fetch(`${this.url}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: Array<{ rules: PromRule[] }> } };
    return body.data.groups.flatMap((g) => g.rules);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A stand-in for the DCGM exporter: one GPU assigned to our pod, labelled as the exporter does. */
async function startFakeDcgmExporter(): Promise<{ server: Server; port: number }> {
  const body = [
    '# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).',
    '# TYPE DCGM_FI_DEV_GPU_UTIL gauge',
    `DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-test",modelName="NVIDIA L4",Hostname="node-1",container="media",namespace="${NAMESPACE}",pod="${POD}"} ${GPU_UTIL}`,
    '',
  ].join('\n');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function value(samples: PromSample[], what: string): number {
  assert.equal(samples.length, 1, `${what}: expected one series, got ${JSON.stringify(samples)}`);
  return Number(samples[0]!.value[1]);
}

describe('Prometheus scraping the real server with the project rules', () => {
  let srv: TestServer;
  let prom: LocalPrometheus;
  let dcgm: { server: Server; port: number };
  let client: RtcClient | null = null;

  before(async () => {
    // RTC_EXPECT_GPU on a CPU server: rtc_gpu_fallback = 1, so the fallback alert goes pending.
    srv = await startTestServer({ env: { RTC_MAX_SESSIONS: '2', RTC_EXPECT_GPU: '1' } });
    dcgm = await startFakeDcgmExporter();
    prom = await LocalPrometheus.start({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [rulesFilePath()],
      scrape_configs: [
        {
          job_name: 'rtc-scale',
          static_configs: [{ targets: [`127.0.0.1:${srv.port}`], labels: { namespace: NAMESPACE, pod: POD } }],
        },
        {
          // Target labels collide with the exporter's pod/namespace: Prometheus renames the
          // exporter's to exported_pod/exported_namespace, as with GKE managed DCGM.
          job_name: 'dcgm-exporter',
          static_configs: [{ targets: [`127.0.0.1:${dcgm.port}`], labels: { namespace: 'gpu-monitoring', pod: 'dcgm-exporter-b7x2k' } }],
        },
      ],
    });
  });

  after(async () => {
    client?.close();
    await prom?.stop();
    await new Promise<void>((resolve) => (dcgm ? dcgm.server.close(() => resolve()) : resolve()));
    await srv?.stop();
  });

  it('records per-pod and per-deployment latency, frame rates, sessions and GPU series while a WebRTC session runs', async (t) => {
    const t0 = Date.now();
    client = await RtcClient.connect(srv.url, { width: 320, height: 240, fps: 15, offer: { filter: 'blur', iterations: 2 } });
    await client.waitForFrames(10, 30000);
    const c = client;

    const sel = `{namespace="${NAMESPACE}",pod="${POD}"}`;
    const depSel = `{namespace="${NAMESPACE}",deployment="gpu-media"}`;
    // Rule groups are evaluated each on its own clock, and the DCGM target is scraped on its own
    // too: wait until every series asserted below has been recorded at least once, or a fast
    // group can be read before a slow one (CI once saw the GPU utilisation rule still empty).
    const awaited = [
      `pod:rtc_frame_processing_seconds:p95${sel} > 0`,
      `pod:rtc_frames_sent:rate1m${sel} > 0`,
      `pod:rtc_frames_received:rate1m${sel}`,
      `pod:rtc_frames_dropped:ratio_rate1m${sel}`,
      `deployment:rtc_frame_processing_seconds:p95${depSel}`,
      // These exist (as 0) from the first scrape on: wait for the values the session brings.
      `pod:rtc_sessions_active:sum${sel} == 1`,
      `deployment:rtc_sessions_active:sum${depSel} == 1`,
      `pod:rtc_sessions_utilization:ratio${sel} == 0.5`,
      `pod:rtc_frame_server_latency_seconds:p95${sel} > 0`,
      `pod:rtc_gpu_busy_ratio:avg1m${sel}`,
      `pod:rtc_gpu_utilization:percent${sel}`,
    ];
    let missing: string[] = awaited;
    await prom.waitUntil(async () => {
      const found = await Promise.all(awaited.map((q) => prom.query(q)));
      missing = awaited.filter((_q, i) => found[i]!.length !== 1);
      return missing.length === 0 && c.framesReceived > 0;
    }, 60000, 'every recording rule under test to hold one series').catch((err: unknown) => {
      throw new PrometheusError(`${String(err)}\nstill missing: ${missing.join(', ')}`);
    });
    const waitedMs = Date.now() - t0;

    const p50 = value(await prom.query(`pod:rtc_frame_processing_seconds:p50${sel}`), 'p50');
    const p95 = value(await prom.query(`pod:rtc_frame_processing_seconds:p95${sel}`), 'p95');
    const p99 = value(await prom.query(`pod:rtc_frame_processing_seconds:p99${sel}`), 'p99');
    assert.ok(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= 2, `0 < p50 ${p50} <= p95 ${p95} <= p99 ${p99} <= 2 s (the top finite bucket)`);

    const dep = value(await prom.query(`deployment:rtc_frame_processing_seconds:p95${depSel}`), 'deployment p95');
    assert.ok(dep > 0 && dep <= 2, `deployment p95 ${dep}: the deployment label gpu-media comes from the pod name`);

    const fpsIn = value(await prom.query(`pod:rtc_frames_received:rate1m${sel}`), 'fps in');
    const fpsOut = value(await prom.query(`pod:rtc_frames_sent:rate1m${sel}`), 'fps out');
    // rate() divides by the whole 1 m window, so a few seconds into the session it reads well under
    // the client's 15 fps; it only has to be positive and not absurd.
    assert.ok(fpsIn > 0 && fpsIn < 100, `fps in ${fpsIn} (client sends 15)`);
    assert.ok(fpsOut > 0 && fpsOut <= fpsIn * 1.5, `fps out ${fpsOut} against fps in ${fpsIn}`);
    const drop = value(await prom.query(`pod:rtc_frames_dropped:ratio_rate1m${sel}`), 'drop ratio');
    assert.ok(drop >= 0 && drop <= 1, `drop ratio ${drop}`);

    assert.equal(value(await prom.query(`pod:rtc_sessions_active:sum${sel}`), 'sessions'), 1);
    assert.equal(value(await prom.query(`deployment:rtc_sessions_active:sum${depSel}`), 'deployment sessions'), 1);
    assert.equal(value(await prom.query(`pod:rtc_sessions_utilization:ratio${sel}`), 'session slots'), 0.5);
    const serverP95 = value(await prom.query(`pod:rtc_frame_server_latency_seconds:p95${sel}`), 'server latency p95');
    assert.ok(serverP95 > 0, `server latency p95 ${serverP95}`);
    assert.equal(value(await prom.query(`pod:rtc_gpu_busy_ratio:avg1m${sel}`), 'GPU busy ratio'), 0, 'a CPU server has no GPU work');

    t.diagnostic(`rules returned values ${waitedMs} ms after the session started; p50 ${(p50 * 1000).toFixed(2)} ms, `
      + `p95 ${(p95 * 1000).toFixed(2)} ms, p99 ${(p99 * 1000).toFixed(2)} ms, deployment p95 ${(dep * 1000).toFixed(2)} ms, `
      + `fps in ${fpsIn.toFixed(1)}, out ${fpsOut.toFixed(1)}, drop ratio ${drop.toFixed(3)}`);

    // DCGM: the exporter's pod label arrived as exported_pod and the rule mapped it back.
    assert.equal(value(await prom.query(`pod:rtc_gpu_utilization:percent${sel}`), 'GPU utilisation'), GPU_UTIL);
    assert.equal((await prom.query('pod:rtc_gpu_utilization:percent{pod="dcgm-exporter-b7x2k"}')).length, 0);
  });

  it('evaluates every rule without error, and the alerts react to real series', async () => {
    await prom.waitUntil(async () => (await prom.rules()).every((r) => r.health === 'ok'), 15000, 'all rules healthy');
    const rules = await prom.rules();
    assert.ok(rules.filter((r) => r.type === 'recording').length >= 20, `only ${rules.length} rules loaded`);
    for (const r of rules) assert.equal(r.lastError ?? '', '', `${r.name}: ${r.lastError}`);

    // The server expects a GPU but runs on CPU: RtcGpuFallbackToCpu is pending (for: 2m).
    await prom.waitUntil(async () => (await prom.query('ALERTS{alertname="RtcGpuFallbackToCpu"}')).length === 1, 15000, 'RtcGpuFallbackToCpu pending');
    const fallback = (await prom.query('ALERTS{alertname="RtcGpuFallbackToCpu"}'))[0]!.metric;
    // Pending for its first 2 min; a very slow first test could leave it already firing.
    assert.match(fallback.alertstate ?? '', /^(pending|firing)$/);
    assert.equal(fallback.pod, POD);
    // The target is up: RtcNoTargetsUp stays silent.
    // One slow scrape of a busy server reads up 0 for a second: wait for it rather than read once.
    await prom.waitUntil(async () => (await prom.query('up{job="rtc-scale"} == 1')).length === 1, 15000, 'the rtc-scale target up');
    assert.deepEqual(await prom.query('ALERTS{alertname="RtcNoTargetsUp"}'), []);
  });
});
