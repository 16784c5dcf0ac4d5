/**
 * Picks the media engine by name. Each engine loads its native libraries only when chosen, so a
 * server on one engine never loads the other's.
 */
import type { MediaEngine, MediaEngineName } from '../engine.js';

/** Media settings from config.ts; each engine takes what applies to it (libwebrtc has no knobs). */
export interface EngineOptions {
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** Outgoing video bitrate bounds, kbit/s. */
  bitrate: { minKbps: number; maxKbps: number; startKbps: number };
  /** The most a client is asked to send (REMB), bits per pixel at 30 fps. */
  inputBitsPerPixel: number;
  keyframeIntervalMs: number;
  vp8CpuUsed: number;
  /** Use NVENC/NVDEC where a CUDA device has them. */
  hardwareCodecs: boolean;
  /** Native engine: answer H264 whenever the offer has it. */
  preferH264: boolean;
  /** Native engine: negotiate transport-cc. */
  transportCc: boolean;
  /** Give up an incomplete incoming frame after this long and ask for a key frame. */
  frameTimeoutMs: number;
  /** The most one client may make the server resend (NACK answers), kbit/s. */
  retransmitBudgetKbps: number;
  /** Frames whose header claims more pixels are dropped before they are decoded. */
  maxPixels: number;
}

/** Create the engine called `name`. */
export async function createMediaEngine(name: MediaEngineName, options: EngineOptions): Promise<MediaEngine> {
  switch (name) {
    case 'libwebrtc': {
      const { createLibwebrtcEngine } = await import('./libwebrtc/libwebrtc-engine.js');
      return createLibwebrtcEngine();
    }
    case 'native': {
      const { createProbedNativeEngine } = await import('./native/index.js');
      return createProbedNativeEngine({
        log: options.log,
        bitrate: options.bitrate,
        inputBitsPerPixel: options.inputBitsPerPixel,
        keyframeIntervalMs: options.keyframeIntervalMs,
        vp8CpuUsed: options.vp8CpuUsed,
        hardware: options.hardwareCodecs,
        preferH264: options.preferH264,
        transportCc: options.transportCc,
        frameTimeoutMs: options.frameTimeoutMs,
        retransmitBudgetKbps: options.retransmitBudgetKbps,
        maxPixels: options.maxPixels,
      });
    }
  }
}
