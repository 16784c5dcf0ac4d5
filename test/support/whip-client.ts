/**
 * A small WHIP publisher and WHEP viewer on libwebrtc, for integration tests. The publisher sends
 * stamped synthetic video (src/loadgen/stamp.ts) to POST /whip, with or without trickle ICE (an
 * offer without candidates, then one aggregated PATCH, as RFC 9725 §4.3.2 asks); the viewer
 * POSTs a recvonly offer to /whep/:sessionId. Both keep the stamped frames they receive.
 */
import './wrtc-exit.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';
import { readStamp, stampAgeMs, writeStamp } from '../../src/loadgen/stamp.js';
import {
  RTCPeerConnection, RTCVideoSink, RTCVideoSource, waitForIceGathering, type RTCVideoFrame,
} from '../../src/media/wrtc.js';
import { parseIceServerLinks, sdpIceCredentials, writeSdpFrag } from '../../src/protocol/index.js';

/** A WHIP/WHEP POST answered with an error status. */
export class WhipHttpError extends Error {
  constructor(readonly status: number, readonly body: unknown, readonly headers: Headers) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
    this.name = 'WhipHttpError';
  }
}

/** A stamped frame that arrived. */
export interface StampedFrame {
  width: number;
  height: number;
  data: Uint8Array;
  frameNumber: number;
  receivedAt: number;
  latencyMs: number;
}

const KEEP_FRAMES = 30;
const KEEP_LATENCIES = 600;
const KEEP_SENT = 120;

export interface WhipPeerOptions {
  /** Offer at once without candidates and PATCH them after the 201 (trickle), or gather first. */
  trickle?: boolean;
  token?: string;
}

/** What both ends share: the peer connection, the resource, and the frames received. */
abstract class WhipPeer {
  readonly pc = new RTCPeerConnection({});
  location = '';
  etag = '';
  links: Array<{ urls: string; username?: string; credential?: string }> = [];
  /** Status and headers of the 201. */
  created: { status: number; headers: Headers } | null = null;
  patchStatus: number | null = null;
  readonly frames: StampedFrame[] = [];
  readonly latencies: number[] = [];
  framesReceived = 0;
  /** Date.now() of the first frame with a readable stamp. */
  firstStampedAt: number | null = null;
  private sink: InstanceType<typeof RTCVideoSink> | null = null;
  private readonly candidates: string[] = [];
  private gathered = false;

  protected constructor(readonly baseUrl: string, protected readonly opts: WhipPeerOptions) {
    this.pc.ontrack = (ev) => {
      if (ev.track.kind !== 'video' || this.sink) return;
      this.sink = new RTCVideoSink(ev.track);
      this.sink.onframe = ({ frame }) => this.onFrame(frame);
    };
    this.pc.onicecandidate = (ev) => {
      if (ev.candidate === null) this.gathered = true;
      else if (ev.candidate.candidate !== '') this.candidates.push(ev.candidate.candidate);
    };
  }

  /** Offer, POST to `path`, apply the answer (trickling candidates first when asked). */
  protected async negotiate(path: string): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    let sdp: string;
    if (this.opts.trickle) {
      // Whatever libwebrtc gathered already is taken out: the offer goes without any candidate.
      sdp = this.pc.localDescription!.sdp.split('\r\n').filter((l) => !/^a=(candidate|end-of-candidates)/.test(l)).join('\r\n');
    } else {
      await waitForIceGathering(this.pc, 5000);
      sdp = this.pc.localDescription!.sdp;
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method: 'POST', headers: this.headers('application/sdp'), body: sdp });
    const text = await res.text();
    if (res.status !== 201) throw new WhipHttpError(res.status, safeJson(text), res.headers);
    this.created = { status: res.status, headers: res.headers };
    this.location = new URL(res.headers.get('location') ?? '', `${this.baseUrl}${path}`).toString();
    this.etag = res.headers.get('etag') ?? '';
    const link = res.headers.get('link');
    this.links = parseIceServerLinks(link === null ? [] : [link]);
    if (this.opts.trickle) {
      const deadline = Date.now() + 5000;
      while (!this.gathered && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const { iceUfrag, icePwd } = sdpIceCredentials(sdp);
      const mid = this.pc.getTransceivers()[0]?.mid ?? '0';
      const patch = await fetch(this.location, {
        method: 'PATCH',
        headers: { ...this.headers('application/trickle-ice-sdpfrag'), 'if-match': this.etag },
        body: writeSdpFrag({ iceUfrag: iceUfrag ?? '', icePwd: icePwd ?? '', mid, candidates: this.candidates, endOfCandidates: true }),
      });
      this.patchStatus = patch.status;
      if (patch.status !== 204) throw new WhipHttpError(patch.status, safeJson(await patch.text()), patch.headers);
    }
    await this.pc.setRemoteDescription({ type: 'answer', sdp: text });
  }

  protected headers(contentType: string): Record<string, string> {
    return { 'content-type': contentType, ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}) };
  }

  private onFrame(frame: RTCVideoFrame): void {
    this.framesReceived++;
    const data = new Uint8Array(frame.data);
    const stamp = readStamp(data, frame.width, frame.height);
    if (!stamp) return;
    const now = Date.now();
    this.firstStampedAt ??= now;
    const latencyMs = stampAgeMs(stamp.sendTimeMs, now);
    this.frames.push({ width: frame.width, height: frame.height, data, frameNumber: stamp.frameNumber, receivedAt: now, latencyMs });
    if (this.frames.length > KEEP_FRAMES) this.frames.shift();
    this.latencies.push(latencyMs);
    if (this.latencies.length > KEEP_LATENCIES) this.latencies.shift();
  }

  /** Wait until `n` stamped frames have arrived in all (polling), or fail after `timeoutMs`. */
  async waitForStamped(n: number, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.latencies.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} stamped frames (${this.latencies.length}, ${this.framesReceived} frames)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** DELETE the resource; the status. */
  async delete(): Promise<number> {
    const res = await fetch(this.location, { method: 'DELETE', headers: this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {} });
    await res.arrayBuffer();
    return res.status;
  }

  /** The resource id (last path segment of Location). */
  get resourceId(): string {
    return this.location.split('/').pop() ?? '';
  }

  /** Close the peer connection (no DELETE). */
  close(): void {
    if (this.sink) {
      this.sink.onframe = null;
      this.sink.stop();
    }
    for (const t of this.pc.getTransceivers()) t.sender.track?.stop();
    this.pc.close();
  }
}

