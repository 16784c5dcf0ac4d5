/**
 * The `libwebrtc` media engine: @roamhq/wrtc (prebuilt libwebrtc M106) decodes, jitter-buffers,
 * encodes and paces by itself. It has no knobs, so what this file adds is only the adapter to the
 * engine seam: frames from an RTCVideoSink, frames into an RTCVideoSource.
 *
 * WHEP viewers get a track of the publisher's RTCVideoSource on their own peer connection. Each
 * peer connection runs its own encoder, so a session with N viewers encodes N + 1 times (each
 * adapts to its own viewer's bandwidth); one encode fanned out to every viewer is the native
 * engine's job, where the encoder is the project's.
 */
import {
  NegotiationError, type AnsweredPeer, type ControlChannel, type I420Frame, type MediaEngine, type MediaPeer,
  type PeerConnectionState, type PeerEvents, type PeerOptions, type PeerStats, type ViewerEvents,
} from '../../engine.js';
import {
  RTCPeerConnection, RTCVideoSink, RTCVideoSource, waitForIceGathering, type MediaStreamTrack, type RTCConfiguration,
  type RTCDataChannel, type RTCVideoSink as VideoSink, type RTCVideoSource as VideoSource,
} from '../../wrtc.js';

/** Create the libwebrtc engine. */
export function createLibwebrtcEngine(): MediaEngine {
  return {
    name: 'libwebrtc',
    // each viewer's peer connection encodes on its own: a viewer costs about what a session's encode does
    viewerCost: 1,
    // libwebrtc's own software codecs; this prebuilt build has no H264 and no hardware codecs.
    codecs: [
      { mimeType: 'video/VP8', encoder: 'libvpx (libwebrtc)', decoder: 'libvpx (libwebrtc)', hardware: false },
      { mimeType: 'video/VP9', encoder: 'libvpx (libwebrtc)', decoder: 'libvpx (libwebrtc)', hardware: false },
    ],
    answer: (offerSdp, options, events) => LibwebrtcPeer.answer(offerSdp, options, events),
    answerViewer: (offerSdp, options, publisher, events) => {
      if (!(publisher instanceof LibwebrtcPeer)) throw new Error('the publisher is not a libwebrtc peer');
      return LibwebrtcViewerPeer.answer(offerSdp, options, publisher, events);
    },
  };
}

/** The peer connection settings for `options`. */
function rtcConfig(options: PeerOptions): RTCConfiguration {
  const config: RTCConfiguration = { iceServers: options.iceServers };
  if (options.portRange) config.portRange = options.portRange;
  return config;
}

/**
 * Offer in, answer out with the candidates gathered by the deadline. `addTracks` runs between the
 * two, so the tracks it adds take the offered transceivers (the same m-line goes both ways).
 */
async function negotiate(pc: RTCPeerConnection, offerSdp: string, options: PeerOptions, addTracks: () => void, isClosed: () => boolean): Promise<string> {
  try {
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  } catch (err) {
    throw new NegotiationError(`the offer was refused: ${err instanceof Error ? err.message : String(err)}`);
  }
  addTracks();
  try {
    await pc.setLocalDescription(await pc.createAnswer());
  } catch (err) {
    // libwebrtc takes some offers it cannot answer (a=setup:holdconn): the offer's fault, not a 500.
    throw new NegotiationError(`the offer cannot be answered: ${err instanceof Error ? err.message : String(err)}`, 'unanswerable');
  }
  await waitForIceGathering(pc, options.iceGatheringTimeoutMs);
  const local = pc.localDescription;
  if (!local) throw new NegotiationError('no local description after negotiation');
  if (isClosed() || pc.connectionState === 'closed') throw new NegotiationError('the connection closed during negotiation');
  return local.sdp;
}

