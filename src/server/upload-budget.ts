/**
 * Bounds the request bodies buffered at once. POST /process buffers an upload whole before the
 * concurrency limiter sees it, so without this 120 concurrent 33 MB uploads took RSS to 4 GB
 * (the pod limit). A request reserves its declared length (or the body limit when it declares
 * none) before its body is read, and gives it back when its response is done.
 */

/** A byte budget shared by the requests buffering bodies now. */
export class UploadBudget {
  private used = 0;

  constructor(private readonly capacity: number) {}

  /** Bytes reserved now. */
  get reserved(): number {
    return this.used;
  }

  /** Reserve `bytes`; false (nothing reserved) when that would go over the capacity. */
  tryReserve(bytes: number): boolean {
    if (bytes < 0 || this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  /** Give back what tryReserve(bytes) took. */
  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
