/**
 * A one-frame mailbox between the decoder callback and the processing loop. A new frame replaces
 * the one waiting (latest frame wins), so a slow processor drops stale frames instead of queueing
 * them: memory per session stays bounded whatever the load.
 */

/** A frame waiting for processing, with the time it arrived (performance.now() ms). */
export interface PendingFrame<F> {
  frame: F;
  arrivedAt: number;
}

/** Holds at most one frame; counts the frames it replaced. */
export class LatestFrameSlot<F> {
  private pending: PendingFrame<F> | null = null;
  private replacedCount = 0;

  /** Put a frame in; returns true when it replaced (dropped) a waiting one. */
  put(frame: F, arrivedAt: number): boolean {
    const replaced = this.pending !== null;
    if (replaced) this.replacedCount++;
    this.pending = { frame, arrivedAt };
    return replaced;
  }

  /** Put a frame in; returns the waiting one it replaced (dropped), so its buffer can be reused. */
  replace(frame: F, arrivedAt: number): F | null {
    const old = this.pending;
    if (old !== null) this.replacedCount++;
    this.pending = { frame, arrivedAt };
    return old === null ? null : old.frame;
  }

  /** Take the waiting frame, if any. */
  take(): PendingFrame<F> | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  /** Whether a frame is waiting. */
  get hasFrame(): boolean {
    return this.pending !== null;
  }

  /** Frames replaced before they were taken. */
  get dropped(): number {
    return this.replacedCount;
  }

  /** Forget the waiting frame (on teardown). */
  clear(): void {
    this.pending = null;
  }
}
