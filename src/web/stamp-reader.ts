/**
 * Reads the frame stamp from each processed frame as it is presented and reports the frame's
 * round trip: from drawing it into the sent canvas to the processed frame being presented here.
 */
import { columnLuma, readStamp, stripRect } from './frame-stamp.js';

type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: { presentationTime: number }) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

/** Rows of the strip read per frame: the middle ones, away from the image above it. */
const ROWS = 4;
/** A stamp older than this is a wrap-around of the 12-bit counter, not a slow frame. */
const MAX_PLAUSIBLE_MS = 20_000;

export interface StampReading {
  counter: number;
  roundTripMs: number;
}

/** Watches a video element; calls `onReading` for every processed frame whose stamp it can read. */
export class StampReader {
  /** Frames looked at and frames whose stamp decoded, for the "stamps readable" figure. */
  framesSeen = 0;
  framesRead = 0;
  private readonly canvas = document.createElement('canvas');
  private readonly ctx: CanvasRenderingContext2D;
  private handle = 0;
  private stopped = false;
  private last = -1;

  constructor(
    private readonly video: FrameCallbackVideo,
    private readonly drawnAtMs: (counter: number) => number,
    private readonly onReading: (r: StampReading) => void,
  ) {
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
    this.schedule();
  }

  /** Stop reading frames. */
  stop(): void {
    this.stopped = true;
    if (this.video.cancelVideoFrameCallback) this.video.cancelVideoFrameCallback(this.handle);
    else cancelAnimationFrame(this.handle);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.video.requestVideoFrameCallback) {
      this.handle = this.video.requestVideoFrameCallback((_now, meta) => {
        this.read(meta.presentationTime);
        this.schedule();
      });
    } else {
      // Without per-frame callbacks, poll each animation frame; the time is then when it was noticed.
      this.handle = requestAnimationFrame((now) => {
        this.read(now);
        this.schedule();
      });
    }
  }

  private read(presentedAt: number): void {
    const w = this.video.videoWidth;
    const h = this.video.videoHeight;
    if (w === 0 || h === 0) return;
    this.framesSeen++;
    const strip = stripRect(h);
    const y = strip.y + Math.max(0, Math.floor((strip.h - ROWS) / 2));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== ROWS) this.canvas.height = ROWS;
    this.ctx.drawImage(this.video, 0, y, w, ROWS, 0, 0, w, ROWS);
    const luma = columnLuma(this.ctx.getImageData(0, 0, w, ROWS).data, w, ROWS);
    const counter = readStamp(luma);
    if (counter === null) return;
    this.framesRead++;
    if (counter === this.last) return;
    this.last = counter;
    const sent = this.drawnAtMs(counter);
    const rtt = presentedAt - sent;
    if (Number.isFinite(rtt) && rtt >= 0 && rtt < MAX_PLAUSIBLE_MS) this.onReading({ counter, roundTripMs: rtt });
  }
}
