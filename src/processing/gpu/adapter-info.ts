/**
 * Reads a WebGPU adapter's identity: whether it is a software rasteriser (refused unless asked
 * for) and the human-readable device string shown in /backends, /healthz and rtc_backend_info.
 */

/** The identity fields the backend needs (a subset of GPUAdapterInfo). */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|software rasterizer|microsoft basic render/i;

/** Why the adapter counts as software, or null when it looks like real hardware. */
export function softwareReason(info: AdapterIdentity): string | null {
  if (info.isFallbackAdapter) return 'the adapter reports isFallbackAdapter';
  if (info.architecture.toLowerCase() === 'software') return 'the adapter architecture is "software"';
  const m = SOFTWARE_NAMES.exec(`${info.device} ${info.description} ${info.vendor}`);
  if (m) return `the device is ${m[0]}`;
  return null;
}

/** Which graphics API Dawn runs on, from its options or the adapter description. */
export function backendLabel(dawnOptions: readonly string[], info: AdapterIdentity): string {
  const opt = dawnOptions.find((o) => o.startsWith('backend='))?.slice('backend='.length).toLowerCase();
  if (opt === 'opengles' || /^OpenGL/i.test(info.description)) return 'OpenGL ES';
  if (opt === 'vulkan') return 'Vulkan';
  if (opt === 'd3d12') return 'D3D12';
  if (opt === 'metal') return 'Metal';
  if (opt) return opt;
  return process.platform === 'darwin' ? 'Metal' : process.platform === 'win32' ? 'D3D12' : 'Vulkan';
}

/** "nvidia h100 80gb hbm3 (Vulkan; NVIDIA: 550.54)" or "llvmpipe ... (Vulkan, software; llvmpipe: Mesa 25...)". */
export function describeAdapter(info: AdapterIdentity, backend: string, software: boolean): string {
  // Dawn reports `device` as a normalised lower-case name with dashes ("nvidia-h100-80gb-hbm3").
  const name = info.device.replace(/-+/g, ' ').trim() || info.vendor || 'unknown GPU';
  const detail = info.description.trim();
  return `${name} (${backend}${software ? ', software' : ''}${detail ? `; ${detail}` : ''})`;
}
