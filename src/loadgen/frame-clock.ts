/**
 * When each client session sends its next frame. Sessions of one worker keep the same frame rate
 * but not the same phase: each session's frames fall on its own grid, offset from the others by a
 * golden-ratio share of the frame interval, so N sessions spread over the interval as N
 * independent cameras would. Sending every session's frame on one tick made the load come in
 * bursts: every encoder and decoder on both sides started at once, and the last session of a
 * burst waited for the others (measured in docs/measurements/2026-12-06-vp8-budget.md).
 *
 * Pure scheduling: the caller passes the time and runs the timer.
 */

/** 1/φ: consecutive ids land far apart on the interval, whatever their number. */
const PHASE_STEP = (Math.sqrt(5) - 1) / 2;

/** Per-session frame schedule against one absolute clock (no drift, no bursts after a stall). */
export class FrameClock {
  readonly intervalMs: number;
  private readonly next = new Map<number, number>();

  /** `startMs` anchors every session's grid; `fps` must be positive and finite. */
  constructor(fps: number, private readonly startMs: number) {
    if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`fps must be a positive number, got ${fps}`);
    this.intervalMs = 1000 / fps;
  }

  /** The offset of session `id`'s frames from the clock's start, in [0, interval). */
  phaseMs(id: number): number {
    const f = (id * PHASE_STEP) % 1;
    return (f < 0 ? f + 1 : f) * this.intervalMs;
  }

  /** Schedule session `id` from `nowMs`: its first frame is the next point of its grid after now. */
  add(id: number, nowMs: number): void {
    this.next.set(id, this.nextOnGrid(id, nowMs));
  }

  /** Forget session `id`. */
  remove(id: number): void {
    this.next.delete(id);
  }

  /** Sessions scheduled. */
  get size(): number {
    return this.next.size;
  }

  /**
   * The sessions whose frame is due at `nowMs`, each once; each moves to its next grid point
   * after now, so a session that fell behind skips the frames it missed instead of bursting them.
   */
  due(nowMs: number): number[] {
    const out: number[] = [];
    for (const [id, at] of this.next) {
      if (at > nowMs) continue;
      out.push(id);
      const following = at + this.intervalMs;
      this.next.set(id, following > nowMs ? following : this.nextOnGrid(id, nowMs));
    }
    return out;
  }

  /** When the next frame of any session is due (Infinity with no session). */
  nextDueMs(): number {
    let min = Infinity;
    for (const at of this.next.values()) if (at < min) min = at;
    return min;
  }

  private nextOnGrid(id: number, nowMs: number): number {
    const origin = this.startMs + this.phaseMs(id);
    const k = Math.floor((nowMs - origin) / this.intervalMs) + 1;
    return origin + Math.max(0, k) * this.intervalMs;
  }
}
