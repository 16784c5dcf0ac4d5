/**
 * rtp-framing.ts: RTP headers read as RFC 3550/8285 define them, in bounds and in linear time
 * whatever the bytes say; RTCP compounds and transport-cc messages checked against their lengths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RtpHeader, RtpPacket } from 'werift';
import {
  checkProtectedDatagram, checkRtcpCompound, isMediaDatagram, MAX_MEDIA_DATAGRAM, MAX_TWCC_STATUSES, parseRtpHeader,
} from '../../../../src/media/engines/native/transport/rtp-framing.js';

/** A packet werift itself serializes: the reference for well-formed input. */
function weriftPacket(extensions: Array<{ id: number; payload: Buffer }>, payload: Buffer, csrc: number[] = []): Buffer {
  const header = new RtpHeader({ sequenceNumber: 4242, timestamp: 90000, ssrc: 0x11223344, payloadType: 96, marker: true, csrc, csrcLength: csrc.length, extensions, extension: extensions.length > 0 });
  return new RtpPacket(header, payload).serialize();
}

describe('parseRtpHeader', () => {
  it('reads what werift writes: fields, CSRCs, one-byte extensions and the payload offset', () => {
    const payload = Buffer.from('payload!');
    const buf = weriftPacket([{ id: 1, payload: Buffer.from('ab') }, { id: 3, payload: Buffer.from([1, 2, 3]) }], payload, [7, 8]);
    const h = parseRtpHeader(buf);
    assert.ok(typeof h !== 'string');
    assert.equal(h.sequenceNumber, 4242);
    assert.equal(h.timestamp, 90000);
    assert.equal(h.ssrc, 0x11223344);
    assert.equal(h.payloadType, 96);
    assert.equal(h.marker, true);
    assert.deepEqual(h.csrc, [7, 8]);
    assert.equal(h.extensionProfile, 0xbede);
    assert.deepEqual(h.extensions.map((e) => [e.id, e.payload.toString('hex')]), [[1, '6162'], [3, '010203']]);
    assert.equal(buf.subarray(h.payloadOffset).toString(), 'payload!');
  });

  it('refuses an extension length past the packet (werift looped quadratically past its end)', () => {
    // V=2 X=1, fixed header, profile 0xBEDE, 0xFFFF words claimed, 4 bytes present
    const buf = Buffer.concat([Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from([0xbe, 0xde, 0xff, 0xff, 0x10, 0xaa, 0, 0]), Buffer.alloc(10)]);
    const reads = countingReads(buf);
    assert.equal(parseRtpHeader(reads.buf), 'rtp-extension');
    assert.ok(reads.count() <= 64, `${reads.count()} byte reads for a ${buf.length}-byte packet`);
    assert.equal(checkProtectedDatagram(buf), 'rtp-extension');
  });

  it('one-byte id 15 stops parsing, and the payload still starts after the whole block (RFC 8285 §4.2)', () => {
    // block of 2 words: [id1 len1: aa], [id15 ...], padding
    const ext = Buffer.from([0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0xf3, 0x01, 0x02, 0x03, 0x00, 0x00]);
    const buf = Buffer.concat([Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), ext, Buffer.from('PAYLOAD')]);
    const h = parseRtpHeader(buf);
    assert.ok(typeof h !== 'string');
    assert.deepEqual(h.extensions.map((e) => e.id), [1]);
    assert.equal(buf.subarray(h.payloadOffset).toString(), 'PAYLOAD');
    // werift's own parser took the offset from where it stopped
    assert.notEqual(originalWeriftOffset(buf), h.payloadOffset);
  });

  it('reads two-byte elements, and refuses an element that runs past its block', () => {
    const good = Buffer.concat([Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from([0x10, 0x00, 0x00, 0x01, 0x05, 0x02, 0xaa, 0xbb]), Buffer.from('P')]);
    const h = parseRtpHeader(good);
    assert.ok(typeof h !== 'string');
    assert.deepEqual(h.extensions.map((e) => [e.id, e.payload.toString('hex')]), [[5, 'aabb']]);
    const bad = Buffer.from(good);
    bad[17] = 9; // length 9 in a 4-byte block
    assert.equal(parseRtpHeader(bad), 'rtp-extension-element');
  });

  it('checks version, CSRC count and (after decryption) padding', () => {
    assert.equal(parseRtpHeader(Buffer.alloc(11, 0x80)), 'rtp-short');
    assert.equal(parseRtpHeader(Buffer.alloc(12, 0x40)), 'rtp-version');
    assert.equal(parseRtpHeader(Buffer.from([0x8f, 96, ...Array(10).fill(0)])), 'rtp-csrc');
    const padded = Buffer.from([0xa0, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 0x09]);
    assert.ok(typeof parseRtpHeader(padded) !== 'string', 'padding is not checked on a still-encrypted packet');
    assert.equal(parseRtpHeader(padded, 0, true), 'rtp-padding');
    padded[15] = 2;
    const h = parseRtpHeader(padded, 0, true);
    assert.ok(typeof h !== 'string' && h.paddingSize === 2);
  });

  it('never throws, stays in bounds and is linear on any bytes (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 2000 }), fc.integer({ min: 0, max: 16 }), (bytes, trailer) => {
      const buf = Buffer.from(bytes);
      if (buf.length > 0) buf[0] = (buf[0]! & 0x3f) | 0x80;
      const h = parseRtpHeader(buf, trailer, true);
      if (typeof h === 'string') return;
      assert.ok(h.payloadOffset <= buf.length - trailer);
      assert.ok(h.payloadOffset + h.paddingSize <= buf.length - trailer);
      for (const e of h.extensions) assert.ok(e.payload.byteOffset + e.payload.length <= buf.byteOffset + buf.length);
    }), { numRuns: 3000, seed: 22 });
    // the worst case for element count: a 64 kB block of one-byte elements
    const big = Buffer.alloc(12 + 4 + 65532);
    big[0] = 0x90;
    big.writeUInt16BE(0xbede, 12);
    big.writeUInt16BE(65532 / 4, 14);
    for (let i = 16; i + 1 < big.length; i += 2) big[i] = 0x10;
    const reads = countingReads(big);
    const h = parseRtpHeader(reads.buf);
    assert.ok(typeof h !== 'string' && h.extensions.length > 30000);
    assert.ok(reads.count() <= 4 * big.length, `linear in the packet size: ${reads.count()} byte reads for ${big.length} bytes`);
    assert.ok(reads.count() >= big.length / 4, 'the proxy does count the reads');
    assert.equal(checkProtectedDatagram(big), 'oversize');
  });
});

