/**
 * The native client (werift offerer + NativePeer) against the native engine's answerer in one
 * process, no server: the offer is what a browser-like client sends (VP8 + RTX sendrecv, or H264
 * + RTX first and VP8 after it, a data channel, no playout-delay), and stamped frames make the
 * round trip client -> engine -> client with their stamps intact, in the codec the answer picked,
 * over a data channel that opens and carries text both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { ControlChannel, I420Frame, MediaPeer } from '../../src/media/engine.js';
import { createNativeEngine } from '../../src/media/engines/native/index.js';
import { selectVideoCodec } from '../../src/media/engines/native/codecs/offer-codecs.js';
import { NativeClient } from '../../src/media/engines/native/native-client.js';
import type { NativeCodecName } from '../../src/media/engines/native/stack-types.js';
import { PLAYOUT_DELAY_URI } from '../../src/media/engines/native/transport/werift-peer-setup.js';
import { readStamp, writeStamp } from '../../src/loadgen/stamp.js';
import { SyntheticVideo } from '../../src/loadgen/synthetic-video.js';

const W = 320;
const H = 180;

test('native client offer: VP8 + RTX sendrecv, a control data channel, no playout-delay', { timeout: 20_000 }, async () => {
  const client = await NativeClient.create({ onFrame: () => undefined, onMessage: () => undefined, onConnectionState: () => undefined });
  try {
    const sdp = client.offerSdp;
    assert.match(sdp, /^m=video \d+ UDP\/TLS\/RTP\/SAVPF 96 97/m);
    assert.match(sdp, /^a=rtpmap:96 VP8\/90000/m);
    assert.match(sdp, /^a=fmtp:97 apt=96/m);
    assert.match(sdp, /^a=sendrecv/m);
    assert.match(sdp, /^m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/m);
    assert.match(sdp, /^a=candidate:/m, 'candidates gathered before the offer goes out');
    assert.ok(!sdp.includes(PLAYOUT_DELAY_URI), 'a browser does not ask the server to render on arrival');
    await assert.rejects(client.accept(sdp.replace(/VP8/g, 'XYZ')), /no video codec/);
  } finally {
    client.close();
  }
});

test('native client H264 offer: H264 packetization-mode 1 constrained baseline + RTX first, VP8 + RTX after it', { timeout: 20_000 }, async () => {
  const client = await NativeClient.create({ onFrame: () => undefined, onMessage: () => undefined, onConnectionState: () => undefined }, { codec: 'H264' });
  try {
    const sdp = client.offerSdp;
    assert.match(sdp, /^m=video \d+ UDP\/TLS\/RTP\/SAVPF 106 107 96 97\r?$/m);
    assert.match(sdp, /^a=rtpmap:106 H264\/90000/m);
    assert.match(sdp, /^a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r?$/m);
    assert.match(sdp, /^a=rtcp-fb:106 nack pli\r?$/m);
    assert.match(sdp, /^a=fmtp:107 apt=106/m);
    assert.match(sdp, /^a=rtpmap:96 VP8\/90000/m);
    assert.match(sdp, /^a=fmtp:97 apt=96/m);
    // the client's first codec the engine runs is H264 (the engine also prefers H264 by default)
    const picked = selectVideoCodec(sdp);
    assert.equal(picked?.name, 'H264');
    assert.equal(picked?.payloadType, 106);
    assert.equal(picked?.rtxPayloadType, 107);
    assert.equal(picked?.profileLevelId, '42e01f');
  } finally {
    client.close();
  }
});

async function roundTrip(codec: NativeCodecName): Promise<void> {
  const engine = createNativeEngine({ additionalHostAddresses: ['127.0.0.1'] });
  let serverPeer: MediaPeer | null = null;
  let serverChannel: ControlChannel | null = null;
  const serverGot: string[] = [];
  const clientGot: string[] = [];
  const stamps: number[] = [];
  let undecoded = 0;
  const client = await NativeClient.create({
    onFrame: (f) => {
      const s = readStamp(f.data, f.width, f.height);
      if (s) stamps.push(s.frameNumber);
      else undecoded++;
    },
    onMessage: (d) => { if (typeof d === 'string') clientGot.push(d); },
    onConnectionState: () => undefined,
  }, { additionalHostAddresses: ['127.0.0.1'], codec });
  try {
    const answered = await engine.answer(client.offerSdp, { iceServers: [], iceGatheringTimeoutMs: 3000 }, {
      // echo every decoded frame back, as a server with filter `none` would
      onFrame: (f: I420Frame) => serverPeer?.sendFrame(f),
      onChannel: (ch) => {
        serverChannel = ch;
        ch.onmessage = (d) => {
          if (typeof d === 'string') {
            serverGot.push(d);
            ch.send(`echo ${d}`);
          }
        };
      },
      onConnectionState: () => undefined,
    });
    serverPeer = answered.peer;
    await client.accept(answered.sdp);
    const video = new SyntheticVideo(W, H, 7);
    let n = 0;
    const t0 = performance.now();
    let sentHello = false;
    while (performance.now() - t0 < 8000 && stamps.length < 40) {
      const data = video.render(n);
      writeStamp(data, W, H, { frameNumber: n, sendTimeMs: performance.now() });
      client.sendFrame({ width: W, height: H, data });
      n++;
      // the data channel the offerer created is the one the server sees
      if (!sentHello) sentHello = client.sendMessage('hello');
      await new Promise((r) => setTimeout(r, 33));
    }
    assert.ok(stamps.length >= 40, `stamped frames back: ${stamps.length} of ${n} sent`);
    assert.equal(undecoded, 0);
    assert.ok(stamps.every((v, i) => i === 0 || v > stamps[i - 1]!), 'frames come back in order');
    assert.ok(client.connected);
    for (let i = 0; i < 40 && clientGot.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(serverGot, ['hello']);
    assert.deepEqual(clientGot, ['echo hello']);
    assert.ok(serverChannel !== null);
    const stats = await client.stats();
    assert.equal(stats?.codec, `video/${codec}`);
    assert.equal(stats?.encoder, codec === 'VP8' ? 'libvpx' : 'libx264');
    // the server's side runs the same codec both ways: it decoded what the client sent in it
    const serverStats = await serverPeer!.stats();
    assert.equal(serverStats.codec, `video/${codec}`);
    assert.equal(serverStats.decoder, codec === 'VP8' ? 'vp8' : 'h264');
    assert.ok((client.counters?.framesDecoded ?? 0) >= 40);
  } finally {
    client.close();
    (serverPeer as MediaPeer | null)?.close();
  }
}

test('native client <-> native engine: stamped frames round trip in VP8, control channel both ways', { timeout: 30_000 }, () => roundTrip('VP8'));

test('native client <-> native engine: stamped frames round trip in H264 when the client offers it first', { timeout: 30_000 }, () => roundTrip('H264'));
