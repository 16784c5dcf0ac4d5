/**
 * Replays a load profile (the load generator's phases) through the HPA algorithm and a model of
 * the cluster, one simulated second at a time: sessions arrive and leave as the profile's target
 * moves, offers that find no ready pod with room are rejected (503) and retried after Retry-After,
 * the HPA syncs every period on metrics that are `metricDelayS` old, new pods wait for a GPU node
 * (cluster autoscaler) and their start-up, removed pods drain, and each pod's p95 latency comes
 * from the measured curve at its session count. Deterministic: no randomness, no wall clock.
 */
import { MAX_PROFILE_S, targetAt, profileDuration, type Phase } from '../loadgen/profile.js';
import { combineProposals, HpaController, podsMetricReplicas, type MetricProposal, type PodSample } from './hpa-algorithm.js';
import type { HpaSpec } from './hpa-spec.js';
import type { CapacityCurve } from './capacity-curve.js';

/** The cluster's timings and knobs. */
export interface ClusterParams {
  /** HPA sync period (kube-controller-manager --horizontal-pod-autoscaler-sync-period). */
  syncPeriodS: number;
  /** Age of the metric the HPA reads: scrape interval + rule evaluation + adapter. */
  metricDelayS: number;
  /** A pod bound to a ready node until it is Ready (image pull, GPU adapter, WASM pool). */
  podStartS: number;
  /** A pending pod with no free GPU node until a new node is Ready (cluster autoscaler, VM, driver). */
  nodeProvisionS: number;
  /** GPU nodes kept free for the next pods (low-priority placeholder pods). */
  warmNodes: number;
  /** Media pods per GPU node. */
  podsPerNode: number;
  /** Most GPU nodes (the node pool's --max-nodes). */
  maxNodes: number;
  /** An empty node beyond the warm ones is removed after this long. */
  nodeScaleDownS: number;
  /** preStop + RTC_DRAIN_TIMEOUT_S: a removed pod's sessions are dropped after this. */
  drainTimeoutS: number;
  /** Replicas at the start (all Ready); defaults to minReplicas. */
  initialReplicas: number;
  /** New sessions the clients open per second at most (the load generator's --spawn-rate); 0 = no limit. */
  spawnRate: number;
  /** A rejected client offers again after this long (the server's Retry-After on 503 AT_CAPACITY). */
  retryS: number;
  /**
   * What the capacity metric counts: `sessions` (sessions over the limit, which saturates at 1 when
   * a pod is full) or `demand` (plus the clients turned away: Retry-After × the pod's capacity
   * rejections per second over the last minute, so the HPA sees how far demand exceeds capacity).
   */
  capacityMetric: 'sessions' | 'demand';
  /** HPA tolerance. */
  tolerance: number;
  /** The objective on predicted p95 (ms). */
  sloP95Ms: number;
  /** HPA metrics whose values never arrive (a broken exporter): they make the HPA skip scale-down. */
  brokenMetrics: readonly string[];
  /** Override of spec.minReplicas (a knob to try). */
  minReplicas?: number;
}

/** Defaults: GKE's HPA sync, a 15 s scrape with 30 s rule evaluation, an L4 node pool. */
export const DEFAULT_PARAMS: ClusterParams = {
  syncPeriodS: 15, metricDelayS: 45, podStartS: 60, nodeProvisionS: 240, warmNodes: 0, podsPerNode: 1, maxNodes: 10,
  nodeScaleDownS: 600, drainTimeoutS: 305, initialReplicas: 0, spawnRate: 0, retryS: 5, capacityMetric: 'sessions', tolerance: 0.1, sloP95Ms: 200, brokenMetrics: [],
};

/** One simulated second. */
export interface SimSample {
  t: number;
  phase: string;
  targetSessions: number;
  activeSessions: number;
  /** Offers refused this second (no ready pod with room). */
  rejected: number;
  /** The Deployment's replicas (spec). */
  replicas: number;
  ready: number;
  starting: number;
  pending: number;
  draining: number;
  nodes: number;
  /** Sessions over the ready pods' capacity; null with no ready pod. */
  utilization: number | null;
  /** Session-weighted p95 over the pods (ms); null with no session. */
  p95Ms: number | null;
  /** The worst pod's p95 (ms). */
  maxPodP95Ms: number | null;
}

