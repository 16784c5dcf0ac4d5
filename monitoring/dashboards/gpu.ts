/** The GPU dashboard: utilisation, memory and busy ratio per pod, and the raw DCGM view per GPU. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { FULL, labelsTablePanel, row, rtcDashboard, timeseriesPanel } from './panels.js';

const NS = 'namespace=~"$namespace"';
const GPU_LEGEND = '{{Hostname}} gpu{{gpu}} {{modelName}}';

/** Build the "rtc-scale / GPU" dashboard. */
export function gpuDashboard(): dashboard.Dashboard {
  return rtcDashboard('rtc-scale / GPU', {
    uid: 'rtc-scale-gpu',
    description: 'GPU utilisation, memory and busy time of the rtc-scale pods (DCGM and the server\'s own measure), and each GPU as DCGM reports it.',
    tags: ['rtc-scale', 'gpu', 'generated'],
    from: 'now-1h',
  })

    .withRow(row('Per pod'))
    .withPanel(timeseriesPanel('GPU utilisation by pod (DCGM)', [
      { expr: `pod:rtc_gpu_utilization:percent{${NS}}`, legend: '{{pod}}' },
    ], { description: 'DCGM_FI_DEV_GPU_UTIL of the GPUs assigned to each pod (the HPA\'s rtc_gpu_utilization_percent). Dashed line: the RtcGpuSaturated threshold.', unit: 'percent', min: 0, max: 100, thresholdLine: 90 }))
    .withPanel(timeseriesPanel('GPU busy ratio by pod (server)', [
      { expr: `pod:rtc_gpu_busy_ratio:avg1m{${NS}}`, legend: '{{pod}}' },
    ], { description: 'Fraction of wall time with GPU work in flight, measured by the server itself (works without DCGM, e.g. on software adapters).', unit: 'percentunit', min: 0, max: 1, thresholdLine: 0.9 }))
    .withPanel(timeseriesPanel('GPU memory used by pod', [
      { expr: `pod:rtc_gpu_memory_used:bytes{${NS}}`, legend: '{{pod}} used' },
      { expr: `pod:rtc_gpu_memory_total:bytes{${NS}}`, legend: '{{pod}} total' },
    ], { description: 'Framebuffer memory in use on the pod\'s GPUs (DCGM_FI_DEV_FB_USED) and their total.', unit: 'bytes', min: 0 }))
    .withPanel(timeseriesPanel('Frame processing p95: GPU against CPU', [
      { expr: `histogram_quantile(0.95, sum by (backend, le) (rate(rtc_frame_processing_seconds_bucket{${NS}}[$__rate_interval])))`, legend: '{{backend}}' },
    ], { description: 'p95 frame processing time per backend over all pods.', unit: 's', min: 0 }))
    .withPanel(labelsTablePanel('Backend per pod', { expr: `rtc_backend_info{${NS}}`, legend: '' },
      'The backend and device each pod processes on.', ['namespace', 'pod', 'backend', 'device', 'requested']))
    .withPanel(timeseriesPanel('GPU fallback by pod', [
      { expr: `rtc_gpu_fallback{${NS}}`, legend: '{{pod}}' },
    ], { description: '1 when a GPU was expected (RTC_EXPECT_GPU / RTC_BACKEND=gpu) but the pod processes on CPU (RtcGpuFallbackToCpu).', unit: 'short', min: 0, max: 1 }))

    .withRow(row('Face filters (anonymize, faces)'))
    .withPanel(timeseriesPanel('Face model run p50 / p95 by provider', [
      { expr: `histogram_quantile(0.5, sum by (provider, le) (rate(rtc_face_inference_seconds_bucket{${NS}}[$__rate_interval])))`, legend: '{{provider}} p50' },
      { expr: `histogram_quantile(0.95, sum by (provider, le) (rate(rtc_face_inference_seconds_bucket{${NS}}[$__rate_interval])))`, legend: '{{provider}} p95' },
    ], { description: 'One BlazeFace run (one region of a frame) on the WebGPU or the CPU execution provider; a detection is 1 to 19 runs (RTC_FACES_TILES).', unit: 's', min: 0 }))
    .withPanel(timeseriesPanel('Faces per frame, and frames covered whole', [
      { expr: `sum by (filter) (rate(rtc_faces_per_frame_sum{${NS}}[$__rate_interval])) / sum by (filter) (rate(rtc_faces_per_frame_count{${NS}}[$__rate_interval]))`, legend: '{{filter}} faces per frame' },
      { expr: `sum(rate(rtc_face_frames_covered_whole_total{${NS}}[$__rate_interval])) / sum(rate(rtc_faces_per_frame_count{filter="anonymize",${NS}}[$__rate_interval]))`, legend: 'fraction of anonymize frames covered whole' },
    ], { description: 'Mean faces covered or drawn per frame, and the share of anonymize frames the fail-closed rule covered whole (no detection fresh enough: RTC_FACES_MAX_AGE_MS).', unit: 'short', min: 0 }))
    .withPanel(timeseriesPanel('Face detector restarts by provider', [
      { expr: `sum by (provider) (increase(rtc_face_detector_restarts_total{${NS}}[$__rate_interval]))`, legend: '{{provider}}' },
    ], { description: 'Detectors restarted after their worker died (at most 5 a minute per provider); until the restart, anonymize frames on that provider are covered whole.', unit: 'short', min: 0 }))

    .withRow(row('Per GPU (DCGM)'))
    .withPanel(timeseriesPanel('GPU utilisation', [
      { expr: 'DCGM_FI_DEV_GPU_UTIL', legend: GPU_LEGEND },
    ], { description: 'Every GPU DCGM reports, whichever pod uses it.', unit: 'percent', min: 0, max: 100 }))
    .withPanel(timeseriesPanel('Video encoder and decoder utilisation', [
      { expr: 'DCGM_FI_DEV_ENC_UTIL', legend: `${GPU_LEGEND} encoder` },
      { expr: 'DCGM_FI_DEV_DEC_UTIL', legend: `${GPU_LEGEND} decoder` },
    ], { description: 'NVENC / NVDEC load (L4, T4 have them; H100/H200 do not). The server encodes with libvpx on CPU today, so these show what a hardware codec path could take over.', unit: 'percent', min: 0, max: 100 }))
    .withPanel(timeseriesPanel('Framebuffer memory', [
      { expr: 'DCGM_FI_DEV_FB_USED', legend: `${GPU_LEGEND} used` },
      { expr: 'DCGM_FI_DEV_FB_FREE', legend: `${GPU_LEGEND} free` },
    ], { description: 'GPU memory in MiB.', unit: 'mbytes', min: 0 }))
    .withPanel(timeseriesPanel('Memory copy utilisation', [
      { expr: 'DCGM_FI_DEV_MEM_COPY_UTIL', legend: GPU_LEGEND },
    ], { description: 'Share of time the memory interface was busy: frame uploads and downloads are a large part of the per-frame cost.', unit: 'percent', min: 0, max: 100 }))
    .withPanel(timeseriesPanel('Power', [
      { expr: 'DCGM_FI_DEV_POWER_USAGE', legend: GPU_LEGEND },
    ], { description: 'Board power draw.', unit: 'watt', min: 0 }))
    .withPanel(timeseriesPanel('Temperature', [
      { expr: 'DCGM_FI_DEV_GPU_TEMP', legend: GPU_LEGEND },
    ], { description: 'GPU temperature.', unit: 'celsius', min: 0 }))
    .withPanel(timeseriesPanel('SM clock', [
      { expr: 'DCGM_FI_DEV_SM_CLOCK', legend: GPU_LEGEND },
    ], { description: 'Streaming multiprocessor clock; a drop under load means power or thermal throttling.', unit: 'hertz', min: 0, size: FULL }))
    .build();
}
