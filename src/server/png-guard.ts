/**
 * Structural checks on an uploaded PNG before it is decoded: the signature, exactly one IHDR
 * (first) within the size limits, at least one IDAT, nothing after IEND, no chunk running past
 * the end of the body. Cheap (one pass over chunk headers, no inflate) and on the event loop.
 *
 * Why each check: a decoder sizes its buffers from an IHDR; the guard used to read the first
 * while pngjs used the last, so a 97-byte file declaring 8x8 then 16000x16000 cost 3.2 GB and a
 * blocked event loop, and a PNG with no IDAT was answered 200. A body cut short is refused here
 * rather than decoded in part. The decoder (png-codec.ts) enforces the pixel limit again.
 */

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** Most chunks one upload may have; real encoders write far fewer (8-64 KiB IDAT chunks). */
const MAX_CHUNKS = 100_000;

/** Why an upload was refused before decoding: not a (complete) PNG, or an image over the limits. */
export class PngGuardError extends Error {
  constructor(readonly reason: 'invalid' | 'too-large', message: string) {
    super(message);
    this.name = 'PngGuardError';
  }
}

/** Dimensions a PNG's header declares. */
export interface PngHeader {
  width: number;
  height: number;
  interlaced: boolean;
}

/** Check the chunk structure and the declared size of `body`; throws PngGuardError. */
export function checkPngHeader(body: Buffer, limits: { maxDimension: number; maxPixels: number }): PngHeader {
  if (body.length < 33 || !body.subarray(0, 8).equals(SIGNATURE) || body.toString('latin1', 12, 16) !== 'IHDR' || body.readUInt32BE(8) !== 13) {
    throw new PngGuardError('invalid', 'no PNG signature followed by an IHDR chunk');
  }
  const width = body.readUInt32BE(16);
  const height = body.readUInt32BE(20);
  if (width === 0 || height === 0) throw new PngGuardError('invalid', `image ${width}x${height} is empty`);
  if (width > limits.maxDimension || height > limits.maxDimension || width * height > limits.maxPixels) {
    throw new PngGuardError('too-large',
      `image ${width}x${height} is over the limits (${limits.maxDimension} a side, ${limits.maxPixels} pixels)`);
  }
  checkChunks(body);
  return { width, height, interlaced: body[28] !== 0 };
}

/** Walk every chunk header after the signature. */
function checkChunks(body: Buffer): void {
  let ihdr = 0;
  let idat = 0;
  let chunks = 0;
  let off = 8;
  for (;;) {
    if (off + 12 > body.length) throw new PngGuardError('invalid', `the PNG is truncated at byte ${off} (no IEND chunk)`);
    if (++chunks > MAX_CHUNKS) throw new PngGuardError('invalid', `the PNG has more than ${MAX_CHUNKS} chunks`);
    const len = body.readUInt32BE(off);
    const type = body.toString('latin1', off + 4, off + 8);
    if (len > body.length - off - 12) {
      throw new PngGuardError('invalid', `the PNG is truncated: chunk ${JSON.stringify(type)} at byte ${off} runs past the end`);
    }
    if (type === 'IHDR' && ++ihdr > 1) throw new PngGuardError('invalid', 'the PNG has more than one IHDR chunk');
    if (type === 'IDAT') idat++;
    off += 12 + len;
    if (type === 'IEND') break;
  }
  if (idat === 0) throw new PngGuardError('invalid', 'the PNG has no image data (IDAT chunk)');
  if (off !== body.length) throw new PngGuardError('invalid', `the PNG has ${body.length - off} bytes after its IEND chunk`);
}
