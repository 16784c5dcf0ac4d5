/**
 * A real WebRTC client for integration tests: sends synthetic moving video with a frame stamp
 * (src/loadgen/stamp.ts) to the server's /offer, receives the processed track and keeps what
 * tests check: received frames with their decoded stamps, and the frames it sent by number.
 */
import './wrtc-exit.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { readStamp, stampAgeMs, stampBandHeight, writeStamp } from '../../src/loadgen/stamp.js';
import {
  RTCPeerConnection, RTCVideoSink, RTCVideoSource, waitForIceGathering,
  type RTCDataChannel, type RTCIceServer, type RTCVideoFrame,
} from '../../src/media/wrtc.js';

export interface RtcClientOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Extra fields of the /offer body (filter, backend, iterations, video_transform...). */
  offer?: Record<string, unknown>;
  dataChannel?: boolean;
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: 'all' | 'relay';
  /** The I420 picture of frame `n` (default: the synthetic moving video); the stamp is written over its top band. */
  render?: (n: number) => Uint8Array;
}

/** A frame that came back, with the stamp it carried (null when unreadable). */
export interface ReceivedFrame {
  width: number;
  height: number;
  data: Uint8Array;
  frameNumber: number | null;
  receivedAt: number;
  /** Glass to glass: the stamp's send time to arrival here (same clock), ms; null when unreadable. */
  latencyMs: number | null;
}

/** Thrown when /offer answers with an error status. */
export class OfferRejectedError extends Error {
  constructor(readonly status: number, readonly body: unknown, readonly retryAfter: string | null) {
    super(`offer rejected with HTTP ${status}: ${JSON.stringify(body)}`);
    this.name = 'OfferRejectedError';
  }
}

const KEEP_SENT = 120;
const KEEP_RECEIVED = 30;
const KEEP_LATENCIES = 600;

/** A connected client. */
export class RtcClient {
  sessionId = '';
  framesSent = 0;
  framesReceived = 0;
  readonly received: ReceivedFrame[] = [];
  readonly messages: unknown[] = [];
  /** Glass-to-glass latencies of the last frames with a readable stamp, ms. */
  readonly latencies: number[] = [];
  private readonly sent = new Map<number, Uint8Array>();
  private timer: NodeJS.Timeout | null = null;
  private channel: RTCDataChannel | null = null;
  private readonly video: SyntheticVideo;
  private readonly source = new RTCVideoSource();
  private sink: InstanceType<typeof RTCVideoSink> | null = null;
  private readonly waiters: Array<() => void> = [];
  readonly pc: InstanceType<typeof RTCPeerConnection>;

  private constructor(readonly baseUrl: string, private readonly opts: Required<Pick<RtcClientOptions, 'width' | 'height' | 'fps'>> & RtcClientOptions) {
    this.video = new SyntheticVideo(opts.width, opts.height);
    this.pc = new RTCPeerConnection({
      iceServers: opts.iceServers ?? [],
      ...(opts.iceTransportPolicy ? { iceTransportPolicy: opts.iceTransportPolicy } : {}),
    });
  }

