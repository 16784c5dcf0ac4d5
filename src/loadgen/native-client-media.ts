/**
 * The native client kind: the server's native media engine as an offerer (see
 * src/media/engines/native/native-client.ts). Frames are decoded the moment they are complete
 * (no jitter buffer), so the latency it reports is the server's share plus the network and codecs,
 * without a browser's smoothing delay.
 */
import { NativeClient } from '../media/engines/native/native-client.js';
import type { MediaStats } from '../protocol/index.js';
import type { ClientCodec, ClientMedia, ClientMediaEvents, ClientSideStats } from './client-media.js';

/** How often the media stats are refreshed (they are medians over the last 64 frames anyway). */
const STATS_INTERVAL_MS = 1000;

/** One native client connection of a load-generator session. */
export class NativeClientMedia implements ClientMedia {
  private media: MediaStats | null = null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(private readonly client: NativeClient) {}

  /** Build the client offering `codec` first (gathers the offer's candidates). */
  static async create(events: ClientMediaEvents, codec: ClientCodec = 'vp8'): Promise<NativeClientMedia> {
    const client = await NativeClient.create({
      onFrame: (f) => events.onFrame(f.data, f.width, f.height),
      onMessage: (data) => events.onControlMessage(data),
      onConnectionState: (s) => {
        if (s === 'failed') events.onFailed('peer connection failed');
      },
    }, { codec: codec === 'h264' ? 'H264' : 'VP8' });
    return new NativeClientMedia(client);
  }

  /** The offer was gathered in `create`. */
  createOffer(): Promise<string> {
    return Promise.resolve(this.client.offerSdp);
  }

  /** Apply the answer and start the codecs (in the codec the answer puts first). */
  async acceptAnswer(sdp: string): Promise<void> {
    await this.client.accept(sdp);
    // NativePeer's stats are async; keep the latest so the session can read them as it ends
    this.timer ??= setInterval(() => {
      this.client.stats().then((s) => { if (s) this.media = s; }, () => undefined);
    }, STATS_INTERVAL_MS);
    this.timer.unref();
  }

  /** Encode and send (the encoder's one-frame slot keeps only the newest frame while it is busy). */
  sendFrame(width: number, height: number, data: Uint8Array): void {
    this.client.sendFrame({ width, height, data });
  }

  get controlChannelOpen(): boolean {
    return this.client.channelOpen;
  }

  /** Media stats of the last second and the counters of peer and receive buffer. */
  sideStats(): ClientSideStats | null {
    const peer = this.client.counters;
    const receive = this.client.receiveCounters;
    if (!peer || !receive) return null;
    const counters: Record<string, number> = { ...peer };
    for (const [k, v] of Object.entries(receive)) counters[`receive${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
    return { media: this.media, counters };
  }

  /** Close channel, transport and codecs. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.client.close();
  }
}
