/**
 * Picks the media engine by name. Each engine loads its native libraries only when chosen, so a
 * server on one engine never loads the other's.
 */
import type { MediaEngine, MediaEngineName } from '../engine.js';

/** Options every engine understands (each takes what applies to it). */
export interface EngineOptions {
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
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
      return createProbedNativeEngine({ log: options.log });
    }
  }
}