  /** Connect to `baseUrl` and start sending. Throws OfferRejectedError on an HTTP error. */
  static async connect(baseUrl: string, options: RtcClientOptions = {}): Promise<RtcClient> {
    const c = new RtcClient(baseUrl, { width: 320, height: 240, fps: 15, ...options });
    try {
      await c.start();
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  private async start(): Promise<void> {
    const track = this.source.createTrack();
    this.pc.addTransceiver(track, { direction: 'sendrecv' });
    this.pc.ontrack = (ev) => {
      if (ev.track.kind !== 'video' || this.sink) return;
      this.sink = new RTCVideoSink(ev.track);
      this.sink.onframe = ({ frame }) => this.onFrame(frame);
    };
    if (this.opts.dataChannel !== false) {
      const ch = this.pc.createDataChannel('control');
      this.channel = ch;
      ch.onmessage = (ev) => {
        if (typeof ev.data === 'string') {
          this.messages.push(JSON.parse(ev.data));
          if (this.messages.length > 200) this.messages.shift();
          this.notify();
        }
      };
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await waitForIceGathering(this.pc, 5000);
    const res = await fetch(`${this.baseUrl}/offer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sdp: this.pc.localDescription!.sdp, type: 'offer', ...this.opts.offer }),
    });
    const body = (await res.json()) as { sdp: string; type: 'answer'; sessionId: string };
    if (!res.ok) throw new OfferRejectedError(res.status, body, res.headers.get('retry-after'));
    this.sessionId = body.sessionId;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
    this.timer = setInterval(() => this.sendFrame(), Math.round(1000 / this.opts.fps));
  }

  private sendFrame(): void {
    const n = this.framesSent++;
    const data = this.opts.render ? this.opts.render(n).slice() : this.video.render(n);
    writeStamp(data, this.opts.width, this.opts.height, { frameNumber: n, sendTimeMs: Date.now() });
    this.sent.set(n, data.slice());
    if (this.sent.size > KEEP_SENT) this.sent.delete(this.sent.keys().next().value!);
    this.source.onFrame({ width: this.opts.width, height: this.opts.height, data });
  }

  private onFrame(frame: RTCVideoFrame): void {
    this.framesReceived++;
    const data = new Uint8Array(frame.data);
    const stamp = readStamp(data, frame.width, frame.height);
    const now = Date.now();
    this.received.push({
      width: frame.width, height: frame.height, data, frameNumber: stamp?.frameNumber ?? null, receivedAt: now,
      latencyMs: stamp ? stampAgeMs(stamp.sendTimeMs, now) : null,
    });
    if (stamp) {
      this.latencies.push(stampAgeMs(stamp.sendTimeMs, now));
      if (this.latencies.length > KEEP_LATENCIES) this.latencies.shift();
    }
    if (this.received.length > KEEP_RECEIVED) this.received.shift();
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The control data channel, for tests that send raw (non-JSON, binary) messages. */
  get dataChannel(): RTCDataChannel | null {
    return this.channel;
  }

  /** The frame sent with this number, if still kept. */
  sentFrame(n: number): Uint8Array | undefined {
    return this.sent.get(n);
  }

  /** Wait until `predicate` holds (checked on every received frame or message), or fail after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 20000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Wait for `n` more received frames. */
  async waitForFrames(n: number, timeoutMs = 20000): Promise<void> {
    const target = this.framesReceived + n;
    await this.waitFor(() => this.framesReceived >= target, timeoutMs, `${n} frames`);
  }

  /** Send a JSON message on the data channel (waits for it to open). */
  async send(msg: unknown): Promise<void> {
    const ch = this.channel;
    if (!ch) throw new Error('no data channel');
    await this.waitFor(() => ch.readyState === 'open', 10000, 'data channel open');
    ch.send(JSON.stringify(msg));
  }

  /** Stop sending and close everything. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.sink) {
      this.sink.onframe = null;
      this.sink.stop();
    }
    for (const t of this.pc.getTransceivers()) t.sender.track?.stop();
    try { this.channel?.close(); } catch { /* closed */ }
    this.pc.close();
  }
}

/** Mean of Y over the frame below the stamp band (rows from `fromRow`), sampled every `step` pixels. */
export function meanLuma(data: Uint8Array, width: number, height: number, fromRow: number, step = 4): number {
  let sum = 0;
  let n = 0;
  for (let y = fromRow; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      sum += data[y * width + x]!;
      n++;
    }
  }
  return sum / n;
}

/**
 * Sent + received mean luma (below the stamp band) over received frames matched by stamp number to
 * the frames sent: about 255 for `invert`, twice the sent mean for `none`.
 */
export function matchedLumaSum(
  received: Iterable<{ width: number; data: Uint8Array; frameNumber: number | null }>,
  sentFrame: (n: number) => Uint8Array | undefined, width: number, height: number,
): { sum: number; meanSent: number; matched: number } {
  const from = stampBandHeight(width) + 4;
  let total = 0;
  let sent = 0;
  let matched = 0;
  for (const f of received) {
    if (f.frameNumber === null || f.width !== width) continue;
    const orig = sentFrame(f.frameNumber);
    if (!orig) continue;
    const s = meanLuma(orig, width, height, from);
    total += meanLuma(f.data, width, height, from) + s;
    sent += s;
    matched++;
  }
  return { sum: total / matched, meanSent: sent / matched, matched };
}