/** One HPA sync. */
export interface SyncRecord {
  t: number;
  current: number;
  recommended: number | null;
  desired: number;
  reason: string;
  /** Average value per metric as the HPA saw it (null when it had none). */
  metrics: Record<string, number | null>;
}

/** Figures for a stretch of the run. */
export interface SimSummary {
  name: string;
  durationS: number;
  maxTargetSessions: number;
  maxP95Ms: number | null;
  secondsOverSlo: number;
  rejectedOffers: number;
  /** Sessions wanted but not served, summed over seconds. */
  unservedSessionSeconds: number;
  /** Sessions cut when a draining pod hit its grace period. */
  droppedSessions: number;
  peakReplicas: number;
  /** p95 within the objective at every second and no offer rejected. */
  held: boolean;
}

/** The whole run. */
export interface SimResult {
  params: ClusterParams;
  hpa: HpaSpec;
  capacity: number;
  samples: SimSample[];
  syncs: SyncRecord[];
  phases: SimSummary[];
  overall: SimSummary;
  /** HPA metrics the curve has no column for (left out of the simulation). */
  unsimulatedMetrics: string[];
}

type PodState = 'pending' | 'starting' | 'ready' | 'draining';

interface Pod {
  id: number;
  state: PodState;
  node: number | null;
  readyAt: number;
  drainUntil: number;
  sessions: number;
  /** Sessions (plus turned-away demand, see capacityMetric) per past second while the pod exported metrics (null before), newest last. */
  history: Array<number | null>;
  /** Capacity rejections attributed to the pod in each of the last 60 s (a rate()[1m]). */
  rejections: number[];
}

interface Node {
  id: number;
  readyAt: number;
  emptySince: number;
}

type Source = 'capacity' | 'frame' | 'gpu';

/** Which curve column feeds an HPA metric, by its name (adapter or managed-Prometheus spelling). */
export function metricSource(name: string): Source | null {
  if (/capacity_utilization/.test(name)) return 'capacity';
  if (/frame_processing/.test(name)) return 'frame';
  if (/gpu_utilization/.test(name)) return 'gpu';
  return null;
}

/** Session-weighted 95th percentile of per-pod p95s. */
function weightedP95(pods: Array<{ sessions: number; p95: number }>): number | null {
  const total = pods.reduce((s, p) => s + p.sessions, 0);
  if (total === 0) return null;
  const sorted = [...pods].filter((p) => p.sessions > 0).sort((a, b) => a.p95 - b.p95);
  let cum = 0;
  for (const p of sorted) {
    cum += p.sessions;
    if (cum >= 0.95 * total) return p.p95;
  }
  return sorted[sorted.length - 1]!.p95;
}

function summarize(name: string, samples: readonly SimSample[], dropped: number, slo: number): SimSummary {
  const p95s = samples.map((s) => s.p95Ms).filter((v): v is number => v !== null);
  const maxP95 = p95s.length ? Math.max(...p95s) : null;
  const over = samples.filter((s) => s.p95Ms !== null && s.p95Ms > slo).length;
  const rejected = samples.reduce((n, s) => n + s.rejected, 0);
  return {
    name,
    durationS: samples.length,
    maxTargetSessions: samples.reduce((m, s) => Math.max(m, s.targetSessions), 0),
    maxP95Ms: maxP95,
    secondsOverSlo: over,
    rejectedOffers: rejected,
    unservedSessionSeconds: samples.reduce((n, s) => n + Math.max(0, s.targetSessions - s.activeSessions), 0),
    droppedSessions: dropped,
    peakReplicas: samples.reduce((m, s) => Math.max(m, s.replicas), 0),
    held: over === 0 && rejected === 0 && dropped === 0,
  };
}

