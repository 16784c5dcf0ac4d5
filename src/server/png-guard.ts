/**
 * Checks on an uploaded PNG before pngjs decodes it. pngjs sizes its buffers from the
 * dimensions the IHDR chunk declares and inflates interlaced data without any bound, so a
 * 69-byte file declaring 20000x20000 cost 4.6 GB and 40 s of a blocked event loop, and a small
 * interlaced file could inflate to gigabytes. Found by test/fuzz/process.fuzz.test.ts.
 */
import { inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** Why an upload was refused before decoding: not a PNG at all, or an image over the limits. */
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

/** Most bytes one pixel takes (RGBA, 16 bits a channel). */
const MAX_BYTES_PER_PIXEL = 8;

/** Read the IHDR chunk (always first) and check the declared size; throws PngGuardError. */
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
  const interlaced = body[28] !== 0;
  if (interlaced) checkInflatedSize(body, width, height);
  return { width, height, interlaced };
}

/**
 * pngjs inflates interlaced images without a limit: inflate the IDAT data here with one, the
 * largest an Adam7 image of this size can need (every pass row has a filter byte).
 */
function checkInflatedSize(body: Buffer, width: number, height: number): void {
  const idat: Buffer[] = [];
  for (let off = 8; off + 12 <= body.length;) {
    const len = body.readUInt32BE(off);
    if (off + 12 + len > body.length) break;
    if (body.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(body.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const bound = width * height * MAX_BYTES_PER_PIXEL + 7 * (height + 1);
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: bound });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PngGuardError('invalid', `the image data inflates to more than the ${bound} bytes a ${width}x${height} image needs`);
    }
    // A corrupt stream is pngjs's to report, with its own message.
  }
}
