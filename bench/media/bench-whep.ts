/**
 * `npm run bench:whep`: what WHEP viewers cost on each media engine. One WHIP publisher at one
 * resolution, and 0, 1, 2 and 4 WHEP viewers of it (the project's load generator: --protocol whip
 * --viewers N), points interleaved across engines and repeated. Prints one JSON document (also
 * written under bench-output/): for each engine and viewer count the server's cores over the
 * steady window and the viewers' first frame and glass to glass; for each engine the marginal
 * server CPU per viewer (ms of CPU per viewer-second, the slope from 0 to the most viewers), and
 * native over libwebrtc. The native engine encodes once for all viewers; libwebrtc once per viewer.
 *
 * Options: --resolution WxH (default 640x360), --viewers LIST (default 0,1,2,4), --duration S
 * (default 20), --settle S (default 5), --repeat N (default 2), --kinds LIST (default native,libwebrtc).
 * Meant to run in a loopback-only network namespace (bench/media/bench-whep.sh).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseBenchOptions, type ServerKind } from './options.js';
import { runPoint, type PointResult } from './point.js';
import { REPO_ROOT } from './servers.js';
import { median } from './median.js';

const KINDS: readonly ServerKind[] = ['native', 'libwebrtc'];

function log(line: string): void {
  process.stderr.write(`bench-whep: ${line}\n`);
}

function usage(message: string): never {
  process.stderr.write(`bench-whep: ${message}\n`);
  process.exit(2);
}

function nonNegativeInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Per engine and viewer count: the medians over rounds. */
interface Row {
  kind: ServerKind;
  viewers: number;
  rounds: number;
  serverCores: number | null;
  publisherP95Ms: number | null;
  viewerFirstFrameMs: number | null;
  viewerP50Ms: number | null;
  viewerP95Ms: number | null;
  failures: string[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      resolution: { type: 'string', default: '640x360' }, viewers: { type: 'string', default: '0,1,2,4' },
      duration: { type: 'string', default: '20' }, settle: { type: 'string', default: '5' }, repeat: { type: 'string', default: '2' },
      kinds: { type: 'string', default: KINDS.join(',') }, out: { type: 'string' },
    },
    strict: true,
  });
  const m = /^(\d+)x(\d+)$/.exec(values.resolution);
  if (!m) usage('--resolution must be WxH');
  const [width, height] = [Number(m[1]), Number(m[2])];
  const viewerCounts = values.viewers.split(',').map((v) => nonNegativeInt('viewers', v));
  if (viewerCounts.some((v) => v > 16)) usage('--viewers must be at most 16 each');
  const kinds = values.kinds.split(',').map((k) => {
    if (!KINDS.includes(k as ServerKind)) usage(`--kinds takes ${KINDS.join(', ')} (aiortc has no WHEP)`);
    return k as ServerKind;
  });
  const repeat = nonNegativeInt('repeat', values.repeat);
  // The media benchmark's defaults (python, fps, filter, spawn rate) with this run's window.
  const opts = { ...parseBenchOptions([])!, durationS: nonNegativeInt('duration', values.duration), settleS: nonNegativeInt('settle', values.settle) };
  if (opts.settleS >= opts.durationS) usage('--settle must be shorter than --duration');

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(REPO_ROOT, 'bench-output', `whep-${stamp}`);
  const outFile = values.out ? path.resolve(values.out) : path.join(REPO_ROOT, 'bench-output', `whep-${stamp}.json`);
  mkdirSync(outDir, { recursive: true });
  const loadavgAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);

  const points: PointResult[] = [];
  for (let round = 1; round <= repeat; round++) {
    for (const viewers of viewerCounts) {
      for (const kind of kinds) {
        const dir = path.join(outDir, `r${round}-${kind}-${viewers}v`);
        const r = await runPoint({ kind, width, height, sessions: 1, round, viewers }, opts, dir);
        points.push(r);
        log(`round ${round} ${kind} ${viewers} viewers: ${r.status === 'ok'
          ? `server ${r.cpu?.serverCores ?? '-'} cores, publisher p95 ${r.latencyMs.p95} ms, viewers first ${r.viewerFigures?.firstFrameMs ?? '-'} ms p50 ${r.viewerFigures?.p50 ?? '-'} p95 ${r.viewerFigures?.p95 ?? '-'} ms`
          : `${r.status}: ${r.error ?? ''}`}`);
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  }

  const rows: Row[] = [];
  for (const kind of kinds) {
    for (const viewers of viewerCounts) {
      const mine = points.filter((p) => p.kind === kind && p.viewers === viewers);
      const ok = mine.filter((p) => p.status === 'ok');
      rows.push({
        kind, viewers, rounds: ok.length,
        serverCores: median(ok.map((p) => p.cpu?.serverCores), 3),
        publisherP95Ms: median(ok.map((p) => p.latencyMs.p95)),
        viewerFirstFrameMs: viewers ? median(ok.map((p) => p.viewerFigures?.firstFrameMs)) : null,
        viewerP50Ms: viewers ? median(ok.map((p) => p.viewerFigures?.p50)) : null,
        viewerP95Ms: viewers ? median(ok.map((p) => p.viewerFigures?.p95)) : null,
        failures: mine.filter((p) => p.status !== 'ok').map((p) => `${p.status}: ${p.error ?? ''}`.slice(0, 200)),
      });
    }
  }
  const most = Math.max(...viewerCounts);
  const perViewer: Partial<Record<ServerKind, number | null>> = {};
  for (const kind of kinds) {
    const at = (v: number): number | null => rows.find((r) => r.kind === kind && r.viewers === v)?.serverCores ?? null;
    const base = at(0);
    const top = at(most);
    perViewer[kind] = base !== null && top !== null && most > 0 ? Math.round(((top - base) * 1000 / most) * 10) / 10 : null;
  }
  const n = perViewer.native;
  const l = perViewer.libwebrtc;
  const result = {
    benchmark: 'whep-viewers',
    startedAt: startedAt.toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, loadavgAtStart, node: process.version },
    settings: { resolution: `${width}x${height}`, fps: opts.fps, filter: opts.filter, viewers: viewerCounts, durationS: opts.durationS, settleS: opts.settleS, repeat },
    rows,
    serverCpuMsPerViewerSecond: perViewer,
    nativeOverLibwebrtcPerViewer: n !== null && n !== undefined && l !== null && l !== undefined && l > 0 ? Math.round((n / l) * 100) / 100 : null,
    points: points.map((p) => ({ kind: p.kind, viewers: p.viewers, round: p.round, status: p.status, error: p.error, cpu: p.cpu, latencyMs: p.latencyMs, viewerFigures: p.viewerFigures, dir: p.dir })),
  };
  const json = JSON.stringify(result, null, 2);
  writeFileSync(outFile, `${json}\n`);
  process.stdout.write(`${json}\n`);
  return rows.some((r) => r.rounds === 0) ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench-whep: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
