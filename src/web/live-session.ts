/**
 * One live processing session, over one of two signallings:
 * - `offer`: a peer connection with a sendrecv video transceiver and a "control" data channel,
 *   negotiated with one POST /offer after ICE gathering has finished (the server does not
 *   trickle). Reports what the server says over the data channel.
 * - `whip`: the camera is published sendonly over WHIP (POST /whip/FILTER, RFC 9725) and the
 *   processed video is watched over WHEP (POST /whep/SESSION) on a second, recvonly peer
 *   connection, as OBS and a WHEP player would. No data channel: settings go by PATCH
 *   /sessions/:id, server figures by polling GET /sessions/:id, and the end by DELETE.
 */
import {
  decodeServerMessage, encodeMessage, type AnonymizeStyle, type BackendChoice, type ClientMessage, type FilterName, type IceServer, type SessionInfo,
} from '../protocol/index.js';
import { deleteResource, getIceServers, getSession, patchSession, postOffer, postSdp } from './api.js';

/** How the page signals: its own JSON /offer, or WHIP to publish and WHEP to watch. */
export type Signalling = 'offer' | 'whip';

export interface LiveSettings {
  filter: FilterName;
  iterations: number;
  /** How anonymize hides faces. */
  style: AnonymizeStyle;
  backend: BackendChoice;
}

export interface LiveSessionEvents {
  /** The processed video arrived. */
  onRemoteStream(stream: MediaStream): void;
  /** ICE/DTLS connected and the control channel is open. */
  onConnected(): void;
  /** The connection failed or the server closed the control channel. */
  onLost(reason: string): void;
  /** A message from the server: periodic stats or an ack of a settings change. */
  onServerInfo(info: SessionInfo, kind: 'stats' | 'ack'): void;
  /** The server refused a settings change. */
  onServerError(message: string): void;
  /** Round trip of a ping over the data channel, ms. */
  onChannelRtt(ms: number): void;
}

/** Gathering normally ends in milliseconds on loopback; do not hang forever on a broken network. */
const GATHER_TIMEOUT_MS = 5000;
/** "disconnected" can recover by itself; call it lost only if it lasts this long. */
const DISCONNECT_GRACE_MS = 4000;
/** ICE + DTLS + SCTP normally take well under a second; a blocked UDP path never finishes. */
const CONNECT_TIMEOUT_MS = 20_000;

