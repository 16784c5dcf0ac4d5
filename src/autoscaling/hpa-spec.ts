/**
 * Reads a HorizontalPodAutoscaler manifest (k8s/autoscaling/hpa.yaml) into the numbers the
 * simulator needs: min/max replicas, the Pods metrics with their AverageValue targets, and the
 * behaviour with the API server's defaults filled in where the manifest leaves them out.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, type Behavior, type ScalingPolicy, type ScalingRules, type SelectPolicy } from './hpa-algorithm.js';

/** A Pods metric with an AverageValue target. */
export interface PodsMetricSpec {
  name: string;
  /** The target as a plain number (a quantity such as 700m is 0.7). */
  target: number;
}

/** What the simulator takes from an HPA manifest. */
export interface HpaSpec {
  name: string;
  minReplicas: number;
  maxReplicas: number;
  metrics: PodsMetricSpec[];
  behavior: Behavior;
}

/** Thrown for a manifest the simulator cannot use. */
export class HpaSpecError extends Error {
  override readonly name = 'HpaSpecError';
}

// Sub-unit suffixes divide (700 / 1000 is 0.7; 700 * 1e-3 is 0.7000000000000001).
const DIVISOR: Record<string, number> = { n: 1e9, u: 1e6, m: 1e3 };
const MULTIPLIER: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** A Kubernetes quantity ("200m", "70", "1.5", "2k") as a number. */
export function parseQuantity(q: unknown): number {
  const m = /^([+-]?[0-9]+(?:\.[0-9]+)?)(n|u|m|k|M|G|Ki|Mi|Gi)?$/.exec(String(q).trim());
  if (!m) throw new HpaSpecError(`not a quantity: ${JSON.stringify(q)}`);
  const suffix = m[2] ?? '';
  return suffix in DIVISOR ? Number(m[1]) / DIVISOR[suffix]! : Number(m[1]) * MULTIPLIER[suffix]!;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new HpaSpecError(`${where} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function rules(raw: unknown, defaults: ScalingRules, where: string): ScalingRules {
  if (raw === undefined) return defaults;
  if (!isObj(raw)) throw new HpaSpecError(`${where} must be an object`);
  const select = raw.selectPolicy ?? 'Max';
  if (select !== 'Max' && select !== 'Min' && select !== 'Disabled') throw new HpaSpecError(`${where}.selectPolicy must be Max, Min or Disabled`);
  const window = raw.stabilizationWindowSeconds === undefined ? defaults.stabilizationWindowSeconds : int(raw.stabilizationWindowSeconds, `${where}.stabilizationWindowSeconds`, 0, 3600);
  let policies: ScalingPolicy[] = defaults.policies;
  if (raw.policies !== undefined) {
    if (!Array.isArray(raw.policies) || raw.policies.length === 0) throw new HpaSpecError(`${where}.policies must be a non-empty list`);
    policies = raw.policies.map((p: unknown, i) => {
      if (!isObj(p) || (p.type !== 'Pods' && p.type !== 'Percent')) throw new HpaSpecError(`${where}.policies[${i}].type must be Pods or Percent`);
      return { type: p.type, value: int(p.value, `${where}.policies[${i}].value`, 1, 100_000), periodSeconds: int(p.periodSeconds, `${where}.policies[${i}].periodSeconds`, 1, 1800) };
    });
  }
  return { stabilizationWindowSeconds: window, selectPolicy: select as SelectPolicy, policies };
}

/** The HPA of a parsed manifest object. */
export function hpaSpecFromObject(doc: unknown): HpaSpec {
  if (!isObj(doc) || doc.kind !== 'HorizontalPodAutoscaler') throw new HpaSpecError('not a HorizontalPodAutoscaler');
  if (doc.apiVersion !== 'autoscaling/v2') throw new HpaSpecError(`apiVersion must be autoscaling/v2, got ${JSON.stringify(doc.apiVersion)}`);
  const spec = doc.spec;
  if (!isObj(spec)) throw new HpaSpecError('spec missing');
  const minReplicas = spec.minReplicas === undefined ? 1 : int(spec.minReplicas, 'spec.minReplicas', 1, 10_000);
  const maxReplicas = int(spec.maxReplicas, 'spec.maxReplicas', minReplicas, 10_000);
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) throw new HpaSpecError('spec.metrics must be a non-empty list');
  const metrics = spec.metrics.map((m: unknown, i): PodsMetricSpec => {
    const pods = isObj(m) && m.type === 'Pods' && isObj(m.pods) ? m.pods : undefined;
    const name = pods && isObj(pods.metric) ? pods.metric.name : undefined;
    const target = pods && isObj(pods.target) ? pods.target : undefined;
    if (typeof name !== 'string' || !target || target.type !== 'AverageValue') {
      throw new HpaSpecError(`spec.metrics[${i}]: the simulator reads Pods metrics with an AverageValue target only`);
    }
    const value = parseQuantity(target.averageValue);
    if (!(value > 0)) throw new HpaSpecError(`spec.metrics[${i}]: target must be positive`);
    return { name, target: value };
  });
  const behavior = isObj(spec.behavior) ? spec.behavior : {};
  const name = isObj(doc.metadata) && typeof doc.metadata.name === 'string' ? doc.metadata.name : 'hpa';
  return {
    name, minReplicas, maxReplicas, metrics,
    behavior: { scaleUp: rules(behavior.scaleUp, DEFAULT_SCALE_UP, 'scaleUp'), scaleDown: rules(behavior.scaleDown, DEFAULT_SCALE_DOWN, 'scaleDown') },
  };
}

/** The first HorizontalPodAutoscaler in a YAML file (one or several documents). */
export function readHpaSpec(file: string): HpaSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HpaSpecError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length > 0) throw new HpaSpecError(`${file}: ${d.errors[0]!.message}`);
    const obj: unknown = d.toJS();
    if (isObj(obj) && obj.kind === 'HorizontalPodAutoscaler') return hpaSpecFromObject(obj);
  }
  throw new HpaSpecError(`${file}: no HorizontalPodAutoscaler`);
}
