/**
 * The HPA arithmetic against the worked examples of the Kubernetes documentation
 * (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ "Algorithm details",
 * "Scaling policies", "Stabilization window", "Default behavior"; the walkthrough's 305 % / 50 %;
 * the v1.33 configurable-tolerance post's 50 replicas at 90/75) and the rules of
 * replica_calculator.go for missing and unready pods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  combineProposals, type CombinedProposal, DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaController, podsMetricReplicas, scaleDownLimit, scaleUpLimit,
  type Behavior, type MetricProposal, type PodSample, type ScalingRules,
} from '../../../src/autoscaling/hpa-algorithm.js';

const running = (...values: Array<number | undefined>): PodSample[] => values.map((value) => ({ pending: false, deleting: false, value }));
const replicas = (p: MetricProposal): number => { assert.ok(p.ok, JSON.stringify(p)); return p.replicas; };
const ok = (n: number): MetricProposal => ({ ok: true, replicas: n, usageRatio: 1, averageValue: 1 });
const want = (n: number): CombinedProposal => ({ ok: true, replicas: n, metric: 0 });

test('docs: 200m against a 100m target doubles the replicas, 50m halves them', () => {
  assert.equal(replicas(podsMetricReplicas(4, running(0.2, 0.2, 0.2, 0.2), 0.1)), 8);
  assert.equal(replicas(podsMetricReplicas(4, running(0.05, 0.05, 0.05, 0.05), 0.1)), 2);
});

test('docs walkthrough: one pod at 305 % against 50 % goes to ceil(6.1) = 7', () => {
  assert.equal(replicas(podsMetricReplicas(1, running(305), 50)), 7);
});

test('tolerance 0.1: no change within 10 % of the target; 50 replicas at 90/75 go to 60', () => {
  assert.equal(replicas(podsMetricReplicas(10, running(...Array<number>(10).fill(1.09)), 1)), 10, '1.09 is within the tolerance');
  assert.equal(replicas(podsMetricReplicas(10, running(...Array<number>(10).fill(0.91)), 1)), 10, '0.91 is within the tolerance');
  assert.equal(replicas(podsMetricReplicas(10, running(...Array<number>(10).fill(1.11)), 1)), 12, 'ceil(11.1)');
  assert.equal(replicas(podsMetricReplicas(50, running(...Array<number>(50).fill(90)), 75)), 60);
  // A custom tolerance (KEP-4951): 5 % makes 1.06 act.
  assert.equal(replicas(podsMetricReplicas(10, running(...Array<number>(10).fill(1.06)), 1, 0.05)), 11);
});

test('missing metrics: 0 of the target on the way up, 100 % on the way down; they never reverse the direction', () => {
  // Up: three pods at 2x, one without a value: (2+2+2+0)/4 = 1.5 over 4 pods -> 6 (not 6 from 3x2).
  assert.equal(replicas(podsMetricReplicas(4, running(2, 2, 2, undefined), 1)), 6);
  // Down: three pods at 0.5x, one missing: (0.5*3 + 1)/4 = 0.625 -> ceil(2.5) = 3.
  assert.equal(replicas(podsMetricReplicas(4, running(0.5, 0.5, 0.5, undefined), 1)), 3);
  // Up only a little, and the missing pod would turn it into a scale-down: no change.
  assert.equal(replicas(podsMetricReplicas(4, running(1.2, 1.2, 1.2, undefined), 1)), 4);
});

test('pending pods count as 0 when scaling up, and are left out otherwise; deleting pods never count', () => {
  const pods: PodSample[] = [...running(2, 2), { pending: true, deleting: false, value: undefined }, { pending: true, deleting: false, value: undefined }];
  // (2+2+0+0)/4 = 1 -> within the tolerance: the pods being started already cover the load.
  assert.equal(replicas(podsMetricReplicas(4, pods, 1)), 4);
  const down: PodSample[] = [...running(0.4, 0.4), { pending: true, deleting: false, value: undefined }];
  assert.equal(replicas(podsMetricReplicas(3, down, 1)), 1, 'ceil(0.4 x 2 ready pods)');
  const draining: PodSample[] = [...running(1.5, 1.5), { pending: false, deleting: true, value: 0 }];
  assert.equal(replicas(podsMetricReplicas(2, draining, 1)), 3);
  assert.equal(podsMetricReplicas(2, running(undefined, undefined), 1).ok, false, 'no value at all is an invalid metric');
});

test('docs: several metrics -> the largest proposal; an invalid metric allows scale-up but never scale-down', () => {
  const invalid: MetricProposal = { ok: false, reason: 'no metrics returned' };
  assert.deepEqual(combineProposals(4, [ok(3), ok(7), ok(5)]), { ok: true, replicas: 7, metric: 1 });
  assert.deepEqual(combineProposals(4, [ok(6), invalid]), { ok: true, replicas: 6, metric: 0 });
  assert.equal(combineProposals(4, [ok(2), invalid]).ok, false, 'scale-down with a broken metric is skipped');
  assert.equal(combineProposals(4, [ok(4), invalid]).ok, true, 'staying put is fine');
  assert.equal(combineProposals(4, [invalid, invalid]).ok, false);
});

test('docs default behaviour: scale up by 100 % or 4 pods per 15 s, whichever is more', () => {
  assert.equal(scaleUpLimit(1, DEFAULT_SCALE_UP, [], [], 0), 5);
  assert.equal(scaleUpLimit(10, DEFAULT_SCALE_UP, [], [], 0), 20);
  // Within the period the start is the count before the last increase: 5 (from 1) may go to 5 only.
  assert.equal(scaleUpLimit(5, DEFAULT_SCALE_UP, [{ t: 0, change: 4 }], [], 10), 5);
  assert.equal(scaleUpLimit(5, DEFAULT_SCALE_UP, [{ t: 0, change: 4 }], [], 15), 10, 'the event leaves the 15 s period');
  const min: ScalingRules = { ...DEFAULT_SCALE_UP, selectPolicy: 'Min' };
  assert.equal(scaleUpLimit(10, min, [], [], 0), 14, 'Min: +4 rather than +10');
  assert.equal(scaleUpLimit(10, { ...DEFAULT_SCALE_UP, selectPolicy: 'Disabled' }, [], [], 0), 10);
  // Percent rounds up: 3 pods at 10 % may become 4, not stay at 3.
  assert.equal(scaleUpLimit(3, { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }] }, [], [], 0), 4);
});

test('docs scaling policies: 80 replicas with Pods 4/60 s and Percent 10/60 s (Max) lose 8, then 8 at 72, then 4 below 40', () => {
  const rules: ScalingRules = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 60 }, { type: 'Percent', value: 10, periodSeconds: 60 }] };
  assert.equal(scaleDownLimit(80, rules, [], [], 0), 72);
  assert.equal(scaleDownLimit(72, rules, [], [{ t: 0, change: 8 }], 30), 72, 'within the period no more may go');
  assert.equal(scaleDownLimit(72, rules, [], [{ t: 0, change: 8 }], 61), 64, '7.2 is rounded up to 8');
  assert.equal(scaleDownLimit(30, rules, [], [], 0), 26, 'below 40 the Pods policy removes more (4 > 3)');
  assert.equal(scaleDownLimit(80, { ...rules, selectPolicy: 'Min' }, [], [], 0), 76, 'Min: the smaller change');
  assert.equal(scaleDownLimit(80, { ...rules, selectPolicy: 'Disabled' }, [], [], 0), 80);
});

const behavior = (up: Partial<ScalingRules> = {}, down: Partial<ScalingRules> = {}): Behavior => ({
  scaleUp: { ...DEFAULT_SCALE_UP, ...up }, scaleDown: { ...DEFAULT_SCALE_DOWN, ...down },
});

test('docs stabilisation window: scale-down uses the highest recommendation of the last 300 s', () => {
  const hpa = new HpaController({ minReplicas: 1, maxReplicas: 20, behavior: behavior() });
  assert.equal(hpa.sync(0, 10, want(10)).desired, 10);
  assert.equal(hpa.sync(15, 10, want(4)).desired, 10, 'held at 10 by the recommendation at t=0');
  assert.equal(hpa.sync(200, 10, want(3)).desired, 10);
  const d = hpa.sync(301, 10, want(3));
  assert.equal(d.desired, 4, 'the t=0 recommendation left the window; 4 (t=15) is the highest left');
  assert.equal(d.reason, 'ScaleDownStabilized');
  assert.equal(hpa.sync(316, 4, want(3)).desired, 3);
});

test('the manifest behaviour: up 1 -> 5 -> 10 in two periods, down one pod a minute after the window', () => {
  const b = behavior({}, { stabilizationWindowSeconds: 300, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] });
  const hpa = new HpaController({ minReplicas: 1, maxReplicas: 10, behavior: b });
  const up = hpa.sync(0, 1, want(40));
  assert.deepEqual([up.desired, up.reason], [5, 'ScaleUpLimit']);
  assert.equal(hpa.sync(15, 5, want(40)).desired, 10, 'doubling, capped at maxReplicas');
  assert.equal(hpa.sync(30, 10, want(40)).reason, 'TooManyReplicas');
  // Load gone at t=45; the last 40 (t=30) leaves the 300 s window at t=330, then one pod per minute.
  let current = 10;
  const seen: Array<[number, number]> = [];
  for (let t = 45; t <= 600; t += 15) {
    const d = hpa.sync(t, current, want(1));
    if (d.desired !== current) seen.push([t, d.desired]);
    current = d.desired;
  }
  assert.deepEqual(seen, [[330, 9], [390, 8], [450, 7], [510, 6], [570, 5]]);
});

test('a seeded recommendation holds the count through the scale-down window, as a running HPA would', () => {
  const hpa = new HpaController({ minReplicas: 1, maxReplicas: 10, behavior: behavior() });
  hpa.seed(-1, 5);
  assert.equal(hpa.sync(15, 5, want(1)).desired, 5);
  assert.equal(hpa.sync(300, 5, want(1)).desired, 1, 'the seed has left the 300 s window; the default policy removes all at once');
});

test('min and max clamp; a count outside them is brought back first; a failed metric read changes nothing', () => {
  const hpa = new HpaController({ minReplicas: 2, maxReplicas: 6, behavior: behavior({}, { stabilizationWindowSeconds: 0 }) });
  assert.equal(hpa.sync(0, 1, want(1)).desired, 2);
  assert.equal(hpa.sync(15, 9, want(9)).desired, 6);
  assert.equal(hpa.sync(30, 4, want(1)).desired, 2);
  assert.equal(hpa.sync(45, 4, { ok: false, reason: 'a metric is invalid' }).desired, 4);
  assert.throws(() => new HpaController({ minReplicas: 0, maxReplicas: 3, behavior: behavior() }), RangeError);
});