/** Run the simulation. */
export function simulate(phases: readonly Phase[], hpa: HpaSpec, curve: CapacityCurve, options: Partial<ClusterParams> = {}): SimResult {
  const params: ClusterParams = { ...DEFAULT_PARAMS, ...options };
  const minReplicas = params.minReplicas ?? hpa.minReplicas;
  if (!(minReplicas >= 1 && minReplicas <= hpa.maxReplicas)) throw new RangeError(`minReplicas must be 1..${hpa.maxReplicas}`);
  for (const k of ['syncPeriodS', 'podsPerNode', 'maxNodes'] as const) {
    if (!(Number.isInteger(params[k]) && params[k] >= 1)) throw new RangeError(`${k} must be a positive integer`);
  }
  if (!(Number.isInteger(params.retryS) && params.retryS >= 1)) throw new RangeError('retryS must be a positive integer');
  if (params.capacityMetric !== 'sessions' && params.capacityMetric !== 'demand') throw new RangeError('capacityMetric must be sessions or demand');
  for (const k of ['metricDelayS', 'podStartS', 'nodeProvisionS', 'warmNodes', 'nodeScaleDownS', 'drainTimeoutS', 'initialReplicas', 'spawnRate'] as const) {
    if (!(Number.isInteger(params[k]) && params[k] >= 0)) throw new RangeError(`${k} must be a non-negative integer`);
  }
  const controller = new HpaController({ minReplicas, maxReplicas: hpa.maxReplicas, behavior: hpa.behavior });
  const cap = curve.capacity;
  const duration = Math.ceil(profileDuration(phases));
  // One sample per simulated second: the run is bounded like a load generator run.
  if (!(duration > 0 && duration <= MAX_PROFILE_S)) throw new RangeError(`a profile must last 1 s to ${MAX_PROFILE_S} s, got ${duration} s`);
  const historyLen = params.metricDelayS + 1;

  for (const b of params.brokenMetrics) {
    if (!hpa.metrics.some((m) => m.name === b)) throw new RangeError(`broken metric ${b} is not one of the HPA's: ${hpa.metrics.map((m) => m.name).join(', ')}`);
  }
  const sources = hpa.metrics.map((m) => metricSource(m.name));
  const simulated = hpa.metrics.map((m, i) => {
    const s = sources[i];
    if (params.brokenMetrics.includes(m.name)) return true;
    return s === 'capacity' || (s === 'frame' && curve.has('frameP95Ms')) || (s === 'gpu' && curve.has('gpuUtilizationPercent'));
  });
  const unsimulatedMetrics = hpa.metrics.filter((_m, i) => !simulated[i]).map((m) => m.name);
  if (!simulated.some(Boolean)) throw new RangeError('none of the HPA metrics can be simulated with this curve');

  /** A metric's value for a pod with this many sessions. */
  const valueOf = (source: Source | null, sessions: number): number => {
    if (source === 'capacity') return sessions / cap;
    if (source === 'frame') return curve.at('frameP95Ms', sessions) / 1000;
    return curve.at('gpuUtilizationPercent', sessions);
  };

  let nextPod = 0;
  let nextNode = 0;
  const pods: Pod[] = [];
  const nodes: Node[] = [];
  const initial = Math.min(hpa.maxReplicas, Math.max(minReplicas, params.initialReplicas || minReplicas));
  if (initial > params.maxNodes * params.podsPerNode) throw new RangeError(`${initial} initial replicas do not fit ${params.maxNodes} nodes of ${params.podsPerNode} pods`);
  const initialNodes = Math.min(params.maxNodes, Math.ceil(initial / params.podsPerNode) + params.warmNodes);
  for (let i = 0; i < initialNodes; i++) nodes.push({ id: nextNode++, readyAt: 0, emptySince: 0 });
  for (let i = 0; i < initial; i++) {
    // Ready before the run: their (idle) metrics already reach the HPA.
    pods.push({ id: nextPod++, state: 'ready', node: nodes[Math.floor(i / params.podsPerNode)]!.id, readyAt: 0, drainUntil: 0, sessions: 0, history: Array<number>(historyLen).fill(0), rejections: [] });
  }

  // The HPA has been keeping the initial count: its scale-down window starts full of it.
  controller.seed(-1, initial);
  const samples: SimSample[] = [];
  const syncs: SyncRecord[] = [];
  const droppedByPhase = new Map<number, number>();
  let droppedTotal = 0;
  let lastPhase = 0;

  /** When each client turned away will offer again (bounded by the profile's sessions). */
  const waiting: number[] = [];
  const podsOn = (nodeId: number): number => pods.filter((p) => p.node === nodeId).length;
  const nodeReady = (n: Node, t: number): boolean => n.readyAt <= t;

  for (let t = 0; t < duration; t++) {
    const at = targetAt(phases, t);
    const target = at?.sessions ?? 0;
    const phaseIndex = at ? at.index : lastPhase;
    const phase = phases[phaseIndex]!.name;
    lastPhase = phaseIndex;

    // Pods progress: start-up ends, drains end (sessions cut at the grace period).
    for (const p of pods) {
      if (p.state === 'starting' && t >= p.readyAt) p.state = 'ready';
    }
    for (let i = pods.length - 1; i >= 0; i--) {
      const p = pods[i]!;
      if (p.state !== 'draining') continue;
      if (p.sessions > 0 && t >= p.drainUntil) {
        droppedTotal += p.sessions;
        droppedByPhase.set(phaseIndex, (droppedByPhase.get(phaseIndex) ?? 0) + p.sessions);
        p.sessions = 0;
      }
      if (p.sessions === 0) pods.splice(i, 1);
    }

    // Scheduler: pending pods onto ready nodes with a free slot (placeholders yield at once).
    for (const p of pods) {
      if (p.state !== 'pending' || p.node !== null) continue;
      const free = nodes.find((n) => nodeReady(n, t) && podsOn(n.id) < params.podsPerNode);
      if (free) { p.node = free.id; p.state = 'starting'; p.readyAt = t + params.podStartS; }
    }
    // Cluster autoscaler: enough nodes (ready or coming) for the pending pods plus the warm ones.
    const unbound = pods.filter((p) => p.state === 'pending' && p.node === null).length;
    const freeSlots = nodes.reduce((s, n) => s + params.podsPerNode - podsOn(n.id), 0);
    const wantFree = unbound + params.warmNodes * params.podsPerNode;
    if (freeSlots < wantFree) {
      const add = Math.min(params.maxNodes - nodes.length, Math.ceil((wantFree - freeSlots) / params.podsPerNode));
      for (let i = 0; i < add; i++) nodes.push({ id: nextNode++, readyAt: t + params.nodeProvisionS, emptySince: t + params.nodeProvisionS });
    }
    // ... and removes nodes empty for long enough, beyond the warm ones.
    let spare = freeSlots - wantFree;
    for (let i = nodes.length - 1; i >= 0 && spare >= params.podsPerNode; i--) {
      const n = nodes[i]!;
      if (podsOn(n.id) > 0) { n.emptySince = t; continue; }
      if (nodeReady(n, t) && t - n.emptySince >= params.nodeScaleDownS) { nodes.splice(i, 1); spare -= params.podsPerNode; }
    }
    for (const n of nodes) if (podsOn(n.id) > 0) n.emptySince = t;

    // Clients: sessions end when the target falls (draining pods' first), offers when it rises.
    // A client turned away waits Retry-After before it offers again.
    let active = pods.reduce((s, p) => s + p.sessions, 0);
    let rejected = 0;
    for (const p of pods) { p.rejections.push(0); if (p.rejections.length > 60) p.rejections.shift(); }
    if (active > target) {
      waiting.length = 0;
      let remove = active - target;
      const order = [...pods.filter((p) => p.state === 'draining'), ...pods.filter((p) => p.state === 'ready').sort((a, b) => b.sessions - a.sessions)];
      for (const p of order) {
        const k = Math.min(p.sessions, remove);
        p.sessions -= k;
        remove -= k;
        if (remove === 0) break;
      }
      active = target;
    } else if (active < target) {
      // Clients beyond the active and the waiting ones are new: they offer now; waiting ones
      // offer when their Retry-After is up. The spawn rate, if any, limits both.
      const unserved = target - active;
      waiting.sort((a, b) => a - b);
      while (waiting.length > unserved) waiting.pop();
      const due = waiting.filter((w) => w <= t).length;
      const fresh = unserved - waiting.length;
      let budget = params.spawnRate > 0 ? params.spawnRate : Number.POSITIVE_INFINITY;
      const fromWaiting = Math.min(due, budget);
      budget -= fromWaiting;
      const offers = fromWaiting + Math.min(fresh, budget);
      waiting.splice(0, fromWaiting);
      const open = pods.filter((p) => p.state === 'ready');
      for (let i = 0; i < offers; i++) {
        // Least-loaded pod with room: the best case (a Service picks at random; see docs/autoscaling.md).
        let best: Pod | undefined;
        for (const p of open) if (p.sessions < cap && (!best || p.sessions < best.sessions)) best = p;
        if (best) { best.sessions++; active++; } else {
          rejected++;
          waiting.push(t + params.retryS);
          // The 503 came from one of the full pods; spread the count over them.
          const from = open[i % Math.max(1, open.length)];
          if (from) from.rejections[from.rejections.length - 1]! += 1;
        }
      }
    } else {
      waiting.length = 0;
    }

    // Metrics: what each pod exports this second (ready and draining pods export).
    for (const p of pods) {
      const turnedAway = params.capacityMetric === 'demand' ? (params.retryS * p.rejections.reduce((a, b) => a + b, 0)) / 60 : 0;
      p.history.push(p.state === 'ready' || p.state === 'draining' ? p.sessions + turnedAway : null);
      if (p.history.length > historyLen) p.history.shift();
    }

    // HPA sync.
    const owned = pods.filter((p) => p.state !== 'draining');
    if (t > 0 && t % params.syncPeriodS === 0) {
      const current = owned.length;
      const seen: Record<string, number | null> = {};
      const proposals: MetricProposal[] = [];
      hpa.metrics.forEach((m, i) => {
        if (!simulated[i]) return;
        const broken = params.brokenMetrics.includes(m.name);
        const view: PodSample[] = pods.map((p) => {
          const old = p.history.length === historyLen ? p.history[0] : null;
          return {
            // Phase Pending until the container runs; a starting pod runs but exports nothing yet (missing).
            pending: p.state === 'pending',
            deleting: p.state === 'draining',
            value: broken || old === null || old === undefined ? undefined : valueOf(sources[i]!, old),
          };
        });
        const proposal = podsMetricReplicas(current, view, m.target, params.tolerance);
        seen[m.name] = proposal.ok ? proposal.averageValue : null;
        proposals.push(proposal);
      });
      const decision = controller.sync(t, current, combineProposals(current, proposals));
      syncs.push({ t, current, recommended: decision.recommended, desired: decision.desired, reason: decision.reason, metrics: seen });
      if (decision.desired > current) {
        for (let i = current; i < decision.desired; i++) {
          pods.push({ id: nextPod++, state: 'pending', node: null, readyAt: 0, drainUntil: 0, sessions: 0, history: [], rejections: [] });
        }
      } else if (decision.desired < current) {
        // ReplicaSet order: unscheduled, then not ready, then the lowest pod-deletion-cost
        // (the server sets it to its session count), the newest first on a tie.
        const rank = (p: Pod): number => (p.state === 'pending' ? (p.node === null ? 0 : 1) : p.state === 'starting' ? 2 : 3);
        const victims = [...owned].sort((a, b) => rank(a) - rank(b) || a.sessions - b.sessions || b.id - a.id).slice(0, current - decision.desired);
        for (const v of victims) {
          if (v.state === 'ready') { v.state = 'draining'; v.drainUntil = t + params.drainTimeoutS; } else pods.splice(pods.indexOf(v), 1);
        }
      }
    }

    const ready = pods.filter((p) => p.state === 'ready');
    const serving = pods.filter((p) => p.sessions > 0).map((p) => ({ sessions: p.sessions, p95: curve.at('p95Ms', p.sessions) }));
    samples.push({
      t, phase, targetSessions: target, activeSessions: active, rejected,
      replicas: pods.filter((p) => p.state !== 'draining').length,
      ready: ready.length,
      starting: pods.filter((p) => p.state === 'starting').length,
      pending: pods.filter((p) => p.state === 'pending').length,
      draining: pods.filter((p) => p.state === 'draining').length,
      nodes: nodes.length,
      utilization: ready.length ? ready.reduce((s, p) => s + p.sessions, 0) / (ready.length * cap) : null,
      p95Ms: weightedP95(serving),
      maxPodP95Ms: serving.length ? Math.max(...serving.map((s) => s.p95)) : null,
    });
  }

  // By time range, not by name: two phases may share a name.
  let start = 0;
  const phaseSummaries = phases.map((ph, i) => {
    const end = i === phases.length - 1 ? duration : Math.ceil(start + ph.durationS);
    const slice = samples.filter((x) => x.t >= Math.ceil(start) && x.t < end);
    start += ph.durationS;
    return summarize(ph.name, slice, droppedByPhase.get(i) ?? 0, params.sloP95Ms);
  });
  return {
    params: { ...params, minReplicas }, hpa, capacity: cap, samples, syncs, phases: phaseSummaries,
    overall: summarize('overall', samples, droppedTotal, params.sloP95Ms), unsimulatedMetrics,
  };
}