function waitForGathering(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** A live session; `start()` negotiates, `close()` ends it. */
export class LiveSession {
  readonly pc: RTCPeerConnection;
  sessionId: string | null = null;
  /** whip: the WHEP viewer's peer connection, which receives the processed video. */
  viewerPc: RTCPeerConnection | null = null;
  /** whip: the WHIP session and WHEP viewer resources, DELETEd at the end. */
  private readonly resources: string[] = [];
  /** whip: cancels a GET /sessions/:id poll still in flight at close (it would answer 404). */
  private readonly polls = new AbortController();
  private signalling: Signalling = 'offer';
  private channel: RTCDataChannel | null = null;
  private pingTimer = 0;
  private lostTimer = 0;
  private closed = false;
  private connected = false;

  private constructor(pc: RTCPeerConnection, private readonly events: LiveSessionEvents) {
    this.pc = pc;
  }

  /**
   * Negotiate a session sending `track`. Throws ApiRequestError (atCapacity for 503 AT_CAPACITY)
   * when the server refuses the offer.
   */
  static async start(
    track: MediaStreamTrack, stream: MediaStream, settings: LiveSettings, events: LiveSessionEvents, signalling: Signalling = 'offer',
  ): Promise<LiveSession> {
    const iceServers = await getIceServers().catch(() => [] as IceServer[]);
    const pc = new RTCPeerConnection({ iceServers });
    const s = new LiveSession(pc, events);
    s.signalling = signalling;
    try {
      if (signalling === 'whip') await s.negotiateWhip(track, stream, settings, iceServers);
      else await s.negotiate(track, stream, settings);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  private async negotiate(track: MediaStreamTrack, stream: MediaStream, settings: LiveSettings): Promise<void> {
    const pc = this.pc;
    pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    pc.ontrack = (ev) => {
      renderOnArrival(ev.receiver);
      this.events.onRemoteStream(ev.streams[0] ?? new MediaStream([ev.track]));
    };
    pc.onconnectionstatechange = () => this.onConnectionState();
    const ch = pc.createDataChannel('control');
    this.channel = ch;
    ch.onopen = () => {
      this.pingTimer = window.setInterval(() => this.send({ type: 'ping', t: performance.now() }), 1000);
      this.markConnected();
    };
    ch.onclose = () => this.lose('the server closed the session');
    ch.onmessage = (ev) => this.onMessage(ev.data);
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    const local = pc.localDescription;
    if (!local) throw new Error('no local description after gathering');
    const answer = await postOffer({ sdp: local.sdp, type: 'offer', ...settings });
    this.sessionId = answer.sessionId;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.lostTimer = window.setTimeout(() => {
      if (!this.connected) this.lose(`no media path to the server within ${CONNECT_TIMEOUT_MS / 1000} s (UDP blocked? a TURN server may be needed)`);
    }, CONNECT_TIMEOUT_MS);
  }

  /** WHIP publish (sendonly), then a WHEP viewer of the same session for the processed video. */
  private async negotiateWhip(track: MediaStreamTrack, stream: MediaStream, settings: LiveSettings, iceServers: IceServer[]): Promise<void> {
    const pc = this.pc;
    pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    pc.onconnectionstatechange = () => this.onConnectionState();
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    const q = new URLSearchParams({ iterations: String(settings.iterations), style: settings.style, backend: settings.backend });
    const whip = await postSdp(`/whip/${encodeURIComponent(settings.filter)}?${q.toString()}`, pc.localDescription?.sdp ?? '');
    this.resources.push(whip.location);
    this.sessionId = whip.location.split('/').pop() ?? null;
    await pc.setRemoteDescription({ type: 'answer', sdp: whip.sdp });

    const viewer = new RTCPeerConnection({ iceServers });
    this.viewerPc = viewer;
    viewer.addTransceiver('video', { direction: 'recvonly' });
    viewer.ontrack = (ev) => {
      renderOnArrival(ev.receiver);
      this.events.onRemoteStream(ev.streams[0] ?? new MediaStream([ev.track]));
    };
    viewer.onconnectionstatechange = () => {
      if (viewer.connectionState === 'connected') this.markConnected();
      else if (viewer.connectionState === 'failed') this.lose('the WHEP viewer connection failed');
    };
    await viewer.setLocalDescription(await viewer.createOffer());
    await waitForGathering(viewer);
    const whep = await postSdp(`/whep/${encodeURIComponent(this.sessionId ?? '')}`, viewer.localDescription?.sdp ?? '');
    this.resources.push(whep.location);
    await viewer.setRemoteDescription({ type: 'answer', sdp: whep.sdp });
    // Server figures without a data channel: the session's info once a second.
    this.pingTimer = window.setInterval(() => {
      if (this.sessionId === null || this.closed) return;
      getSession(this.sessionId, this.polls.signal).then((info) => this.events.onServerInfo(info, 'stats'), () => { /* the next poll tries again */ });
    }, 1000);
    this.lostTimer = window.setTimeout(() => {
      if (!this.connected) this.lose(`no media path to the server within ${CONNECT_TIMEOUT_MS / 1000} s (UDP blocked? a TURN server may be needed)`);
    }, CONNECT_TIMEOUT_MS);
  }

  /** Ask the server to switch filter, iterations, style or backend; the answer comes as onServerInfo(…, 'ack'). */
  set(settings: Partial<LiveSettings>): boolean {
    if (this.signalling === 'whip') {
      if (this.sessionId === null || this.closed) return false;
      patchSession(this.sessionId, settings).then(
        (info) => this.events.onServerInfo(info, 'ack'),
        (err: unknown) => this.events.onServerError(err instanceof Error ? err.message : String(err)),
      );
      return true;
    }
    return this.send({ type: 'set', ...settings });
  }

  /** End the session: closing the data channel tells the server to tear it down. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.lostTimer);
    try {
      this.channel?.close();
    } catch {
      // already closed
    }
    // WHIP/WHEP resources end with DELETE (there is no data channel whose closing ends them): the
    // viewer first, since ending the session ends its viewers and the viewer's DELETE would 404.
    this.polls.abort();
    const resources = this.resources.splice(0).reverse();
    void (async () => {
      for (const r of resources) await deleteResource(r);
    })();
    this.viewerPc?.close();
    this.pc.close();
  }

  private send(msg: ClientMessage): boolean {
    if (!this.channel || this.channel.readyState !== 'open') return false;
    this.channel.send(encodeMessage(msg));
    return true;
  }

  private markConnected(): void {
    if (this.connected || this.closed) return;
    this.connected = true;
    clearTimeout(this.lostTimer);
    this.lostTimer = 0;
    this.events.onConnected();
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.close();
    this.events.onLost(reason);
  }

  private onConnectionState(): void {
    const st = this.pc.connectionState;
    if (st === 'connected') {
      clearTimeout(this.lostTimer);
      this.lostTimer = 0;
    } else if (st === 'failed') {
      this.lose('the connection to the server failed');
    } else if (st === 'disconnected' && this.lostTimer === 0) {
      this.lostTimer = window.setTimeout(() => this.lose('the connection to the server dropped'), DISCONNECT_GRACE_MS);
    }
  }

  private onMessage(data: unknown): void {
    // A message that does not validate is dropped: the next stats message comes within a second.
    const decoded = decodeServerMessage(data);
    if (!decoded.ok) return;
    const msg = decoded.message;
    switch (msg.type) {
      case 'stats':
      case 'ack':
        this.events.onServerInfo(msg.session, msg.type);
        return;
      case 'pong':
        this.events.onChannelRtt(performance.now() - msg.t);
        return;
      case 'error':
        this.events.onServerError(msg.error.message || msg.error.code);
        return;
    }
  }
}

/**
 * Ask the receiver to keep no jitter buffer beyond what the network needs (jitterBufferTarget 0,
 * where the browser supports it): the server already sends with playout-delay 0, and this page
 * measures the round trip, so every buffered frame would show as latency.
 */
function renderOnArrival(receiver: RTCRtpReceiver): void {
  const r = receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null };
  if ('jitterBufferTarget' in r) {
    try { r.jitterBufferTarget = 0; } catch { /* older browsers: read-only or out of range */ }
  }
}
