/**
 * One simulated WHEP viewer of a load generator session: a recvonly peer connection that POSTs to
 * /whep/{sessionId} and hands every decoded frame to its session, which reads the stamps (the
 * session wrote them, on the same clock) for the viewer's glass-to-glass latency.
 */
import { RTCPeerConnection, RTCVideoSink, waitForIceGathering, type RTCVideoSink as VideoSink } from '../media/wrtc.js';
import { deleteResource, watchSession } from './signaling.js';

export interface WhepViewerConfig {
  url: string;
  sessionId: string;
  token: string | undefined;
  timeoutMs: number;
  onFrame: (data: Uint8Array, width: number, height: number) => void;
}

/** A viewer; start() never throws (a failure is kept in `error`), stop() is idempotent. */
export class WhepViewerPeer {
  error: string | null = null;
  private pc: RTCPeerConnection | null = null;
  private sink: VideoSink | null = null;
  private resourceUrl: string | null = null;
  private stopped = false;

  constructor(private readonly config: WhepViewerConfig) {}

  /** Offer, POST to WHEP, apply the answer. */
  async start(): Promise<void> {
    try {
      const pc = new RTCPeerConnection({ iceServers: [] });
      this.pc = pc;
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.ontrack = (ev) => {
        if (ev.track.kind !== 'video' || this.sink || this.stopped) return;
        this.sink = new RTCVideoSink(ev.track);
        this.sink.onframe = ({ frame }) => {
          if (!this.stopped) this.config.onFrame(frame.data, frame.width, frame.height);
        };
      };
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, 5000);
      if (this.stopped) return;
      const answer = await watchSession(this.config.url, this.config.sessionId, pc.localDescription!.sdp, this.config.token, this.config.timeoutMs);
      this.resourceUrl = answer.resourceUrl ?? null;
      if (this.stopped) {
        // Stopped while the server answered: the viewer exists there, so end it.
        if (this.resourceUrl) void deleteResource(this.resourceUrl, this.config.token);
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
  }

  /** DELETE the viewer resource and close. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resourceUrl) void deleteResource(this.resourceUrl, this.config.token);
    try { this.sink?.stop(); } catch { /* already stopped */ }
    try { this.pc?.close(); } catch { /* already closed */ }
  }
}
