/**
 * The native client kind: the server's native media engine as an offerer (see
 * src/media/engines/native/native-client.ts). Frames are decoded the moment they are complete
 * (no jitter buffer), so the latency it reports is the server's share plus the network and codecs,
 * without a browser's smoothing delay.
 */
import { NativeClient } from '../media/engines/native/native-client.js';
import type { ClientMedia, ClientMediaEvents } from './client-media.js';

/** One native client connection of a load-generator session. */
export class NativeClientMedia implements ClientMedia {
  private constructor(private readonly client: NativeClient) {}

  /** Build the client (gathers the offer's candidates). */
  static async create(events: ClientMediaEvents): Promise<NativeClientMedia> {
    const client = await NativeClient.create({
      onFrame: (f) => events.onFrame(f.data, f.width, f.height),
      onMessage: (data) => events.onControlMessage(data),
      onConnectionState: (s) => {
        if (s === 'failed') events.onFailed('peer connection failed');
      },
    });
    return new NativeClientMedia(client);
  }

  /** The offer was gathered in `create`. */
  createOffer(): Promise<string> {
    return Promise.resolve(this.client.offerSdp);
  }

  /** Apply the answer and start the codecs. */
  acceptAnswer(sdp: string): Promise<void> {
    return this.client.accept(sdp);
  }

  /** Encode and send (the encoder's one-frame slot keeps only the newest frame while it is busy). */
  sendFrame(width: number, height: number, data: Uint8Array): void {
    this.client.sendFrame({ width, height, data });
  }

  get controlChannelOpen(): boolean {
    return this.client.channelOpen;
  }

  /** Close channel, transport and codecs. */
  close(): void {
    this.client.close();
  }
}