/** A WHIP publisher sending stamped video. */
export class WhipPublisher extends WhipPeer {
  framesSent = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly source = new RTCVideoSource();
  private readonly video: SyntheticVideo;
  private readonly sent = new Map<number, Uint8Array>();

  private readonly render: ((n: number) => Uint8Array) | null;

  private constructor(baseUrl: string, opts: WhipPeerOptions & { width: number; height: number; fps: number; direction: 'sendonly' | 'sendrecv'; render?: (n: number) => Uint8Array }) {
    super(baseUrl, opts);
    this.video = new SyntheticVideo(opts.width, opts.height);
    this.render = opts.render ?? null;
    this.pc.addTransceiver(this.source.createTrack(), { direction: opts.direction });
  }

  /** Publish to `path` (e.g. "/whip/invert"), then send frames. Throws WhipHttpError on an error status. */
  static async publish(
    baseUrl: string, path: string,
    options: WhipPeerOptions & { width?: number; height?: number; fps?: number; direction?: 'sendonly' | 'sendrecv'; render?: (n: number) => Uint8Array } = {},
  ): Promise<WhipPublisher> {
    const p = new WhipPublisher(baseUrl, { width: 320, height: 240, fps: 15, direction: 'sendrecv', ...options });
    try {
      await p.negotiate(path);
    } catch (err) {
      p.close();
      throw err;
    }
    const o = p.opts as { width: number; height: number; fps: number };
    p.timer = setInterval(() => p.sendFrame(o.width, o.height), Math.round(1000 / o.fps));
    return p;
  }

  private sendFrame(width: number, height: number): void {
    const n = this.framesSent++;
    // A picture source (a test's photo) or the synthetic video; the stamp goes over its top band.
    const data = this.render ? this.render(n).slice() : this.video.render(n);
    writeStamp(data, width, height, { frameNumber: n, sendTimeMs: Date.now() });
    this.sent.set(n, data.slice());
    if (this.sent.size > KEEP_SENT) this.sent.delete(this.sent.keys().next().value!);
    this.source.onFrame({ width, height, data });
  }

  /** The frame sent with this number, if still kept. */
  sentFrame(n: number): Uint8Array | undefined {
    return this.sent.get(n);
  }

  override close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    super.close();
  }
}

/** A WHEP viewer. */
export class WhepViewer extends WhipPeer {
  private constructor(baseUrl: string, opts: WhipPeerOptions) {
    super(baseUrl, opts);
    this.pc.addTransceiver('video', { direction: 'recvonly' });
  }

  /** Watch session `sessionId`. Throws WhipHttpError on an error status. */
  static async watch(baseUrl: string, sessionId: string, options: WhipPeerOptions = {}): Promise<WhepViewer> {
    const v = new WhepViewer(baseUrl, options);
    try {
      await v.negotiate(`/whep/${sessionId}`);
    } catch (err) {
      v.close();
      throw err;
    }
    return v;
  }
}

/** A gathered libwebrtc offer with one video transceiver per direction given (for status-path tests that need no media). */
export async function gatheredOffer(directions: Array<'sendonly' | 'sendrecv' | 'recvonly'>): Promise<string> {
  const pc = new RTCPeerConnection({});
  const source = new RTCVideoSource();
  for (const d of directions) {
    if (d === 'recvonly') pc.addTransceiver('video', { direction: d });
    else pc.addTransceiver(source.createTrack(), { direction: d });
  }
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIceGathering(pc, 3000);
  const sdp = pc.localDescription!.sdp;
  for (const t of pc.getTransceivers()) t.sender.track?.stop();
  pc.close();
  return sdp;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
