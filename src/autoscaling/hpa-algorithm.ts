/**
 * The HorizontalPodAutoscaler's arithmetic, as kube-controller-manager does it
 * (pkg/controller/podautoscaler: replica_calculator.go and horizontal.go), for Pods metrics with
 * AverageValue targets: the per-metric proposal with the tolerance and the missing/unready pod
 * rules, the maximum over metrics (and the no-scale-down rule when a metric is missing), the
 * stabilisation windows, and the scaling policies with selectPolicy. Pure functions and one small
 * stateful class; no Kubernetes client, so the simulator and the unit tests drive it with numbers.
 */

/** The HPA's default tolerance (kube-controller-manager --horizontal-pod-autoscaler-tolerance). */
export const DEFAULT_TOLERANCE = 0.1;

/** A scaling policy of spec.behavior.scaleUp/scaleDown. */
export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

/** How the limits of several policies combine. */
export type SelectPolicy = 'Max' | 'Min' | 'Disabled';

/** spec.behavior.scaleUp or scaleDown, with the API defaults filled in. */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: SelectPolicy;
  policies: ScalingPolicy[];
}

/** spec.behavior with both directions filled in. */
export interface Behavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The API server's default scale-up rules: no window, double or +4 pods per 15 s, the larger. */
export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }],
};

/** The API server's default scale-down rules: a 300 s window, then anything down to minReplicas. */
export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

/**
 * One pod of the scale target as the HPA sees it. `pending`: not yet running (no node, or the
 * container not started); `deleting`: has a deletionTimestamp (draining). `value` is the pod's
 * metric from the custom metrics API, undefined when the API has none for it.
 */
export interface PodSample {
  pending: boolean;
  deleting: boolean;
  value: number | undefined;
}

/** A metric's proposal, or why there is none. */
export type MetricProposal =
  | { ok: true; replicas: number; usageRatio: number; averageValue: number }
  | { ok: false; reason: string };

/** Average of the values over the target (GetMetricUsageRatio for AverageValue). */
function usageRatio(values: number[], target: number): number {
  return values.reduce((s, v) => s + v, 0) / values.length / target;
}

/**
 * Replicas one Pods metric asks for (calcPlainMetricReplicas). Deleting pods are left out;
 * pending pods count as using 0 when the others ask to scale up (and are otherwise left out);
 * pods without a value count as using the target when scaling down and 0 when scaling up; a
 * change is made only when the ratio leaves [1 − tolerance, 1 + tolerance], and the missing pods
 * may not reverse its direction.
 */
export function podsMetricReplicas(currentReplicas: number, pods: readonly PodSample[], target: number, tolerance = DEFAULT_TOLERANCE): MetricProposal {
  if (!(target > 0)) return { ok: false, reason: 'target must be positive' };
  const ready: number[] = [];
  let unready = 0;
  let missing = 0;
  for (const p of pods) {
    if (p.deleting) continue;
    if (p.pending) { unready++; continue; }
    if (p.value === undefined || !Number.isFinite(p.value)) { missing++; continue; }
    ready.push(p.value);
  }
  if (ready.length === 0) return { ok: false, reason: 'no metrics for the targeted pods' };
  const ratio = usageRatio(ready, target);
  const averageValue = ratio * target;
  const scaleUpWithUnready = unready > 0 && ratio > 1;
  if (!scaleUpWithUnready && missing === 0) {
    if (Math.abs(1 - ratio) <= tolerance) return { ok: true, replicas: currentReplicas, usageRatio: ratio, averageValue };
    return { ok: true, replicas: Math.ceil(ratio * ready.length), usageRatio: ratio, averageValue };
  }
  const values = [...ready];
  // Missing pods: at the target on the way down, at 0 on the way up (the conservative guess).
  for (let i = 0; i < missing; i++) values.push(ratio < 1 ? target : 0);
  if (scaleUpWithUnready) for (let i = 0; i < unready; i++) values.push(0);
  const newRatio = usageRatio(values, target);
  if (Math.abs(1 - newRatio) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) {
    return { ok: true, replicas: currentReplicas, usageRatio: ratio, averageValue };
  }
  const proposed = Math.ceil(newRatio * values.length);
  if ((newRatio < 1 && proposed > currentReplicas) || (newRatio > 1 && proposed < currentReplicas)) {
    return { ok: true, replicas: currentReplicas, usageRatio: ratio, averageValue };
  }
  return { ok: true, replicas: proposed, usageRatio: ratio, averageValue };
}

