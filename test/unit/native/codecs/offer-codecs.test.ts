/**
 * The native engine's codec choice: H264 whenever offered (RTC_PREFER_H264, the default), else the
 * offer's order; an H264 answer carries the client's payload type and fmtp.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNativeEngine } from '../../../../src/media/engines/native/index.js';
import { selectVideoCodec, supportedVideoCodecs } from '../../../../src/media/engines/native/codecs/offer-codecs.js';
import { NegotiationError } from '../../../../src/media/engine.js';

/** A client offer as libwebrtc writes it, with the video payload types given (rtpmap/fmtp lines). */
function offer(video: Array<{ pt: number; name: string; fmtp?: string }>): string {
  const pts = video.map((v) => v.pt).join(' ');
  const lines = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS',
    `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`, 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=ice-options:trickle',
    'a=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC',
    'a=setup:actpass', 'a=mid:0',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
    'a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv', 'a=msid:- t1', 'a=rtcp-mux', 'a=rtcp-rsize',
  ];
  for (const v of video) {
    lines.push(`a=rtpmap:${v.pt} ${v.name}/90000`);
    if (v.name !== 'rtx') for (const fb of ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']) lines.push(`a=rtcp-fb:${v.pt} ${fb}`);
    if (v.fmtp) lines.push(`a=fmtp:${v.pt} ${v.fmtp}`);
  }
  lines.push('a=ssrc-group:FID 11 12', 'a=ssrc:11 cname:x', 'a=ssrc:12 cname:x',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=fingerprint:sha-256 6F:B3:75:14:65:2B:10:5A:D9:F9:3B:FF:01:C6:22:B6:61:D9:EB:0F:54:F2:71:CD:B6:0E:45:5B:D9:EC:B2:DC',
    'a=setup:actpass', 'a=mid:1', 'a=sctp-port:5000', 'a=max-message-size:262144');
  return lines.join('\r\n') + '\r\n';
}

const H264_CB = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

describe('codec choice from the offer', () => {
  it('takes the first offered supported codec, with its RTX', () => {
    assert.deepEqual(selectVideoCodec(offer([{ pt: 96, name: 'VP8' }, { pt: 97, name: 'rtx', fmtp: 'apt=96' }, { pt: 102, name: 'H264', fmtp: H264_CB }])),
      { name: 'VP8', payloadType: 96, rtxPayloadType: 97, fmtp: null, profileLevelId: null });
    const h = selectVideoCodec(offer([{ pt: 39, name: 'AV1' }, { pt: 102, name: 'H264', fmtp: H264_CB }, { pt: 103, name: 'rtx', fmtp: 'apt=102' }, { pt: 96, name: 'VP8' }]))!;
    assert.equal(h.name, 'H264');
    assert.equal(h.payloadType, 102);
    assert.equal(h.rtxPayloadType, 103);
    assert.equal(h.profileLevelId, '42e01f');
  });

  it('puts the preferred codec first wherever the offer lists it, and keeps the client\'s order without a preference', () => {
    const vp8First = offer([{ pt: 96, name: 'VP8' }, { pt: 97, name: 'rtx', fmtp: 'apt=96' }, { pt: 102, name: 'H264', fmtp: H264_CB }, { pt: 103, name: 'rtx', fmtp: 'apt=102' }]);
    assert.deepEqual(supportedVideoCodecs(vp8First, 'H264').map((c) => [c.name, c.payloadType, c.rtxPayloadType]), [['H264', 102, 103], ['VP8', 96, 97]]);
    assert.deepEqual(supportedVideoCodecs(vp8First).map((c) => c.name), ['VP8', 'H264']);
    assert.equal(selectVideoCodec(vp8First, 'H264')!.name, 'H264');
    // a preference the offer cannot meet (H264 without packetization-mode 1) leaves VP8
    const noMode1 = offer([{ pt: 96, name: 'VP8' }, { pt: 100, name: 'H264', fmtp: 'packetization-mode=0;profile-level-id=42e01f' }]);
    assert.equal(selectVideoCodec(noMode1, 'H264')!.name, 'VP8');
  });

  it('skips H264 without packetization-mode=1 or with a non-baseline profile', () => {
    const c = selectVideoCodec(offer([
      { pt: 100, name: 'H264', fmtp: 'packetization-mode=0;profile-level-id=42e01f' },
      { pt: 101, name: 'H264', fmtp: 'packetization-mode=1;profile-level-id=640032' },
      { pt: 96, name: 'VP8' },
    ]))!;
    assert.equal(c.name, 'VP8');
    assert.equal(selectVideoCodec(offer([{ pt: 98, name: 'VP9' }])), null);
    assert.equal(selectVideoCodec('v=0\r\n'), null);
  });

  it('the engine answers an H264-first offer with H264 only, and refuses an offer without a codec it has', async () => {
    const engine = createNativeEngine({ additionalHostAddresses: ['127.0.0.1'] });
    const events = { onFrame: () => undefined, onChannel: () => undefined, onConnectionState: () => undefined };
    const { sdp, peer } = await engine.answer(offer([{ pt: 102, name: 'H264', fmtp: H264_CB }, { pt: 103, name: 'rtx', fmtp: 'apt=102' }, { pt: 96, name: 'VP8' }]),
      { iceServers: [], iceGatheringTimeoutMs: 2000 }, events);
    try {
      assert.match(sdp, /a=rtpmap:102 H264\/90000/);
      assert.match(sdp, /a=fmtp:102 .*packetization-mode=1/);
      assert.match(sdp, /a=fmtp:103 apt=102/);
      assert.doesNotMatch(sdp, /VP8/);
      assert.match(sdp, /a=extmap:5 http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/playout-delay/);
      assert.equal((await peer.stats()).codec, 'video/H264');
    } finally {
      peer.close();
    }
    await assert.rejects(engine.answer(offer([{ pt: 98, name: 'VP9' }]), { iceServers: [], iceGatheringTimeoutMs: 500 }, events), NegotiationError);
    // Chromium's order (VP8 first): H264 by default, VP8 with the preference off
    const chromiumOrder = offer([{ pt: 96, name: 'VP8' }, { pt: 97, name: 'rtx', fmtp: 'apt=96' }, { pt: 102, name: 'H264', fmtp: H264_CB }]);
    for (const [e, want] of [[engine, 'video/H264'], [createNativeEngine({ additionalHostAddresses: ['127.0.0.1'], preferH264: false }), 'video/VP8']] as const) {
      const a = await e.answer(chromiumOrder, { iceServers: [], iceGatheringTimeoutMs: 2000 }, events);
      try {
        assert.equal((await a.peer.stats()).codec, want);
      } finally {
        a.peer.close();
      }
    }
    const ranged = await engine.answer(offer([{ pt: 96, name: 'VP8' }]), { iceServers: [], iceGatheringTimeoutMs: 2000, portRange: { min: 47100, max: 47120 } }, events);
    try {
      const ports = [...ranged.sdp.matchAll(/a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host/g)].map((m) => Number(m[1]));
      assert.ok(ports.length > 0 && ports.every((p) => p >= 47100 && p <= 47120), `host candidate ports in the range: ${ports.join(',')}`);
    } finally {
      ranged.peer.close();
    }
  });
});
