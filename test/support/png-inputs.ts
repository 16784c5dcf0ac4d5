/**
 * Images for fuzzing POST /process: real PNGs written by pngjs, and fast-check arbitraries that
 * damage them (truncation, bit flips, wrong CRCs, chunks dropped or repeated, a forged IHDR
 * declaring huge dimensions with the CRC recomputed so that only the size is wrong).
 */
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);


/** One PNG chunk with its length and CRC (`badCrc` flips the CRC). */
export function chunk(type: string, data: Uint8Array, badCrc = false): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(Buffer.concat([head.subarray(4), data])) ^ (badCrc ? 1 : 0)) >>> 0);
  return Buffer.concat([head, data, crc]);
}

/** IHDR data: width, height, bit depth, colour type, interlace. */
export function ihdr(width: number, height: number, depth = 8, colorType = 6, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width >>> 0, 0);
  d.writeUInt32BE(height >>> 0, 4);
  d[8] = depth;
  d[9] = colorType;
  d[12] = interlace;
  return d;
}

/** A PNG from chunks. */
export function pngFile(chunks: Buffer[]): Buffer {
  return Buffer.concat([SIGNATURE, ...chunks, chunk('IEND', Buffer.alloc(0))]);
}

/** A valid RGBA PNG of `width` x `height` with a deterministic pattern, written by pngjs. */
export function realPng(width: number, height: number, options: { colorType?: 0 | 2 | 4 | 6; bitDepth?: 8 | 16 } = {}): Buffer {
  const png = new PNG({ width, height, colorType: options.colorType ?? 6, bitDepth: options.bitDepth ?? 8 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 31 + (i >> 7)) & 255;
  return PNG.sync.write(png, { colorType: options.colorType ?? 6, bitDepth: options.bitDepth ?? 8 });
}

/** A few real PNGs of different sizes and formats: the seeds of the mutations. */
export const SEED_PNGS: Buffer[] = [
  realPng(8, 8),
  realPng(17, 5),
  realPng(33, 31, { colorType: 2 }),
  realPng(16, 16, { colorType: 0 }),
  realPng(12, 9, { bitDepth: 16 }),
  realPng(24, 24, { colorType: 4 }),
];

/** Split a PNG into its chunks (whole chunks as bytes); stops at the first inconsistency. */
export function splitChunks(png: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = SIGNATURE.length;
  while (off + 12 <= png.length) {
    const len = png.readUInt32BE(off);
    if (off + 12 + len > png.length) break;
    out.push(png.subarray(off, off + 12 + len));
    off += 12 + len;
  }
  return out;
}

/** Dimensions a forged IHDR may declare: around the server limits and far beyond them. */
export const hugeDimension = fc.oneof(
  fc.constantFrom(0, 1, 7680, 7681, 16_384, 30_000, 65_535, 65_536, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.integer({ min: 1, max: 0xffffffff }),
);

/**
 * A PNG forged around a valid header declaring `width` x `height`, with a tiny IDAT (a few
 * bytes, or a zlib stream of zeros) so the file is small whatever it claims.
 */
export const forgedHeaderPng: fc.Arbitrary<Buffer> = fc
  .record({
    width: hugeDimension,
    height: hugeDimension,
    depth: fc.constantFrom(1, 2, 4, 8, 16, 3, 0, 255),
    colorType: fc.constantFrom(0, 2, 3, 4, 6, 1, 7),
    interlace: fc.constantFrom(0, 1, 2),
    idat: fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc.integer({ min: 1, max: 256 * 1024 }).map((n) => deflateSync(Buffer.alloc(n))),
    ),
    withPlte: fc.boolean(),
  })
  .map(({ width, height, depth, colorType, interlace, idat, withPlte }) =>
    pngFile([
      chunk('IHDR', ihdr(width, height, depth, colorType, interlace)),
      ...(withPlte ? [chunk('PLTE', Buffer.alloc(9, 200))] : []),
      chunk('IDAT', idat),
    ]));

/** A seed PNG damaged in one of many ways. */
export const damagedPng: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(...SEED_PNGS),
    fc.oneof(
      // truncated anywhere
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      // 1..8 bit flips anywhere (signature, header, CRCs, compressed data)
      fc.record({ kind: fc.constant('flip' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }),
      // a chunk's CRC wrong
      fc.record({ kind: fc.constant('crc' as const), which: fc.nat() }),
      // chunks dropped, repeated or reordered
      fc.record({ kind: fc.constant('chunks' as const), order: fc.array(fc.nat(), { maxLength: 6 }) }),
      // garbage appended or prepended
      fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 256 }), before: fc.boolean() }),
      // a byte range overwritten
      fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    ),
  )
  .map(([seed, m]) => {
    const png = Buffer.from(seed);
    switch (m.kind) {
      case 'truncate':
        return png.subarray(0, m.at % png.length);
      case 'flip':
        for (const b of m.bits) png[(b >> 3) % png.length]! ^= 1 << (b & 7);
        return png;
      case 'crc': {
        const chunks = splitChunks(png);
        const c = chunks[m.which % chunks.length]!;
        c[c.length - 1]! ^= 0x5a;
        return png;
      }
      case 'chunks': {
        const chunks = splitChunks(png).filter((c) => c.toString('latin1', 4, 8) !== 'IEND');
        const picked = m.order.map((i) => chunks[i % chunks.length]!);
        return Buffer.concat([SIGNATURE, ...picked, chunk('IEND', Buffer.alloc(0))]);
      }
      case 'garbage':
        return m.before ? Buffer.concat([m.bytes, png]) : Buffer.concat([png, m.bytes]);
      case 'overwrite':
        Buffer.from(m.bytes).copy(png, m.at % png.length);
        return png;
    }
  });
