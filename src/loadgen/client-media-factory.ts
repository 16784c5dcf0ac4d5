/**
 * Picks a load-generator session's WebRTC stack (client-media.ts) by --engine and imports it on
 * first use, so a run loads only the stack it uses.
 */
import type { ClientEngine, ClientMedia, ClientMediaEvents, ClientMediaOptions } from './client-media.js';

/** Create the media side of one session with the given stack. */
export async function createClientMedia(engine: ClientEngine, options: ClientMediaOptions, events: ClientMediaEvents): Promise<ClientMedia> {
  if (engine === 'native') {
    const { NativeClientMedia } = await import('./native-client-media.js');
    return NativeClientMedia.create(events);
  }
  const { LibwebrtcClientMedia } = await import('./libwebrtc-client-media.js');
  return new LibwebrtcClientMedia(events, options);
}
