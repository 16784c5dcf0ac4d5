/**
 * The video the page sends: camera frames copied onto a canvas with a frame stamp drawn along the
 * bottom, captured as a MediaStreamTrack. Remembers when each stamp was drawn so the reader can
 * compute the round trip of a frame.
 */
import { COUNTER_MOD, cellX, stampColors, stripRect } from './frame-stamp.js';

type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: { presentationTime: number }) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

/** Draws stamped camera frames onto `canvas` and exposes them as a video track. */
export class StampedSource {
  readonly track: MediaStreamTrack;
  readonly stream: MediaStream;
  /** Frames drawn so far. */
  framesDrawn = 0;
  private counter = 0;
  private readonly drawnAt = new Float64Array(COUNTER_MOD).fill(Number.NaN);
  private readonly ctx: CanvasRenderingContext2D;
  private stopped = false;
  private handle = 0;

  constructor(private readonly camera: FrameCallbackVideo, readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
    this.resize();
    this.draw();
    this.stream = canvas.captureStream();
    const track = this.stream.getVideoTracks()[0];
    if (!track) throw new Error('canvas.captureStream() gave no video track');
    this.track = track;
    this.schedule();
  }

  /** performance.now() when the frame with this stamp was drawn; NaN if unknown. */
  drawnAtMs(counter: number): number {
    return this.drawnAt[counter % COUNTER_MOD] ?? Number.NaN;
  }

  /** Stop drawing and end the captured track. */
  stop(): void {
    this.stopped = true;
    if (this.camera.cancelVideoFrameCallback) this.camera.cancelVideoFrameCallback(this.handle);
    else cancelAnimationFrame(this.handle);
    this.track.stop();
  }

  private resize(): void {
    // Even sizes: I420 chroma planes are half size, and odd sizes get cropped by encoders.
    const w = Math.max(2, (this.camera.videoWidth || 640) & ~1);
    const h = Math.max(2, (this.camera.videoHeight || 480) & ~1);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    // A new camera frame triggers a draw; without requestVideoFrameCallback, draw every animation frame.
    if (this.camera.requestVideoFrameCallback) {
      this.handle = this.camera.requestVideoFrameCallback(() => {
        this.draw();
        this.schedule();
      });
    } else {
      this.handle = requestAnimationFrame(() => {
        this.draw();
        this.schedule();
      });
    }
  }

  private draw(): void {
    this.resize();
    const { width: w, height: h } = this.canvas;
    const ctx = this.ctx;
    ctx.drawImage(this.camera, 0, 0, w, h);
    const strip = stripRect(h);
    const colors = stampColors(this.counter);
    for (let i = 0; i < colors.length; i++) {
      ctx.fillStyle = colors[i]!;
      const x0 = cellX(i, w);
      ctx.fillRect(x0, strip.y, cellX(i + 1, w) - x0, strip.h);
    }
    this.drawnAt[this.counter] = performance.now();
    this.counter = (this.counter + 1) % COUNTER_MOD;
    this.framesDrawn++;
  }
}
