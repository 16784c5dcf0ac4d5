/**
 * The HPA simulator's cluster model: start-up and node delays, drains, rejections, retries, the
 * broken-metric rule, the spike sweep.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapacityCurve, parseCapacityCurve, CAPACITY_CURVE_FORMAT } from '../../../src/autoscaling/capacity-curve.js';
import { readHpaSpec, type HpaSpec } from '../../../src/autoscaling/hpa-spec.js';
import { metricSource, simulate, spikeProfile, sweepSpikes } from '../../../src/autoscaling/simulator.js';
import type { Phase } from '../../../src/loadgen/profile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const HPA_FILE = path.join(root, 'k8s/autoscaling/hpa.yaml');

const curveOf = (capacity: number, points: Array<[number, number]>, extra: Record<string, unknown> = {}): CapacityCurve =>
  new CapacityCurve(parseCapacityCurve({ format: CAPACITY_CURVE_FORMAT, podCapacitySessions: capacity, points: points.map(([sessions, p95Ms]) => ({ sessions, p95Ms })), ...extra }));

/** A capacity-only HPA (the simulator's simplest case) with the manifest's behaviour. */
function capacityHpa(over: Partial<HpaSpec> = {}): HpaSpec {
  const m = readHpaSpec(HPA_FILE);
  return { ...m, metrics: m.metrics.filter((x) => x.name === 'rtc_capacity_utilization_ratio'), ...over };
}

test('metric names map to curve columns in both adapters\' spellings', () => {
  assert.equal(metricSource('rtc_capacity_utilization_ratio'), 'capacity');
  assert.equal(metricSource('prometheus.googleapis.com|pod:rtc_capacity_utilization:ratio|gauge'), 'capacity');
  assert.equal(metricSource('rtc_gpu_utilization_percent'), 'gpu');
  assert.equal(metricSource('rtc_frame_processing_p95_seconds'), 'frame');
  assert.equal(metricSource('something_else'), null);
});

test('a step beyond one pod: rejections until a node and a pod are up, then the HPA catches up; all timings show', () => {
  const curve = curveOf(4, [[1, 100], [4, 150], [5, 400]]);
  const phases: Phase[] = [{ name: 'idle', sessions: 1, durationS: 60, ramp: false }, { name: 'step', sessions: 10, durationS: 900, ramp: false }];
  const r = simulate(phases, capacityHpa(), curve, { metricDelayS: 30, podStartS: 60, nodeProvisionS: 240 });
  const step = r.phases.find((p) => p.name === 'step')!;
  assert.ok(step.rejectedOffers > 0, 'one pod of 4 cannot take 10 sessions');
  assert.equal(r.overall.held, false);
  // The first sync that sees the load: metrics are 30 s old, so not before t=60+30.
  const firstUp = r.syncs.find((s) => s.desired > s.current)!;
  assert.ok(firstUp.t >= 90 && firstUp.t <= 105, `first scale-up at ${firstUp.t}`);
  // No new pod is ready before the node and the pod start-up have passed.
  const firstMore = r.samples.find((s) => s.ready > 1)!;
  assert.ok(firstMore.t >= firstUp.t + 240 + 60, `second pod ready at ${firstMore.t}`);
  // In the end every session is served, at <= 0.7 x 4 per pod: ceil(10 / 2.8) = 4 pods.
  const last = r.samples.at(-1)!;
  assert.equal(last.activeSessions, 10);
  assert.ok(last.replicas >= 4, `replicas ${last.replicas}`);
  assert.ok(r.samples.every((s) => s.activeSessions <= s.ready * 4 + s.draining * 4));
  assert.ok(r.samples.every((s) => s.p95Ms === null || s.p95Ms <= 150), 'the session limit keeps every pod on the measured part of the curve');
});

test('phases are summarised by time, so two phases of the same name are two rows', () => {
  const curve = curveOf(4, [[1, 100], [4, 150]]);
  const phases: Phase[] = [{ name: 'steady', sessions: 1, durationS: 30, ramp: false }, { name: 'steady', sessions: 2, durationS: 45, ramp: false }];
  const r = simulate(phases, capacityHpa(), curve);
  assert.deepEqual(r.phases.map((p) => [p.name, p.durationS, p.maxTargetSessions]), [['steady', 30, 1], ['steady', 45, 2]]);
  assert.throws(() => simulate(phases, capacityHpa(), curve, { initialReplicas: 5, maxNodes: 2 }), /do not fit/);
});

test('warm nodes and a higher minReplicas close the gap that the node delay opens', () => {
  const curve = curveOf(4, [[1, 100], [4, 150]]);
  const phases: Phase[] = [{ name: 'base', sessions: 2, durationS: 600, ramp: false }, { name: 'spike', sessions: 8, durationS: 60, ramp: true }, { name: 'peak', sessions: 8, durationS: 600, ramp: false }];
  const hpa = capacityHpa();
  const cold = simulate(phases, hpa, curve);
  assert.equal(cold.overall.held, false);
  const warm = simulate(phases, hpa, curve, { warmNodes: 3, podStartS: 0, metricDelayS: 0 });
  assert.ok(warm.overall.rejectedOffers < cold.overall.rejectedOffers);
  const wide = simulate(phases, hpa, curve, { minReplicas: 3 });
  assert.equal(wide.overall.held, true, '3 pods x 4 sessions cover 8');
  assert.equal(wide.overall.rejectedOffers, 0);
});

