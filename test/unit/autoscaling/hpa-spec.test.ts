/**
 * The HPA simulator reads the manifest: quantities, API defaults, errors for what it cannot read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hpaSpecFromObject, HpaSpecError, parseQuantity, readHpaSpec } from '../../../src/autoscaling/hpa-spec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const HPA_FILE = path.join(root, 'k8s/autoscaling/hpa.yaml');

test('the manifest reads as the HPA the tests of k8s/ check: three Pods metrics, the capacity one at 0.7', () => {
  const spec = readHpaSpec(HPA_FILE);
  assert.equal(spec.minReplicas, 1);
  assert.equal(spec.maxReplicas, 10);
  assert.deepEqual(spec.metrics, [
    { name: 'rtc_capacity_utilization_ratio', target: 0.7 },
    { name: 'rtc_frame_processing_p95_seconds', target: 0.2 },
    { name: 'rtc_gpu_utilization_percent', target: 70 },
  ]);
  assert.equal(spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
  assert.equal(spec.behavior.scaleDown.selectPolicy, 'Min');
  assert.deepEqual(spec.behavior.scaleUp.policies.map((p) => `${p.type}:${p.value}/${p.periodSeconds}`), ['Percent:100/15', 'Pods:4/15']);
});

test('HPA spec: quantities, API defaults, and errors for what the simulator cannot read', () => {
  assert.equal(parseQuantity('200m'), 0.2);
  assert.equal(parseQuantity('70'), 70);
  assert.equal(parseQuantity(1.5), 1.5);
  assert.throws(() => parseQuantity('lots'), HpaSpecError);
  const base = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' },
    spec: { maxReplicas: 3, metrics: [{ type: 'Pods', pods: { metric: { name: 'm' }, target: { type: 'AverageValue', averageValue: '1' } } }] } };
  const d = hpaSpecFromObject(base);
  assert.equal(d.minReplicas, 1);
  assert.equal(d.behavior.scaleDown.stabilizationWindowSeconds, 300, 'API default');
  assert.equal(d.behavior.scaleUp.policies.length, 2);
  assert.throws(() => hpaSpecFromObject({ ...base, spec: { ...base.spec, metrics: [{ type: 'Resource', resource: { name: 'cpu' } }] } }), /Pods metrics/);
  assert.throws(() => hpaSpecFromObject({ ...base, apiVersion: 'autoscaling/v1' }), /autoscaling\/v2/);
  assert.throws(() => hpaSpecFromObject({ ...base, spec: { ...base.spec, behavior: { scaleUp: { selectPolicy: 'Fast' } } } }), /selectPolicy/);
  assert.throws(() => readHpaSpec(path.join(root, 'k8s/base/service.yaml')), /no HorizontalPodAutoscaler/);
});
