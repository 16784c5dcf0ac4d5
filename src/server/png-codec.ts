/**
 * PNG decoding and encoding for POST /process, through sharp (libvips + libpng). The only file
 * that loads sharp.
 *
 * Why not pngjs: pngjs 7.0.0's synchronous inflate reads Node's zlib write state in swapped
 * order and hands back its whole Buffer.allocUnsafe chunk, so a 1-row PNG whose data inflates to
 * one byte "decoded" to uninitialised memory — other clients' request bodies and headers came
 * back in the output image. It also decoded and encoded on the event loop (1080p: ~160 ms to
 * decode, ~350 ms to encode, measured; 4K 16-bit interlaced: 1-2.8 s). libpng refuses truncated
 * or corrupt data, libvips checks the pixel limit itself and both run on libuv's thread pool.
 */
import sharp from 'sharp';

// Each request decodes a different upload: libvips' operation cache would only hold memory.
sharp.cache(false);

/** An upload that is not a readable PNG within the limits (the route answers 400). */
export class PngDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngDecodeError';
  }
}

/** A decoded image: RGBA, 8 bits a channel, rows packed. */
export interface DecodedPng {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decode `png` to 8-bit RGBA off the event loop; throw PngDecodeError for truncated, corrupt or
 * oversized input (libpng warnings count as errors: failOn 'warning').
 */
export async function decodePng(png: Buffer, maxPixels: number): Promise<DecodedPng> {
  try {
    const { data, info } = await sharp(png, { failOn: 'warning', limitInputPixels: maxPixels, sequentialRead: true })
      // Grey and palette images come out as sRGB, 16-bit channels as 8-bit, like pngjs did.
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
      throw new PngDecodeError(`decoded to ${info.channels} channels, ${data.length} bytes for ${info.width}x${info.height}`);
    }
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    if (err instanceof PngDecodeError) throw err;
    throw new PngDecodeError(`not a readable PNG: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Encode 8-bit RGBA pixels as a PNG, off the event loop. */
export async function encodePng(rgba: Uint8Array, width: number, height: number): Promise<Buffer> {
  const input = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.length);
  return sharp(input, { raw: { width, height, channels: 4 }, limitInputPixels: false }).png({ compressionLevel: 6 }).toBuffer();
}
