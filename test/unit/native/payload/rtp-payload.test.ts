/**
 * The native engine's RTP payload formats: VP8 (RFC 7741) and H264 (RFC 6184) packetizers and
 * depacketizers round-trip any frame, respect the 1200-byte payload bound at its edges, and never
 * throw on malformed payloads (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { balancedChunks, MAX_RTP_PAYLOAD } from '../../../../src/media/engines/native/payload/codec-payload.js';
import { H264Depacketizer, H264Packetizer, splitAnnexB } from '../../../../src/media/engines/native/payload/h264.js';
import { parseVp8Descriptor, Vp8Depacketizer, Vp8Packetizer } from '../../../../src/media/engines/native/payload/vp8.js';

/** A VP8 key frame header (P=0, start code) followed by arbitrary bytes. */
function vp8Keyframe(body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]), body]);
}

describe('balancedChunks', () => {
  it('covers the length with near-equal chunks under the bound', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 2000 }), (len, max) => {
      const c = balancedChunks(len, max);
      assert.equal(c.reduce((a, b) => a + b, 0), len);
      assert.ok(c.every((x) => x <= max && x > 0));
      assert.ok(Math.max(...c) - Math.min(...c) <= 1);
      assert.equal(c.length, Math.ceil(len / max));
    }));
  });
});

describe('VP8 payload format', () => {
  it('round-trips any frame; payloads stay within 1200 bytes; S only on the first', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 20_000 }), fc.boolean(), (body, key) => {
      const frame = key ? vp8Keyframe(body) : Buffer.concat([Buffer.from([0x01]), body]);
      const p = new Vp8Packetizer();
      const payloads = p.packetize(frame);
      assert.ok(payloads.every((x) => x.length <= MAX_RTP_PAYLOAD));
      assert.ok(payloads.every((x, i) => parseVp8Descriptor(x)!.start === (i === 0)));
      const d = new Vp8Depacketizer();
      assert.equal(d.inspect(payloads[0]!)!.frameStart, true);
      assert.equal(d.inspect(payloads[0]!)!.keyframe, key);
      const back = d.assemble(payloads)!;
      assert.ok(back.data.equals(frame));
      assert.equal(back.keyframe, key);
    }));
  });

  it('splits exactly at the boundary: 1196 data bytes fit one packet, 1197 need two', () => {
    assert.equal(new Vp8Packetizer().packetize(Buffer.alloc(MAX_RTP_PAYLOAD - 4, 1)).length, 1);
    const two = new Vp8Packetizer().packetize(Buffer.alloc(MAX_RTP_PAYLOAD - 3, 1));
    assert.equal(two.length, 2);
    assert.deepEqual(two.map((x) => x.length), [603, 602]);
  });

  it('writes a 15-bit picture id that wraps and increments per frame', () => {
    const p = new Vp8Packetizer(MAX_RTP_PAYLOAD, 0x7ffe);
    const ids = [0, 1, 2].map(() => parseVp8Descriptor(p.packetize(Buffer.alloc(10))[0]!)!.pictureId);
    assert.deepEqual(ids, [0x7ffe, 0x7fff, 0]);
  });

  it('parses descriptors with every optional field (I 7-bit, L, T, K)', () => {
    const d = parseVp8Descriptor(Buffer.from([0x90, 0xf0, 0x05, 0x11, 0x22, 0xaa]))!;
    assert.deepEqual(d, { length: 5, start: true, partitionId: 0, pictureId: 5 });
    assert.equal(parseVp8Descriptor(Buffer.from([0x10, 0xaa]))!.length, 1, 'no X: one byte');
  });

  it('never throws on malformed payloads and rejects truncated descriptors', () => {
    const d = new Vp8Depacketizer();
    assert.equal(d.inspect(Buffer.alloc(0)), null);
    assert.equal(d.inspect(Buffer.from([0x90, 0x80])), null, 'I set but no picture id');
    assert.equal(d.inspect(Buffer.from([0x90, 0x80, 0x80, 0x01])), null, 'descriptor with no data');
    assert.equal(d.assemble([]), null);
    assert.equal(d.assemble([Buffer.from([0x00, 0x01])]), null, 'first payload does not start a frame');
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (parts) => {
      const bufs = parts.map((x) => Buffer.from(x));
      for (const b of bufs) d.inspect(b);
      const a = d.assemble(bufs);
      assert.ok(a === null || Buffer.isBuffer(a.data));
    }), { numRuns: 2000 });
  });
});