/** The combined proposal over all metrics, or none when the HPA would not act this sync. */
export type CombinedProposal = { ok: true; replicas: number; metric: number } | { ok: false; reason: string };

/**
 * The largest proposal over the metrics (computeReplicasForMetrics). When some metric has no
 * value the HPA still scales up on the others but never down: a broken metric pipeline (a DCGM
 * exporter that crash-loops) leaves the replica count only growing.
 */
export function combineProposals(currentReplicas: number, proposals: readonly MetricProposal[]): CombinedProposal {
  let best = -1;
  let metric = -1;
  let invalid = 0;
  let firstReason = '';
  proposals.forEach((p, i) => {
    if (!p.ok) { invalid++; firstReason ||= p.reason; return; }
    if (p.replicas > best) { best = p.replicas; metric = i; }
  });
  if (invalid >= proposals.length) return { ok: false, reason: `all metrics invalid: ${firstReason}` };
  if (invalid > 0 && best < currentReplicas) return { ok: false, reason: `a metric is invalid (${firstReason}); no scale-down` };
  return { ok: true, replicas: best, metric };
}

/** Replicas added or removed at a time (seconds). */
interface ScaleEvent {
  t: number;
  change: number;
}

/** Sum of the changes recorded strictly after now − period (getReplicasChangePerPeriod). */
function changeInPeriod(events: readonly ScaleEvent[], now: number, period: number): number {
  const cutoff = now - period;
  return events.reduce((s, e) => (e.t > cutoff ? s + e.change : s), 0);
}