/**
 * A spike test: `base` sessions for 10 minutes (the HPA settles), a linear climb to `peak` at
 * `ratePerS` sessions per second, 10 minutes at the peak, 15 minutes back at `base`.
 */
export function spikeProfile(base: number, peak: number, ratePerS: number): Phase[] {
  if (!(ratePerS > 0) || !(peak > base) || base < 0) throw new RangeError('need 0 <= base < peak and a positive rate');
  const climbS = Math.max(1, Math.ceil((peak - base) / ratePerS));
  if (600 + climbS + 600 + 900 > MAX_PROFILE_S) throw new RangeError(`a climb of ${climbS} s makes the spike profile longer than ${MAX_PROFILE_S} s: raise the rate`);
  return [
    { name: 'base', sessions: base, durationS: 600, ramp: false },
    { name: 'spike', sessions: peak, durationS: climbS, ramp: true },
    { name: 'peak', sessions: peak, durationS: 600, ramp: false },
    { name: 'after', sessions: base, durationS: 900, ramp: false },
  ];
}

/** One spike rate of a sweep, with the smallest knobs that make a failing one hold. */
export interface SweepRow {
  ratePerS: number;
  held: boolean;
  maxP95Ms: number | null;
  rejectedOffers: number;
  peakReplicas: number;
  /** Smallest minReplicas that holds this spike (null: none up to maxReplicas; undefined: not needed). */
  minReplicasNeeded?: number | null;
  /** Smallest number of warm GPU nodes that holds it. */
  warmNodesNeeded?: number | null;
  /** Whether a scale-up policy with no rate limit (+1000 % or +1000 pods per 15 s) would hold it. */
  unlimitedScaleUpHolds?: boolean;
}