/** Hand a trickled candidate to libwebrtc; one it cannot use is dropped, as RFC 9725 §4.3.2 says. */
async function addCandidate(pc: RTCPeerConnection, candidate: string, mid: string | null): Promise<void> {
  try {
    await pc.addIceCandidate(mid === null ? { candidate, sdpMLineIndex: 0 } : { candidate, sdpMid: mid });
  } catch {
    // Unresolvable address, unknown transport, unknown mid: silently discarded.
  }
}

/** The data channel of @roamhq/wrtc as a ControlChannel. */
function controlChannel(ch: RTCDataChannel): ControlChannel {
  const c: ControlChannel = {
    get readyState() { return ch.readyState; },
    get bufferedAmount() { return ch.bufferedAmount; },
    onmessage: null,
    onclose: null,
    send: (text) => ch.send(text),
    close: () => ch.close(),
  };
  ch.onmessage = (ev) => c.onmessage?.(ev.data);
  ch.onclose = () => c.onclose?.();
  return c;
}

/** One client connection on libwebrtc. */
class LibwebrtcPeer implements MediaPeer {
  private readonly source: VideoSource = new RTCVideoSource();
  private readonly outTrack: MediaStreamTrack = this.source.createTrack();
  private sink: VideoSink | null = null;
  private inTrack: MediaStreamTrack | null = null;
  private channel: RTCDataChannel | null = null;
  private codec: string | null = null;
  private closed = false;

  private constructor(private readonly pc: RTCPeerConnection, private readonly events: PeerEvents) {
    pc.ontrack = (ev) => {
      if (ev.track.kind === 'video' && this.sink === null) this.attachSink(ev.track);
    };
    pc.ondatachannel = (ev) => {
      if (this.channel) return;
      this.channel = ev.channel;
      events.onChannel(controlChannel(ev.channel));
    };
    pc.onconnectionstatechange = () => events.onConnectionState(pc.connectionState);
  }

  /** Answer an offer on a new peer connection; the peer is closed again when negotiation fails. */
  static async answer(offerSdp: string, options: PeerOptions, events: PeerEvents): Promise<AnsweredPeer> {
    const pc = new RTCPeerConnection(rtcConfig(options));
    const peer = new LibwebrtcPeer(pc, events);
    try {
      // addTrack reuses the offered video transceiver, so processed video goes back on the same m-line.
      const sdp = await negotiate(pc, offerSdp, options, () => pc.addTrack(peer.outTrack), () => peer.closed);
      return { sdp, peer };
    } catch (err) {
      peer.close();
      throw err;
    }
  }

  /** A new track of this peer's processed output, for a viewer's peer connection. */
  createOutputTrack(): MediaStreamTrack {
    return this.source.createTrack();
  }

  addRemoteCandidate(candidate: string, mid: string | null): Promise<void> {
    return this.closed ? Promise.resolve() : addCandidate(this.pc, candidate, mid);
  }

  get connectionState(): PeerConnectionState {
    return this.pc.connectionState;
  }

  sendFrame(frame: I420Frame): void {
    if (!this.closed) this.source.onFrame(frame);
  }

  async stats(): Promise<PeerStats> {
    const s = await readStats(this.closed ? null : this.pc, 'inbound', this.codec);
    this.codec = s.codec;
    return s;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sink) {
      this.sink.onframe = null;
      this.sink.stop();
    }
    this.inTrack?.stop();
    this.outTrack.stop();
    if (this.channel) {
      this.channel.onclose = null;
      this.channel.onmessage = null;
      try { this.channel.close(); } catch { /* already closed */ }
    }
    const pc = this.pc;
    pc.ontrack = null;
    pc.ondatachannel = null;
    pc.onconnectionstatechange = null;
    pc.close();
  }

  private attachSink(track: MediaStreamTrack): void {
    this.inTrack = track;
    const sink = new RTCVideoSink(track);
    this.sink = sink;
    sink.onframe = ({ frame }) => {
      if (!this.closed) this.events.onFrame(frame);
    };
  }
}

/** A WHEP viewer on libwebrtc: its own peer connection carrying a track of the publisher's output. */
class LibwebrtcViewerPeer implements MediaPeer {
  private closed = false;
  private codec: string | null = null;

