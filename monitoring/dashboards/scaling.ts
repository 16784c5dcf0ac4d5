/**
 * The scaling dashboard: HPA replicas desired against current, the HPA's metric values against
 * their targets, and latency against the 200 ms objective. The HPA reads
 * pod:rtc_frame_processing_seconds:p95 as rtc_frame_processing_p95_seconds and
 * pod:rtc_gpu_utilization:percent as rtc_gpu_utilization_percent (prometheus-adapter); replica
 * counts and targets come from kube-state-metrics.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { FULL, labelVariable, LATENCY_OBJECTIVE_SECONDS, row, rtcDashboard, statPanel, timeseriesPanel } from './panels.js';

const NS = 'namespace=~"$namespace"';
const HPA = `${NS}, horizontalpodautoscaler=~"$hpa"`;

/** The custom metric names the HPA uses (prometheus-adapter renames the recording rules to these). */
export const HPA_METRICS = {
  capacity: 'rtc_capacity_utilization_ratio',
  latency: 'rtc_frame_processing_p95_seconds',
  gpu: 'rtc_gpu_utilization_percent',
} as const;

/** Build the "rtc-scale / Scaling" dashboard. */
export function scalingDashboard(): dashboard.Dashboard {
  return rtcDashboard('rtc-scale / Scaling', {
    uid: 'rtc-scale-scaling',
    description: 'HorizontalPodAutoscaler of the rtc-scale Deployment: replicas, the metrics it scales on against their targets, and latency against the objective.',
    tags: ['rtc-scale', 'hpa', 'generated'],
    from: 'now-3h',
  })
    .withVariable(labelVariable('hpa', 'horizontalpodautoscaler', `kube_horizontalpodautoscaler_spec_max_replicas{${NS}}`))

    .withRow(row('Replicas'))
    .withPanel(statPanel('Current replicas', { expr: `sum(kube_horizontalpodautoscaler_status_current_replicas{${HPA}})`, legend: 'current' },
      { description: 'Replicas the HPA sees now.', unit: 'short', decimals: 0 }))
    .withPanel(statPanel('Desired replicas', { expr: `sum(kube_horizontalpodautoscaler_status_desired_replicas{${HPA}})`, legend: 'desired' },
      { description: 'Replicas the HPA asks for.', unit: 'short', decimals: 0 }))
    .withPanel(statPanel('Max replicas', { expr: `sum(kube_horizontalpodautoscaler_spec_max_replicas{${HPA}})`, legend: 'max' },
      { description: 'The HPA\'s upper bound.', unit: 'short', decimals: 0 }))
    .withPanel(statPanel('Sessions per pod', {
      expr: `sum(pod:rtc_sessions_active:sum{${NS}}) / count(pod:rtc_sessions_active:sum{${NS}})`, legend: 'sessions/pod',
    }, { description: 'Average live sessions per scraped pod.', unit: 'short', decimals: 1 }))
    .withPanel(statPanel('Deployment p95', { expr: `max(deployment:rtc_frame_processing_seconds:p95{${NS}})`, legend: 'p95' },
      { description: 'Frame processing p95 over all frames of the deployment. Red at the 200 ms objective.', unit: 's', warnAt: [0.15, LATENCY_OBJECTIVE_SECONDS] }))
    .withPanel(statPanel('Scaling limited', {
      expr: `max(kube_horizontalpodautoscaler_status_condition{${HPA}, condition="ScalingLimited", status="true"})`, legend: 'limited',
    }, { description: '1 when the HPA wants more (or fewer) replicas than min/max allow.', unit: 'short', warnAt: [0.5, 1], decimals: 0 }))
    .withPanel(timeseriesPanel('Replicas: desired against current', [
      { expr: `kube_horizontalpodautoscaler_status_desired_replicas{${HPA}}`, legend: '{{horizontalpodautoscaler}} desired' },
      { expr: `kube_horizontalpodautoscaler_status_current_replicas{${HPA}}`, legend: '{{horizontalpodautoscaler}} current' },
      { expr: `kube_horizontalpodautoscaler_spec_min_replicas{${HPA}}`, legend: '{{horizontalpodautoscaler}} min' },
      { expr: `kube_horizontalpodautoscaler_spec_max_replicas{${HPA}}`, legend: '{{horizontalpodautoscaler}} max' },
    ], { description: 'What the HPA asks for against what runs, within its bounds.', unit: 'short', min: 0 }))
    .withPanel(timeseriesPanel('Deployment replicas available', [
      {
        expr: `kube_deployment_status_replicas_available{${NS}} * on (namespace, deployment) group_left () max by (namespace, deployment) (label_replace(kube_horizontalpodautoscaler_info{${HPA}}, "deployment", "$1", "scaletargetref_name", "(.+)"))`,
        legend: '{{deployment}} available',
      },
      {
        expr: `kube_deployment_spec_replicas{${NS}} * on (namespace, deployment) group_left () max by (namespace, deployment) (label_replace(kube_horizontalpodautoscaler_info{${HPA}}, "deployment", "$1", "scaletargetref_name", "(.+)"))`,
        legend: '{{deployment}} spec',
      },
    ], { description: 'Pods of the HPA\'s target Deployment that are ready, against its spec: the gap is pods waiting for a GPU node.', unit: 'short', min: 0 }))

    .withRow(row('HPA metrics against targets'))
    .withPanel(timeseriesPanel(`Capacity utilisation (${HPA_METRICS.capacity})`, [
      { expr: `pod:rtc_capacity_utilization:ratio{${NS}}`, legend: '{{pod}}' },
      { expr: `avg by (namespace) (pod:rtc_capacity_utilization:ratio{${NS}})`, legend: 'average over pods (what the HPA compares)' },
      { expr: `kube_horizontalpodautoscaler_spec_target_metric{${HPA}, metric_name="${HPA_METRICS.capacity}"}`, legend: 'HPA target' },
    ], { description: 'What fills a pod, 0 idle to 1 full (the media engine\'s figure, or sessions over RTC_MAX_SESSIONS): the HPA\'s first metric, its average and the target. At 1 the pod answers 503.', unit: 'percentunit', min: 0, max: 1 }))
    .withPanel(timeseriesPanel(`Frame processing p95 (${HPA_METRICS.latency})`, [
      { expr: `pod:rtc_frame_processing_seconds:p95{${NS}}`, legend: '{{pod}}' },
      { expr: `avg by (namespace) (pod:rtc_frame_processing_seconds:p95{${NS}})`, legend: 'average over pods (what the HPA compares)' },
      { expr: `kube_horizontalpodautoscaler_spec_target_metric{${HPA}, metric_name="${HPA_METRICS.latency}"}`, legend: 'HPA target' },
    ], { description: 'Per-pod p95 the HPA reads through prometheus-adapter, their average, and the HPA\'s averageValue target.', unit: 's', min: 0 }))
    .withPanel(timeseriesPanel(`GPU utilisation (${HPA_METRICS.gpu})`, [
      { expr: `pod:rtc_gpu_utilization:percent{${NS}}`, legend: '{{pod}}' },
      { expr: `avg by (namespace) (pod:rtc_gpu_utilization:percent{${NS}})`, legend: 'average over pods (what the HPA compares)' },
      { expr: `kube_horizontalpodautoscaler_spec_target_metric{${HPA}, metric_name="${HPA_METRICS.gpu}"}`, legend: 'HPA target' },
    ], { description: 'Per-pod DCGM GPU utilisation the HPA reads, their average, and the HPA\'s target.', unit: 'percent', min: 0, max: 100 }))
    .withPanel(timeseriesPanel('HPA view of its metrics', [
      { expr: `kube_horizontalpodautoscaler_status_target_metric{${HPA}}`, legend: '{{metric_name}} current ({{metric_target_type}})' },
      { expr: `kube_horizontalpodautoscaler_spec_target_metric{${HPA}}`, legend: '{{metric_name}} target ({{metric_target_type}})' },
    ], { description: 'The current values the HPA computed and its targets, as kube-state-metrics reports them (status_target_metric needs kube-state-metrics 2.6 or later, autoscaling/v2 HPAs 2.7 or later).', unit: 'short', min: 0, size: FULL }))

    .withRow(row('Objective'))
    .withPanel(timeseriesPanel('Deployment p95 against the 200 ms objective', [
      { expr: `deployment:rtc_frame_processing_seconds:p95{${NS}}`, legend: '{{deployment}} p95' },
      { expr: `deployment:rtc_frame_processing_seconds:p99{${NS}}`, legend: '{{deployment}} p99' },
    ], { description: 'Frame processing latency of the whole deployment. Dashed line: the objective the HPA and RtcFrameLatencyP95High hold it to.', unit: 's', min: 0, thresholdLine: LATENCY_OBJECTIVE_SECONDS }))
    .withPanel(timeseriesPanel('Load against replicas', [
      { expr: `deployment:rtc_sessions_active:sum{${NS}}`, legend: '{{deployment}} sessions' },
      { expr: `deployment:rtc_frames_received:rate1m{${NS}} / 30`, legend: '{{deployment}} fps in / 30' },
      { expr: `sum(kube_horizontalpodautoscaler_status_current_replicas{${HPA}})`, legend: 'replicas' },
    ], { description: 'Sessions and incoming frames (scaled by 1/30, a 30 fps stream = 1) against the replicas serving them.', unit: 'short', min: 0 }))
    .build();
}