/** Run a spike profile for each rate; for the rates that fail, search the knobs that close the gap. */
export function sweepSpikes(
  hpa: HpaSpec, curve: CapacityCurve, options: Partial<ClusterParams>, base: number, peak: number, rates: readonly number[],
): SweepRow[] {
  return rates.map((rate) => {
    const profile = spikeProfile(base, peak, rate);
    const r = simulate(profile, hpa, curve, options);
    const row: SweepRow = { ratePerS: rate, held: r.overall.held, maxP95Ms: r.overall.maxP95Ms, rejectedOffers: r.overall.rejectedOffers, peakReplicas: r.overall.peakReplicas };
    if (!row.held) {
      row.minReplicasNeeded = null;
      for (let m = (options.minReplicas ?? hpa.minReplicas) + 1; m <= hpa.maxReplicas; m++) {
        if (simulate(profile, hpa, curve, { ...options, minReplicas: m }).overall.held) { row.minReplicasNeeded = m; break; }
      }
      const unlimited: HpaSpec = { ...hpa, behavior: { ...hpa.behavior, scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 1000, periodSeconds: 15 }, { type: 'Pods', value: 1000, periodSeconds: 15 }] } } };
      row.unlimitedScaleUpHolds = simulate(profile, unlimited, curve, options).overall.held;
      row.warmNodesNeeded = null;
      const maxNodes = options.maxNodes ?? DEFAULT_PARAMS.maxNodes;
      for (let w = (options.warmNodes ?? 0) + 1; w <= maxNodes; w++) {
        if (simulate(profile, hpa, curve, { ...options, warmNodes: w }).overall.held) { row.warmNodesNeeded = w; break; }
      }
    }
    return row;
  });
}
