/**
 * The synthetic /process workload, defined so anyone can reproduce its checksum:
 * byte of pixel (x, y), channel c = (x*7 + y*13 + c*29 + (x ^ y)*3) & 255.
 */
import { createHash } from 'node:crypto';

/** The synthetic RGBA8 test image of the given size. */
export function syntheticRgba(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = x * 7 + y * 13 + (x ^ y) * 3;
      data[i++] = base & 255;
      data[i++] = (base + 29) & 255;
      data[i++] = (base + 58) & 255;
      data[i++] = (base + 87) & 255;
    }
  }
  return data;
}

/** Lowercase hex SHA-256 of the bytes. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