  private constructor(private readonly pc: RTCPeerConnection, private readonly track: MediaStreamTrack, events: ViewerEvents) {
    pc.onconnectionstatechange = () => events.onConnectionState(pc.connectionState);
  }

  /** Answer a viewer's offer with the publisher's output track; closed again when negotiation fails. */
  static async answer(offerSdp: string, options: PeerOptions, publisher: LibwebrtcPeer, events: ViewerEvents): Promise<AnsweredPeer> {
    const pc = new RTCPeerConnection(rtcConfig(options));
    const peer = new LibwebrtcViewerPeer(pc, publisher.createOutputTrack(), events);
    try {
      const sdp = await negotiate(pc, offerSdp, options, () => pc.addTrack(peer.track), () => peer.closed);
      return { sdp, peer };
    } catch (err) {
      peer.close();
      throw err;
    }
  }

  get connectionState(): PeerConnectionState {
    return this.pc.connectionState;
  }

  /** Unused: a viewer's frames are the publisher's, through the shared source. */
  sendFrame(): void {}

  addRemoteCandidate(candidate: string, mid: string | null): Promise<void> {
    return this.closed ? Promise.resolve() : addCandidate(this.pc, candidate, mid);
  }

  async stats(): Promise<PeerStats> {
    const s = await readStats(this.closed ? null : this.pc, 'outbound', this.codec);
    this.codec = s.codec;
    return { ...s, decoder: null };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.track.stop();
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}

/**
 * A peer connection's figures from getStats(): loss and decode time of the incoming video, encode
 * time and target bitrate of the outgoing one, RTT of the nominated pair. `codecFrom` says whose
 * codec is reported: the client's video (a session) or ours (a viewer). `known` is kept when the
 * report has none (or there is no connection any more).
 */
async function readStats(pc: RTCPeerConnection | null, codecFrom: 'inbound' | 'outbound', known: string | null): Promise<PeerStats> {
  const s: PeerStats = {
    codec: known, encoder: 'libwebrtc', decoder: 'libwebrtc', rttMs: null, lossRatio: null,
    sendBitrateKbps: null, encodeMs: null, decodeMs: null,
  };
  if (!pc) return s;
  try {
    const report = await pc.getStats();
    const codecs = new Map<string, string>();
    let codecId: string | null = null;
    report.forEach((r) => {
      if (r.type === 'codec' && typeof r.mimeType === 'string') codecs.set(r.id, r.mimeType);
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        if (codecFrom === 'inbound' && typeof r.codecId === 'string') codecId = r.codecId;
        const lost = num(r.packetsLost);
        const got = num(r.packetsReceived);
        if (lost !== null && got !== null && lost + got > 0) s.lossRatio = Math.max(0, lost) / (lost + got);
        const decodeS = num(r.totalDecodeTime);
        const decoded = num(r.framesDecoded);
        if (decodeS !== null && decoded) s.decodeMs = (decodeS * 1000) / decoded;
      }
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        if (codecFrom === 'outbound' && typeof r.codecId === 'string') codecId = r.codecId;
        const encodeS = num(r.totalEncodeTime);
        const encoded = num(r.framesEncoded);
        if (encodeS !== null && encoded) s.encodeMs = (encodeS * 1000) / encoded;
        const target = num(r.targetBitrate);
        if (target !== null) s.sendBitrateKbps = target / 1000;
      }
      if (r.type === 'candidate-pair' && r.nominated === true) {
        const rtt = num(r.currentRoundTripTime);
        if (rtt !== null) s.rttMs = rtt * 1000;
      }
    });
    if (codecId !== null) s.codec = codecs.get(codecId) ?? known;
    // The names /backends lists for this engine's codecs: libvpx inside libwebrtc for VP8 and VP9.
    if (s.codec !== null && /VP[89]/i.test(s.codec)) s.encoder = s.decoder = 'libvpx (libwebrtc)';
  } catch {
    // Stats are informational; a closed connection simply has none.
  }
  return s;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