/** An Annex B access unit from NAL units (4-byte start codes). */
function annexB(nals: Buffer[]): Buffer {
  return Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));
}

/** A NAL unit of `type` with a body that has no start-code emulation (no 00 00 0x). */
const nalArb = (type: number, maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: 1, maxLength }).map((b) => Buffer.from([0x60 | type, ...b.map((x) => (x === 0 ? 1 : x))]));

describe('H264 payload format (packetization-mode 1)', () => {
  it('round-trips access units of small and large NAL units (single, STAP-A, FU-A)', () => {
    const au = fc.tuple(nalArb(7, 20), nalArb(8, 8), fc.array(nalArb(5, 5000), { minLength: 1, maxLength: 3 }))
      .map(([sps, pps, slices]) => [sps, pps, ...slices]);
    fc.assert(fc.property(au, (nals) => {
      const frame = annexB(nals);
      const payloads = new H264Packetizer().packetize(frame);
      assert.ok(payloads.every((x) => x.length <= MAX_RTP_PAYLOAD));
      const d = new H264Depacketizer();
      assert.equal(d.inspect(payloads[0]!)!.frameStart, true);
      assert.equal(d.inspect(payloads[0]!)!.keyframe, true);
      const back = d.assemble(payloads)!;
      assert.ok(back.data.equals(frame));
      assert.equal(back.keyframe, true);
      assert.deepEqual(splitAnnexB(back.data).map((n) => n.length), nals.map((n) => n.length));
    }));
  });

  it('aggregates SPS+PPS into one STAP-A and fragments a large slice into FU-A with S/E bits', () => {
    const sps = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xd9]);
    const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
    const idr = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(3000, 7)]);
    const payloads = new H264Packetizer().packetize(annexB([sps, pps, idr]));
    assert.equal(payloads[0]![0]! & 0x1f, 24, 'STAP-A first');
    const fus = payloads.slice(1);
    assert.equal(fus.length, 3);
    assert.ok(fus.every((p) => (p[0]! & 0x1f) === 28 && (p[1]! & 0x1f) === 5));
    assert.deepEqual(fus.map((p) => p[1]! & 0xc0), [0x80, 0x00, 0x40]);
    const d = new H264Depacketizer();
    assert.equal(d.inspect(fus[1]!)!.frameStart, false, 'a middle fragment never starts a frame');
  });

  it('a NAL of exactly 1200 bytes goes as one packet, 1201 as FU-A', () => {
    const nal = (n: number): Buffer => Buffer.concat([Buffer.from([0x41]), Buffer.alloc(n - 1, 9)]);
    assert.equal(new H264Packetizer().packetize(annexB([nal(1200)])).length, 1);
    assert.equal(new H264Packetizer().packetize(annexB([nal(1201)])).length, 2);
  });

  it('splits Annex B with 3- and 4-byte start codes', () => {
    const s = Buffer.from([0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 3, 4]);
    assert.deepEqual(splitAnnexB(s).map((n) => [...n]), [[0x67, 1], [0x68, 2], [0x65, 3, 4]]);
  });

  it('rejects malformed payloads without throwing', () => {
    const d = new H264Depacketizer();
    assert.equal(d.inspect(Buffer.alloc(0)), null);
    assert.equal(d.inspect(Buffer.from([0x80 | 0x65])), null, 'forbidden bit');
    assert.equal(d.inspect(Buffer.from([0x78, 0x00, 0x10, 0x67])), null, 'STAP-A length past the end');
    assert.equal(d.inspect(Buffer.from([0x7c, 0xc5, 0x00])), null, 'FU-A with S and E');
    assert.equal(d.inspect(Buffer.from([0x79, 0x00])), null, 'STAP-B not in mode 1');
    assert.equal(d.assemble([Buffer.from([0x7c, 0x05, 0x01])]), null, 'FU-A continuation without start');
    assert.equal(d.assemble([Buffer.from([0x7c, 0x85, 0x01])]), null, 'FU-A never ended');
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (parts) => {
      const bufs = parts.map((x) => Buffer.from(x));
      for (const b of bufs) d.inspect(b);
      const a = d.assemble(bufs);
      assert.ok(a === null || Buffer.isBuffer(a.data));
    }), { numRuns: 3000 });
  });
});