/**
 * The buffer behind a proxy that counts its byte reads (indexing, and the reads readUInt*BE makes
 * through it): a measure of work that does not depend on the machine's load.
 */
function countingReads(buf: Buffer): { buf: Buffer; count(): number } {
  let n = 0;
  const proxy = new Proxy(buf, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        n++;
        return target[Number(key)];
      }
      const v = Reflect.get(target, key, target) as unknown;
      if (typeof v !== 'function') return v;
      // Buffer's read methods index `this`: through the proxy, so their reads count too
      return (v as (...a: unknown[]) => unknown).bind(typeof key === 'string' && key.startsWith('read') ? receiver : target);
    },
  });
  return { buf: proxy, count: () => n };
}

/** werift's own parse of the payload offset, without the project's fix (the bug the fix exists for). */
function originalWeriftOffset(buf: Buffer): number {
  // werift stops at id 15 and takes the offset from there: 12 + 4 + 2 (first element) + 1 (the id-15 byte)
  let i = 16;
  while (i < 16 + buf.readUInt16BE(14) * 4) {
    const b = buf[i]!;
    if (b === 0) { i++; continue; }
    i++;
    if (b >> 4 === 15) break;
    i += (b & 0x0f) + 1;
  }
  return i;
}

describe('checkRtcpCompound', () => {
  const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 9]);
  const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 9, 0, 0, 0, 7]);

  it('takes a compound whose lengths add up, refuses one that runs past the datagram or has trailing bytes', () => {
    assert.equal(checkRtcpCompound(Buffer.concat([rr, pli])), null);
    const long = Buffer.from(pli);
    long.writeUInt16BE(40, 2);
    assert.equal(checkRtcpCompound(Buffer.concat([rr, long])), 'rtcp-length');
    assert.equal(checkRtcpCompound(Buffer.concat([rr, Buffer.from([0x80, 201])])), 'rtcp-length');
    const v1 = Buffer.from(pli);
    v1[0] = 0x41;
    assert.equal(checkRtcpCompound(Buffer.concat([rr, v1])), 'rtcp-version');
    assert.equal(checkRtcpCompound(Buffer.alloc(4, 0x80)), 'rtcp-short');
  });

  it('refuses transport-cc feedback that promises more results than its bytes carry', () => {
    const twcc = (count: number, chunks: number[], deltas: number[]): Buffer => {
      const body = Buffer.alloc(16 + 2 * chunks.length + deltas.length);
      body.writeUInt32BE(1, 0);
      body.writeUInt32BE(2, 4);
      body.writeUInt16BE(100, 8);
      body.writeUInt16BE(count, 10);
      chunks.forEach((c, i) => body.writeUInt16BE(c, 16 + 2 * i));
      deltas.forEach((d, i) => { body[16 + 2 * chunks.length + i] = d; });
      const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
      const header = Buffer.from([0x8f, 205, 0, 0]);
      header.writeUInt16BE(padded.length / 4, 2);
      return Buffer.concat([header, padded]);
    };
    // 3 received (small delta) as a run: 3 delta bytes present
    assert.equal(checkRtcpCompound(twcc(3, [0x2003], [1, 2, 3])), null);
    // 8191 received claimed with 3 delta bytes
    assert.equal(checkRtcpCompound(twcc(8191, [0x3fff], [1, 2, 3])), 'rtcp-feedback');
    // more statuses than the bound, all "not received" (no delta bytes needed)
    assert.equal(checkRtcpCompound(twcc(MAX_TWCC_STATUSES + 1, [0x1fff], [])), 'rtcp-feedback');
    // a two-bit status vector: 2 small + 1 large = 4 delta bytes
    assert.equal(checkRtcpCompound(twcc(3, [0xc000 | (1 << 12) | (1 << 10) | (2 << 8)], [1, 1, 0, 5])), null);
  });

  it('never throws on any bytes (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const r = checkRtcpCompound(Buffer.from(bytes));
      assert.ok(r === null || typeof r === 'string');
    }), { numRuns: 3000, seed: 23 });
  });
});

describe('checkProtectedDatagram', () => {
  it('passes real SRTP-sized RTP and RTCP, and classifies media by the first byte (RFC 7983)', () => {
    const rtp = Buffer.concat([weriftPacket([{ id: 2, payload: Buffer.from([1, 2, 3]) }], Buffer.alloc(200)), Buffer.alloc(10)]);
    assert.equal(checkProtectedDatagram(rtp), null);
    assert.equal(checkProtectedDatagram(Buffer.concat([Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 9]), Buffer.alloc(14)])), null);
    assert.equal(checkProtectedDatagram(Buffer.alloc(MAX_MEDIA_DATAGRAM + 1, 0x80)), 'oversize');
    assert.ok(isMediaDatagram(rtp));
    assert.ok(!isMediaDatagram(Buffer.from([0x16, 0xfe, 0xfd])), 'DTLS');
    assert.ok(!isMediaDatagram(Buffer.from([0x00, 0x01])), 'STUN');
  });
});
