/**
 * Picks a load-generator session's WebRTC stack (client-media.ts) by --engine and imports it on
 * first use, so a run loads only the stack it uses.
 */
import type { ClientEngine, ClientMedia, ClientMediaEvents, ClientMediaOptions } from './client-media.js';

/** Create the media side of one session with the given stack. */
export async function createClientMedia(engine: ClientEngine, options: ClientMediaOptions, events: ClientMediaEvents): Promise<ClientMedia> {
  if (engine === 'native') {
    const { NativeClientMedia } = await import('./native-client-media.js');
    return NativeClientMedia.create(events, options.codec ?? 'vp8');
  }
  // the prebuilt libwebrtc (M106) has VP8, VP9 and AV1 but no H264 (options.ts refuses the pair)
  if ((options.codec ?? 'vp8') !== 'vp8') throw new Error(`the libwebrtc client cannot offer ${options.codec}: its build has no H264`);
  const { LibwebrtcClientMedia } = await import('./libwebrtc-client-media.js');
  return new LibwebrtcClientMedia(events, options);
}