test('scale-down drains the emptiest pods first, one a minute after the window, and drops nothing within the drain time', () => {
  const curve = curveOf(4, [[1, 100], [4, 150]]);
  const phases: Phase[] = [{ name: 'busy', sessions: 12, durationS: 900, ramp: false }, { name: 'quiet', sessions: 2, durationS: 1200, ramp: false }];
  const r = simulate(phases, capacityHpa(), curve, { initialReplicas: 5 });
  const downs = r.syncs.filter((s) => s.desired < s.current);
  assert.ok(downs.length >= 2);
  assert.ok(downs[0]!.t >= 900 + 300, `first scale-down at ${downs[0]!.t}, after the 300 s window`);
  for (let i = 1; i < downs.length; i++) assert.ok(downs[i]!.t - downs[i - 1]!.t >= 60, 'one pod a minute');
  assert.equal(r.overall.droppedSessions, 0);
  assert.ok(r.samples.at(-1)!.replicas <= 2);
});

test('turned-away clients retry after Retry-After; counting them in the capacity metric scales further on a fast spike', () => {
  const curve = curveOf(4, [[1, 100], [4, 150]]);
  const hpa = capacityHpa();
  const phases = spikeProfile(2, 20, 0.5);
  const sessions = simulate(phases, hpa, curve, { retryS: 5 });
  const demand = simulate(phases, hpa, curve, { retryS: 5, capacityMetric: 'demand' });
  // A full pod reads 1.0 however many clients it turns away: at a 0.7 target the HPA grows by at
  // most 1/0.7 per round of pod start-ups. Counting the turned-away clients lifts that ceiling.
  assert.ok(demand.overall.peakReplicas > sessions.overall.peakReplicas, `${demand.overall.peakReplicas} > ${sessions.overall.peakReplicas}`);
  assert.ok(demand.overall.rejectedOffers < sessions.overall.rejectedOffers);
  // Retries: with every client retrying each second there are five times as many offers to refuse.
  const eager = simulate(phases, hpa, curve, { retryS: 1 });
  assert.ok(eager.overall.rejectedOffers > 4 * sessions.overall.rejectedOffers, `${eager.overall.rejectedOffers} vs ${sessions.overall.rejectedOffers}`);
  // The same clients wait about as long either way (a slow retrier may get in a few seconds later).
  assert.ok(Math.abs(eager.overall.unservedSessionSeconds - sessions.overall.unservedSessionSeconds) <= 0.02 * sessions.overall.unservedSessionSeconds);
  assert.throws(() => simulate(phases, hpa, curve, { retryS: 0 }), RangeError);
});

test('a broken metric (DCGM down) blocks scale-down but not scale-up', () => {
  const curve = new CapacityCurve(parseCapacityCurve({ format: CAPACITY_CURVE_FORMAT, podCapacitySessions: 4,
    points: [{ sessions: 1, p95Ms: 100, gpuUtilizationPercent: 10 }, { sessions: 4, p95Ms: 150, gpuUtilizationPercent: 40 }] }));
  const hpa = readHpaSpec(HPA_FILE);
  const phases: Phase[] = [{ name: 'busy', sessions: 12, durationS: 900, ramp: false }, { name: 'quiet', sessions: 1, durationS: 1200, ramp: false }];
  const healthy = simulate(phases, hpa, curve, { initialReplicas: 2 });
  const broken = simulate(phases, hpa, curve, { initialReplicas: 2, brokenMetrics: ['rtc_gpu_utilization_percent'] });
  assert.deepEqual(healthy.unsimulatedMetrics, ['rtc_frame_processing_p95_seconds']);
  assert.ok(broken.overall.peakReplicas >= 5, 'still scales up on capacity');
  assert.ok(healthy.samples.at(-1)!.replicas < healthy.overall.peakReplicas, 'the healthy HPA scales back down');
  assert.equal(broken.samples.at(-1)!.replicas, broken.overall.peakReplicas, 'the broken one never does');
  assert.ok(broken.syncs.some((s) => /no scale-down/.test(s.reason)));
  assert.throws(() => simulate(phases, hpa, curve, { brokenMetrics: ['typo_metric'] }), /not one of the HPA's/);
});

test('spike sweep: slow spikes hold, fast ones need a knob, and the knobs found do hold', () => {
  const curve = curveOf(4, [[1, 100], [4, 150]]);
  const hpa = capacityHpa();
  const rows = sweepSpikes(hpa, curve, {}, 2, 12, [0.002, 1]);
  assert.equal(rows[0]!.held, true, `a spike of 10 sessions over 5000 s is absorbed: ${JSON.stringify(rows[0])}`);
  assert.equal(rows[1]!.held, false);
  assert.ok(typeof rows[1]!.minReplicasNeeded === 'number');
  // The scale-up policy is not what limits a fast spike: start-up delays and the saturating metric are.
  assert.equal(rows[1]!.unlimitedScaleUpHolds, false);
  assert.equal(rows[0]!.unlimitedScaleUpHolds, undefined, 'not searched for a rate that holds');
  const fixed = simulate(spikeProfile(2, 12, 1), hpa, curve, { minReplicas: rows[1]!.minReplicasNeeded! });
  assert.equal(fixed.overall.held, true);
  assert.throws(() => spikeProfile(5, 5, 1), RangeError);
  // Every run is bounded: a climb that would last longer than a day is refused, as is such a profile.
  assert.throws(() => spikeProfile(0, 10_000, 0.001), /longer than/);
  assert.throws(() => simulate([{ name: 'long', sessions: 1, durationS: 2 * 86_400, ramp: false }], hpa, curve), /must last/);
});