/** Highest replica count the scale-up policies allow now (calculateScaleUpLimitWithScalingRules). */
export function scaleUpLimit(current: number, rules: ScalingRules, upEvents: readonly ScaleEvent[], downEvents: readonly ScaleEvent[], now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  let result = rules.selectPolicy === 'Min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(upEvents, now, p.periodSeconds) + changeInPeriod(downEvents, now, p.periodSeconds);
    // Percent rounds up, or a small target could never grow.
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** Lowest replica count the scale-down policies allow now (calculateScaleDownLimitWithBehaviors). */
export function scaleDownLimit(current: number, rules: ScalingRules, upEvents: readonly ScaleEvent[], downEvents: readonly ScaleEvent[], now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  // Min selects the smallest change, which on the way down is the highest limit.
  let result = rules.selectPolicy === 'Min' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(upEvents, now, p.periodSeconds) + changeInPeriod(downEvents, now, p.periodSeconds);
    // Percent truncates the remaining count, i.e. rounds the removal up (80 → 72 → 64 at 10 %).
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = rules.selectPolicy === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** What one sync decided. */
export interface SyncDecision {
  /** The metrics' raw recommendation (before stabilisation and policies), or null when none. */
  recommended: number | null;
  /** The replica count after stabilisation and policies; equals current when nothing changes. */
  desired: number;
  /** Why the count is what it is (HPA condition reasons: ScaleUpLimit, ScaleDownLimit, ...). */
  reason: string;
}

/** The HPA's limits and behaviour. */
export interface HpaLimits {
  minReplicas: number;
  maxReplicas: number;
  behavior: Behavior;
}

/** Longest time an event or recommendation can matter: recorded history older than this is dropped. */
function horizon(b: Behavior): number {
  const periods = [...b.scaleUp.policies, ...b.scaleDown.policies].map((p) => p.periodSeconds);
  return Math.max(b.scaleUp.stabilizationWindowSeconds, b.scaleDown.stabilizationWindowSeconds, ...periods, 1);
}

/**
 * The HPA controller's memory for one HorizontalPodAutoscaler: its past recommendations (for the
 * stabilisation windows) and scale events (for the policies' periods), bounded by the longest
 * window or period.
 */
export class HpaController {
  private recommendations: Array<{ t: number; replicas: number }> = [];
  private upEvents: ScaleEvent[] = [];
  private downEvents: ScaleEvent[] = [];
  private readonly horizonS: number;

  constructor(private readonly limits: HpaLimits) {
    if (!(limits.minReplicas >= 1) || !(limits.maxReplicas >= limits.minReplicas)) throw new RangeError('need 1 <= minReplicas <= maxReplicas');
    this.horizonS = horizon(limits.behavior);
  }

  /** Record a past recommendation, as if the HPA had been running (a steady state before `t`). */
  seed(t: number, replicas: number): void {
    this.recommendations.push({ t, replicas });
  }

  /**
   * One reconcile at time `now` (seconds) for a target at `current` replicas whose metrics propose
   * `proposal`; records the recommendation and the resulting scale event.
   */
  sync(now: number, current: number, proposal: CombinedProposal): SyncDecision {
    this.forget(now);
    const { minReplicas, maxReplicas } = this.limits;
    let decision: SyncDecision;
    if (current > maxReplicas) decision = { recommended: null, desired: maxReplicas, reason: 'TooManyReplicas' };
    else if (current < minReplicas) decision = { recommended: null, desired: minReplicas, reason: 'TooFewReplicas' };
    else if (!proposal.ok) decision = { recommended: null, desired: current, reason: `FailedGetMetrics: ${proposal.reason}` };
    else decision = this.normalize(now, current, proposal.replicas);
    if (decision.desired > current) this.upEvents.push({ t: now, change: decision.desired - current });
    if (decision.desired < current) this.downEvents.push({ t: now, change: current - decision.desired });
    return decision;
  }

  /** normalizeDesiredReplicasWithBehaviors: stabilise, then apply the policies and min/max. */
  private normalize(now: number, current: number, recommended: number): SyncDecision {
    const { scaleUp, scaleDown } = this.limits.behavior;
    let up = recommended;
    let down = recommended;
    for (const r of this.recommendations) {
      if (r.t > now - scaleUp.stabilizationWindowSeconds) up = Math.min(up, r.replicas);
      if (r.t > now - scaleDown.stabilizationWindowSeconds) down = Math.max(down, r.replicas);
    }
    this.recommendations.push({ t: now, replicas: recommended });
    let stabilized = current;
    if (stabilized < up) stabilized = up;
    if (stabilized > down) stabilized = down;
    const { minReplicas, maxReplicas } = this.limits;
    if (stabilized > current) {
      const limit = Math.max(current, scaleUpLimit(current, scaleUp, this.upEvents, this.downEvents, now));
      const allowed = Math.min(maxReplicas, limit);
      if (stabilized > allowed) return { recommended, desired: allowed, reason: allowed === maxReplicas ? 'TooManyReplicas' : 'ScaleUpLimit' };
    } else if (stabilized < current) {
      const limit = Math.min(current, scaleDownLimit(current, scaleDown, this.upEvents, this.downEvents, now));
      const allowed = Math.max(minReplicas, limit);
      if (stabilized < allowed) return { recommended, desired: allowed, reason: allowed === minReplicas ? 'TooFewReplicas' : 'ScaleDownLimit' };
    }
    const reason = stabilized === recommended ? 'DesiredWithinRange' : stabilized > recommended ? 'ScaleDownStabilized' : 'ScaleUpStabilized';
    return { recommended, desired: stabilized, reason };
  }

  private forget(now: number): void {
    const cutoff = now - this.horizonS;
    this.recommendations = this.recommendations.filter((r) => r.t > cutoff);
    this.upEvents = this.upEvents.filter((e) => e.t > cutoff);
    this.downEvents = this.downEvents.filter((e) => e.t > cutoff);
  }
}
