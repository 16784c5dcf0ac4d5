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
import { numberArg, oneOfArg, parseCommandLine, parseList, parseResolution, stringArg, UsageError } from '../../src/toolkit/args.js';
import { parseBenchOptions, type ServerKind } from './options.js';
import { runPoint, type PointResult } from './point.js';
import { REPO_ROOT } from './servers.js';
import { median } from './median.js';

const KINDS: readonly ServerKind[] = ['native', 'libwebrtc'];

function log(line: string): void {
  process.stderr.write(`bench-whep: ${line}\n`);
}

/** This run's settings from the command line (a UsageError for bad input). */
function parseWhepOptions(argv: string[]): { width: number; height: number; viewerCounts: number[]; kinds: ServerKind[]; repeat: number; durationS: number; settleS: number; out: string | undefined } {
  const values = parseCommandLine(argv, {
    resolution: { type: 'string', default: '640x360' }, viewers: { type: 'string', default: '0,1,2,4' },
    duration: { type: 'string', default: '20' }, settle: { type: 'string', default: '5' }, repeat: { type: 'string', default: '2' },
    kinds: { type: 'string', default: KINDS.join(',') }, out: { type: 'string' },
  });
  const str = (k: string): string => stringArg(values, k)!;
  const count = (name: string, v: string): number => numberArg(name, v, { integer: true, min: 0 })!;
  const { width, height } = parseResolution('resolution', str('resolution'), { minWidth: 160, minHeight: 16, maxWidth: 3840, maxHeight: 2160, even: true });
  const viewerCounts = parseList('viewers', str('viewers'), (v) => numberArg('viewers', v, { integer: true, min: 0, max: 16 })!, 16);
  const kinds = parseList('kinds', str('kinds'), (k) => oneOfArg('kinds', k, KINDS));
  const durationS = count('duration', str('duration'));
  const settleS = count('settle', str('settle'));
  if (settleS >= durationS) throw new UsageError('--settle must be shorter than --duration');
  return { width, height, viewerCounts, kinds, repeat: count('repeat', str('repeat')), durationS, settleS, out: stringArg(values, 'out') };
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
  let args: ReturnType<typeof parseWhepOptions>;
  try {
    args = parseWhepOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench-whep: ${err.message}\n`);
    return 2;
  }
  const { width, height, viewerCounts, kinds, repeat } = args;
  // The media benchmark's defaults (python, fps, filter, spawn rate) with this run's window.
  const opts = { ...parseBenchOptions([])!, durationS: args.durationS, settleS: args.settleS };

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(REPO_ROOT, 'bench-output', `whep-${stamp}`);
  const outFile = args.out ? path.resolve(args.out) : path.join(REPO_ROOT, 'bench-output', `whep-${stamp}.json`);
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
