/** The service dashboard: sessions, frame rates, latency quantiles, drops, backend per pod, process health. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { FULL, labelsTablePanel, LATENCY_OBJECTIVE_SECONDS, row, rtcDashboard, statPanel, timeseriesPanel } from './panels.js';

const NS = 'namespace=~"$namespace"';
const RTC = `job="rtc-scale", ${NS}`;

/** Build the "rtc-scale / Service" dashboard. */
export function serviceDashboard(): dashboard.Dashboard {
  return rtcDashboard('rtc-scale / Service', {
    uid: 'rtc-scale-service',
    description: 'WebRTC sessions, frame rates, frame processing latency, drops and backends of the rtc-scale pods.',
    tags: ['rtc-scale', 'generated'],
    from: 'now-1h',
  })

    .withRow(row('Overview'))
    .withPanel(statPanel('Sessions', { expr: `sum(pod:rtc_sessions_active:sum{${NS}})`, legend: 'sessions' },
      { description: 'Live WebRTC processing sessions over all pods.', unit: 'short', decimals: 0 }))
    .withPanel(statPanel('Frames in', { expr: `sum(pod:rtc_frames_received:rate1m{${NS}})`, legend: 'fps in' },
      { description: 'Decoded frames per second received from clients, all pods.', unit: 'fps' }))
    .withPanel(statPanel('Frames out', { expr: `sum(pod:rtc_frames_sent:rate1m{${NS}})`, legend: 'fps out' },
      { description: 'Processed frames per second sent back to clients, all pods.', unit: 'fps' }))
    .withPanel(statPanel('Worst p95 frame time', { expr: `max(pod:rtc_frame_processing_seconds:p95{${NS}})`, legend: 'p95' },
      { description: 'Highest per-pod p95 frame processing time (1 m window). Red at the 200 ms objective.', unit: 's', warnAt: [0.15, LATENCY_OBJECTIVE_SECONDS] }))
    .withPanel(statPanel('Drop ratio', {
      expr: `sum(pod:rtc_frames_dropped:rate1m{${NS}}) / sum(pod:rtc_frames_received:rate1m{${NS}})`, legend: 'dropped',
    }, { description: 'Share of received frames dropped (a newer frame arrived first, or processing failed). Red at the 10% alert threshold.', unit: 'percentunit', warnAt: [0.05, 0.1] }))
    .withPanel(statPanel('Pods up', { expr: `sum(up{${RTC}})`, legend: 'up' },
      { description: 'rtc-scale targets Prometheus scrapes successfully.', unit: 'short', decimals: 0 }))

    .withRow(row('Latency'))
    .withPanel(timeseriesPanel('Frame processing time by pod (p50 / p95 / p99)', [
      { expr: `pod:rtc_frame_processing_seconds:p50{${NS}}`, legend: '{{pod}} p50' },
      { expr: `pod:rtc_frame_processing_seconds:p95{${NS}}`, legend: '{{pod}} p95' },
      { expr: `pod:rtc_frame_processing_seconds:p99{${NS}}`, legend: '{{pod}} p99' },
    ], { description: 'Time to process one frame on the backend (upload + compute + download), quantiles over 1 m. Dashed line: the 200 ms objective. Reads 0 while a pod processes no frames.', unit: 's', min: 0, thresholdLine: LATENCY_OBJECTIVE_SECONDS, size: FULL }))
    .withPanel(timeseriesPanel('Frame processing time by deployment', [
      { expr: `deployment:rtc_frame_processing_seconds:p50{${NS}}`, legend: '{{deployment}} p50' },
      { expr: `deployment:rtc_frame_processing_seconds:p95{${NS}}`, legend: '{{deployment}} p95' },
      { expr: `deployment:rtc_frame_processing_seconds:p99{${NS}}`, legend: '{{deployment}} p99' },
    ], { description: 'Quantiles of all frames of a deployment (from summed histogram buckets, not averaged pod quantiles).', unit: 's', min: 0, thresholdLine: LATENCY_OBJECTIVE_SECONDS }))
    .withPanel(timeseriesPanel('Server latency and queue wait p95 by pod', [
      { expr: `pod:rtc_frame_server_latency_seconds:p95{${NS}}`, legend: '{{pod}} server latency' },
      { expr: `pod:rtc_frame_queue_wait_seconds:p95{${NS}}`, legend: '{{pod}} queue wait' },
    ], { description: 'Server latency: decoded frame in to processed frame handed to the encoder. Queue wait: time a frame waited in its session slot.', unit: 's', min: 0 }))
    .withPanel(timeseriesPanel('Frame processing p95 by backend and filter', [
      { expr: `histogram_quantile(0.95, sum by (backend, filter, le) (rate(rtc_frame_processing_seconds_bucket{${NS}}[$__rate_interval])))`, legend: '{{backend}} {{filter}}' },
    ], { description: 'Which backend (gpu / cpu) and filter cost what, over all pods.', unit: 's', min: 0 }))
    .withPanel(timeseriesPanel('/process request p95 by backend', [
      { expr: `histogram_quantile(0.95, sum by (backend, le) (rate(rtc_process_request_seconds_bucket{${NS}}[$__rate_interval])))`, legend: '{{backend}}' },
    ], { description: 'The synthetic benchmark endpoint (GET/POST /process), p95 per backend.', unit: 's', min: 0 }))

    .withRow(row('Frames'))
    .withPanel(timeseriesPanel('Frames per second by pod', [
      { expr: `pod:rtc_frames_received:rate1m{${NS}}`, legend: '{{pod}} in' },
      { expr: `pod:rtc_frames_sent:rate1m{${NS}}`, legend: '{{pod}} out' },
    ], { description: 'Decoded frames received and processed frames sent, per second.', unit: 'fps', min: 0 }))
    .withPanel(timeseriesPanel('Drop ratio by pod', [
      { expr: `pod:rtc_frames_dropped:ratio_rate1m{${NS}}`, legend: '{{pod}}' },
    ], { description: 'Share of received frames dropped. Dashed line: the RtcFrameDropRatioHigh threshold (10%).', unit: 'percentunit', min: 0, thresholdLine: 0.1 }))
    .withPanel(timeseriesPanel('Frames dropped per second by reason', [
      { expr: `sum by (reason) (rate(rtc_frames_dropped_total{${NS}}[$__rate_interval]))`, legend: '{{reason}}' },
    ], { description: 'Dropped frames: superseded by a newer frame before processing started (latest frame wins), or processing failed.', unit: 'fps', min: 0, stacked: true, size: FULL }))

    .withRow(row('Sessions'))
    .withPanel(timeseriesPanel('Sessions by pod', [
      { expr: `pod:rtc_sessions_active:sum{${NS}}`, legend: '{{pod}}' },
    ], { description: 'Live sessions on each pod.', unit: 'short', min: 0, stacked: true }))
    .withPanel(timeseriesPanel('Session slots used by pod', [
      { expr: `pod:rtc_sessions_utilization:ratio{${NS}}`, legend: '{{pod}}' },
    ], { description: 'Live sessions over the pod\'s limit (RTC_MAX_SESSIONS). At 100% new offers get 503 AT_CAPACITY.', unit: 'percentunit', min: 0, max: 1 }))
    .withPanel(timeseriesPanel('Sessions started and closed per second', [
      { expr: `sum(rate(rtc_sessions_started_total{${NS}}[$__rate_interval]))`, legend: 'started' },
      { expr: `sum by (reason) (rate(rtc_sessions_closed_total{${NS}}[$__rate_interval]))`, legend: 'closed: {{reason}}' },
    ], { description: 'Session churn; closing reasons (client, timeout, error, drain).', unit: 'reqps', min: 0 }))
    .withPanel(timeseriesPanel('Offers rejected per second by reason', [
      { expr: `sum by (reason) (pod:rtc_sessions_rejected:rate5m{${NS}})`, legend: '{{reason}}' },
    ], { description: 'Offers refused: capacity (503 AT_CAPACITY), draining, invalid (400). 5 m rate.', unit: 'reqps', min: 0 }))

    .withRow(row('Backends'))
    .withPanel(labelsTablePanel('Backend per pod', { expr: `rtc_backend_info{${NS}}`, legend: '' },
      'The processing backend each pod chose at start (gpu / cpu), its device, and what was requested (RTC_BACKEND).',
      ['namespace', 'pod', 'backend', 'device', 'requested']))
    .withPanel(timeseriesPanel('GPU fallback and draining by pod', [
      { expr: `rtc_gpu_fallback{${NS}}`, legend: '{{pod}} GPU fallback' },
      { expr: `rtc_draining{${NS}}`, legend: '{{pod}} draining' },
    ], { description: 'GPU fallback: 1 when a GPU was expected but the pod processes on CPU. Draining: 1 while the pod shuts down.', unit: 'short', min: 0, max: 1 }))

    .withRow(row('Process'))
    .withPanel(timeseriesPanel('CPU by pod', [
      { expr: `sum by (pod) (rate(process_cpu_seconds_total{${RTC}}[$__rate_interval]))`, legend: '{{pod}}' },
    ], { description: 'CPU cores used by the Node.js process (libvpx encode/decode, WASM workers, HTTP).', unit: 'short', min: 0, size: { width: 8, height: 8 } }))
    .withPanel(timeseriesPanel('Resident memory by pod', [
      { expr: `process_resident_memory_bytes{${RTC}}`, legend: '{{pod}}' },
    ], { description: 'Resident set size of the server process.', unit: 'bytes', min: 0, size: { width: 8, height: 8 } }))
    .withPanel(timeseriesPanel('Event loop lag p99 by pod', [
      { expr: `nodejs_eventloop_lag_p99_seconds{${RTC}}`, legend: '{{pod}}' },
    ], { description: 'Event loop lag; high values delay signalling, stats and metrics.', unit: 's', min: 0, size: { width: 8, height: 8 } }))
    .build();
}

