/**
 * The libwebrtc client kind (@roamhq/wrtc): a sendrecv transceiver fed by an RTCVideoSource, a
 * "control" data channel, and an RTCVideoSink on the track the server sends back. libwebrtc's
 * receive jitter buffer and paced sender run as in a browser.
 */
import {
  RTCPeerConnection, RTCVideoSink, RTCVideoSource, waitForIceGathering,
  type MediaStreamTrack, type RTCDataChannel, type RTCVideoSink as VideoSink, type RTCVideoSource as VideoSource,
} from '../media/wrtc.js';
import type { ClientMedia, ClientMediaEvents, ClientMediaOptions } from './client-media.js';

/** How long ICE gathering may take before the offer goes out with what it has. */
const GATHERING_TIMEOUT_MS = 5000;

/** One libwebrtc peer connection of a load-generator session. */
export class LibwebrtcClientMedia implements ClientMedia {
  private readonly pc: RTCPeerConnection;
  private readonly source: VideoSource;
  private readonly track: MediaStreamTrack;
  private readonly channel: RTCDataChannel | null;
  private sink: VideoSink | null = null;
  private closed = false;

  constructor(events: ClientMediaEvents, options: ClientMediaOptions) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    this.source = new RTCVideoSource();
    this.track = this.source.createTrack();
    pc.addTransceiver(this.track, { direction: 'sendrecv' });
    this.channel = options.dataChannel ? pc.createDataChannel('control') : null;
    if (this.channel) this.channel.onmessage = (ev) => events.onControlMessage(ev.data);
    pc.ontrack = (ev) => {
      if (ev.track.kind !== 'video' || this.sink || this.closed) return;
      this.sink = new RTCVideoSink(ev.track);
      this.sink.onframe = ({ frame }) => events.onFrame(frame.data, frame.width, frame.height);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') events.onFailed('peer connection failed');
    };
  }

  /** Offer with every candidate gathered (or what there is after 5 s). */
  async createOffer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await waitForIceGathering(this.pc, GATHERING_TIMEOUT_MS);
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return sdp;
  }

  /** Apply the server's answer. */
  async acceptAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** Hand one frame to libwebrtc's source (it encodes and paces on its own threads). */
  sendFrame(width: number, height: number, data: Uint8Array): void {
    if (!this.closed) this.source.onFrame({ width, height, data });
  }

  get controlChannelOpen(): boolean {
    return this.channel?.readyState === 'open';
  }

  /** Teardown order matters with @roamhq/wrtc: sink and track first, then the data channel (which ends the server session), then the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.sink?.stop(); } catch { /* already stopped */ }
    try { this.track.stop(); } catch { /* already stopped */ }
    try { this.channel?.close(); } catch { /* already closed */ }
    try { this.pc.close(); } catch { /* already closed */ }
  }
}
